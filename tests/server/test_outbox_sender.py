"""The server's outbox sender on real parts: PostgreSQL, Dovecot + aiosmtpd, the fake X API.

A queued reply goes out once, with its Message-ID, and becomes a message of its conversation; a
reply found in ``sending`` after its owner died is looked up on the channel (the IMAP Sent
folder) and never sent blindly: found means sent, not found means "may have been sent"
(``unknown``) for a person to decide; X, which cannot be asked, always gives ``unknown``.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import email.utils
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from inbox.models import Account, Channel, OutboxState
from inbox.replies.outbox import Outbox
from inbox.server.channel_store import AccountStore
from inbox.server.leases import Lease, LeaseTable
from tests.providers.email.servers import DovecotServer, SmtpServer, dovecot_server, local_account, smtp_server
from tests.server.channel_helpers import fast_settings, run_channels, save_account
from tests.server.conftest import sql

__all__ = ["dovecot_server", "smtp_server"]

pytestmark = [pytest.mark.servers, pytest.mark.timeout(240)]


def _mail(n: int) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = f"Client {n} <client{n}@example.com>"
    msg["To"] = "agent@example.test"
    msg["Subject"] = f"Colis {n} introuvable"
    msg["Message-ID"] = f"<colis{n}@client.example>"
    msg["Date"] = email.utils.format_datetime(datetime.now(UTC))
    msg.set_content(f"Bonjour, mon colis {n} n'est jamais arrivé.\n")
    return msg.as_bytes()


@pytest.fixture
def pool(pg_dsn: str) -> Iterator[ConnectionPool[Any]]:
    with ConnectionPool(pg_dsn, min_size=1, max_size=2, kwargs={"row_factory": dict_row, "autocommit": True},
                        connection_class=psycopg.Connection[Any]) as p:  # fmt: skip
        yield p


def _mailbox(pg_dsn: str, tmp_path: Path, dovecot: DovecotServer, smtp: SmtpServer) -> tuple[Account, Path]:
    account = local_account(dovecot.port, smtp.port)
    secrets = tmp_path / "secrets.json"
    save_account(pg_dsn, account, secrets, {"password": dovecot.password})
    return account, secrets


def _conversation_of(pg_dsn: str, provider_id: str) -> int:
    rows = sql(pg_dsn, "SELECT conversation_id FROM messages WHERE provider_id = %s", [provider_id])
    return int(rows[0]["conversation_id"])


def _queue(pool: ConnectionPool[Any], conversation_id: int, text: str) -> str:
    """Queue a reply the way the core composes it (as the desktop's outbox does); its local id."""
    reader = AccountStore(pool, Lease("account", "-", "nobody", 0, 0.0))  # reads and queueing need no lease
    item = Outbox(reader, clock=lambda: datetime.now(UTC)).reply(conversation_id, text)
    return item.draft.local_id


def _outbox(pg_dsn: str) -> list[dict[str, Any]]:
    return sql(pg_dsn, "SELECT * FROM outbox ORDER BY id")


def _dead_owner_left_it_sending(pg_dsn: str, pool: ConnectionPool[Any], account_id: str, local_id: str) -> int:
    """A process took the lease, committed ``sending`` and died (its lease then expired); its epoch."""
    dead = asyncio.run(_take(pg_dsn, LeaseTable("account", "host:1:dead", 30), [account_id]))[0]
    AccountStore(pool, dead).set_outbox_state(local_id, OutboxState.SENDING, datetime.now(UTC), attempts=1)
    sql(pg_dsn, "UPDATE account_leases SET expires_at = now() - interval '1 second'")
    return dead.epoch


async def _take(dsn: str, table: LeaseTable, names: list[str]) -> list[Lease]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        return await table.take(conn, names)


def test_a_queued_email_reply_is_sent_once_and_becomes_a_message(
    pg_dsn: str, tmp_path: Path, dovecot_server: DovecotServer, smtp_server: SmtpServer, pool: ConnectionPool[Any]
) -> None:
    account, secrets = _mailbox(pg_dsn, tmp_path, dovecot_server, smtp_server)
    dovecot_server.append(_mail(1))
    settings = fast_settings(secrets)
    run_channels(pg_dsn, settings, lambda: bool(sql(pg_dsn, "SELECT 1 FROM messages")))
    conversation = _conversation_of(pg_dsn, "colis1@client.example")
    local_id = _queue(pool, conversation, "Nous renvoyons votre colis aujourd'hui.")
    run_channels(pg_dsn, settings, lambda: _outbox(pg_dsn)[0]["state"] == "sent")

    [row] = _outbox(pg_dsn)
    assert (row["state"], row["attempts"], row["provider_id"]) == ("sent", 1, local_id)
    assert row["lease_epoch"] is not None
    [mail] = smtp_server.messages
    parsed = email.message_from_bytes(mail, policy=email.policy.default)
    assert parsed["Message-ID"] == f"<{local_id}>"
    assert parsed["In-Reply-To"] == "<colis1@client.example>"
    assert [email.message_from_bytes(m)["Message-ID"] for m in dovecot_server.fetch_all("Sent")] == [f"<{local_id}>"]
    replies = sql(pg_dsn, "SELECT provider_id, direction, conversation_id, outbox_id FROM messages WHERE direction = 'out'")
    assert replies == [{"provider_id": local_id, "direction": "out", "conversation_id": conversation,
                        "outbox_id": row["id"]}]  # fmt: skip
    sent_change = sql(pg_dsn, "SELECT payload FROM change_log WHERE kind = 'outbox' ORDER BY seq DESC LIMIT 1")
    assert sent_change[0]["payload"]["state"] == "sent"
    assert sent_change[0]["payload"]["message_ids"] == [
        sql(pg_dsn, "SELECT id FROM messages WHERE outbox_id = %s", [row["id"]])[0]["id"]
    ]
    # The next polls fetch the Sent copy back: still one reply in the conversation.
    run_channels(pg_dsn, settings, lambda: False, limit=2)
    assert len(sql(pg_dsn, "SELECT 1 FROM messages WHERE direction = 'out'")) == 1
    assert len(smtp_server.messages) == 1


def test_a_reply_left_sending_and_found_in_sent_is_marked_sent_not_sent_again(
    pg_dsn: str, tmp_path: Path, dovecot_server: DovecotServer, smtp_server: SmtpServer, pool: ConnectionPool[Any]
) -> None:
    account, secrets = _mailbox(pg_dsn, tmp_path, dovecot_server, smtp_server)
    dovecot_server.append(_mail(2))
    settings = fast_settings(secrets, poll_interval=60.0)  # no second fetch: the delivery check decides
    run_channels(pg_dsn, settings, lambda: bool(sql(pg_dsn, "SELECT 1 FROM messages")))
    local_id = _queue(pool, _conversation_of(pg_dsn, "colis2@client.example"), "Votre colis part demain.")
    dead_epoch = _dead_owner_left_it_sending(pg_dsn, pool, account.id, local_id)
    copy = EmailMessage(policy=email.policy.SMTP)
    copy["From"], copy["To"], copy["Subject"] = "agent@example.test", "client2@example.com", "Re: Colis 2 introuvable"
    copy["Message-ID"] = f"<{local_id}>"
    copy.set_content("Votre colis part demain.\n")
    dovecot_server.append(copy.as_bytes(), folder="Sent")  # the dead process's SMTP send had gone out

    run_channels(pg_dsn, settings, lambda: _outbox(pg_dsn)[0]["state"] != "sending")
    [row] = _outbox(pg_dsn)
    assert row["state"] == "sent"
    assert smtp_server.messages == []  # looked up, never re-sent
    assert sql(pg_dsn, "SELECT epoch FROM account_leases")[0]["epoch"] == dead_epoch + 1  # taken over


def test_a_reply_left_sending_and_not_found_may_have_been_sent(
    pg_dsn: str, tmp_path: Path, dovecot_server: DovecotServer, smtp_server: SmtpServer, pool: ConnectionPool[Any]
) -> None:
    account, secrets = _mailbox(pg_dsn, tmp_path, dovecot_server, smtp_server)
    dovecot_server.append(_mail(3))
    settings = fast_settings(secrets, poll_interval=60.0)
    run_channels(pg_dsn, settings, lambda: bool(sql(pg_dsn, "SELECT 1 FROM messages")))
    local_id = _queue(pool, _conversation_of(pg_dsn, "colis3@client.example"), "Un geste commercial suit.")
    _dead_owner_left_it_sending(pg_dsn, pool, account.id, local_id)

    run_channels(pg_dsn, settings, lambda: _outbox(pg_dsn)[0]["state"] != "sending")
    [row] = _outbox(pg_dsn)
    assert row["state"] == "unknown"
    assert "may have been sent" in row["last_error"]
    assert smtp_server.messages == []
    change = sql(pg_dsn, "SELECT payload FROM change_log WHERE kind = 'outbox' ORDER BY seq DESC LIMIT 1")
    assert change[0]["payload"]["state"] == "unknown"


def test_an_x_reply_left_sending_is_unknown_and_a_queued_one_goes_once(
    pg_dsn: str, tmp_path: Path, pool: ConnectionPool[Any], fake_x: Any
) -> None:
    from tests.providers.twitter.fake_x import CLIENT_ID, OWN_USER

    access, refresh = fake_x.issue_tokens()
    account = Account("twitter:acme", Channel.TWITTER, "Acme", frozenset({"acme", OWN_USER["id"]}),
                      {"user_id": OWN_USER["id"], "username": OWN_USER["username"], "client_id": CLIENT_ID,
                       "base_url": fake_x.url})  # fmt: skip
    secrets = tmp_path / "secrets.json"
    save_account(pg_dsn, account, secrets, {"access_token": access, "refresh_token": refresh})
    tweet = fake_x.add_mention("@TwitterDev mon colis est perdu")
    other = fake_x.add_mention("@TwitterDev où est ma facture ?", author_id="906948460078698496")
    settings = fast_settings(secrets, poll_interval=60.0)
    run_channels(pg_dsn, settings, lambda: len(sql(pg_dsn, "SELECT 1 FROM messages WHERE provider_id IN (%s, %s)",
                                                   [tweet, other])) == 2)  # fmt: skip
    conversation = _conversation_of(pg_dsn, tweet)
    first = _queue(pool, conversation, "Nous regardons votre colis.")
    _dead_owner_left_it_sending(pg_dsn, pool, account.id, first)
    behind = _queue(pool, conversation, "Le colis est retrouvé.")
    elsewhere = _queue(pool, _conversation_of(pg_dsn, other), "Votre facture est en pièce jointe.")

    def settled() -> bool:
        states = {r["message_id"]: r["state"] for r in _outbox(pg_dsn)}
        # settled: both past "sending" (a send in flight when the check ran is not an outcome yet)
        return states[first] != "sending" and states[elsewhere] not in ("queued", "sending")

    run_channels(pg_dsn, settings, settled)
    states = {r["message_id"]: r["state"] for r in _outbox(pg_dsn)}
    # The reply the dead owner may have posted is for a person to decide; the one behind it in
    # the same conversation waits (replies go out in order); another conversation's goes.
    assert states == {first: "unknown", behind: "queued", elsewhere: "sent"}
    posted = [r.body["text"] for r in fake_x.requests_to("/2/tweets", "POST")]
    assert posted == ["Votre facture est en pièce jointe."]
    sent = [r for r in _outbox(pg_dsn) if r["message_id"] == elsewhere][0]
    reply_row = sql(pg_dsn, "SELECT provider_id, conversation_id FROM messages WHERE outbox_id = %s", [sent["id"]])
    assert reply_row == [{"provider_id": sent["provider_id"], "conversation_id": _conversation_of(pg_dsn, other)}]
    assert sent["provider_id"].isdigit()  # the tweet id X gave it


@pytest.fixture
def fake_x() -> Iterator[Any]:
    from tests.corpus import corpus_dir
    from tests.providers.twitter.fake_x import FakeX

    server = FakeX(corpus_dir()).start()
    try:
        yield server
    finally:
        server.stop()
