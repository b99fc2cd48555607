"""End to end on loopback: Dovecot (IMAP) and aiosmtpd (SMTP), ``inbox sync --once`` and
``inbox reply``, through the real email provider, registry, keyring store and SQLite store."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import keyring
import pytest
from aiosmtpd.controller import Controller
from keyrings.alt.file import PlaintextKeyring  # type: ignore[import-untyped]

from inbox.cli import sync_commands
from inbox.models import Account, Channel, Direction, OutboxState
from inbox.providers.keyring_store import KeyringSecretStore
from inbox.store.repository import Store
from tests.cli.only import run_only
from tests.providers.email.servers import (  # noqa: F401 - pytest fixtures
    DovecotServer,
    SmtpServer,
    _authenticator,
    _Recorder,
    dovecot_server,
    free_port,
    smtp_server,
)

CUSTOMER_ID = "c1.parcel@customer.test"


def customer_mail() -> bytes:
    msg = EmailMessage()
    msg["From"] = "Léa Martin <lea@customer.test>"
    msg["To"] = "agent@example.test"
    msg["Subject"] = "Broken parcel"
    msg["Message-ID"] = f"<{CUSTOMER_ID}>"
    msg["Date"] = email.utils.formatdate(localtime=False)
    msg.set_content("My parcel arrived broken. Order 4411.")
    return msg.as_bytes()


def cli(*argv: str) -> int:
    """Like ``inbox.cli.main`` with only these commands registered."""
    return run_only(sync_commands.register, *argv)


@pytest.fixture
def secrets(tmp_path: Path) -> Iterator[KeyringSecretStore]:
    previous = keyring.get_keyring()
    ring = PlaintextKeyring()
    ring.file_path = str(tmp_path / "keyring.cfg")
    keyring.set_keyring(ring)
    yield KeyringSecretStore()
    keyring.set_keyring(previous)


def workspace(path: Path, imap: DovecotServer, smtp_port: int, secrets: KeyringSecretStore) -> str:
    account = Account(
        id=f"email:{imap.user}",
        channel=Channel.EMAIL,
        name="Shop support",
        own_keys=frozenset({imap.user}),
        settings={
            "imap_host": imap.host,
            "imap_port": str(imap.port),
            "imap_security": "none",
            "smtp_host": imap.host,
            "smtp_port": str(smtp_port),
            "smtp_security": "none",
            "username": imap.user,
        },
    )
    store = Store.open(path)
    store.save_account(account)
    store.close()
    secrets.set(account.id, "password", imap.password)
    return account.id


def only_conversation(path: Path) -> int:
    store = Store.open(path)
    try:
        [cid] = store.open_conversation_ids()
        return cid
    finally:
        store.close()


def parsed(raw: bytes) -> email.message.Message:
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_mail_in_reply_out_exactly_once(
    tmp_path: Path,
    dovecot_server: DovecotServer,  # noqa: F811
    smtp_server: SmtpServer,  # noqa: F811
    secrets: KeyringSecretStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "inbox.db"
    account_id = workspace(db, dovecot_server, smtp_server.port, secrets)
    dovecot_server.append(customer_mail())

    assert cli("sync", "--once", "--db", str(db)) == 0
    assert "up_to_date" in capsys.readouterr().out
    cid = only_conversation(db)

    assert cli("reply", str(cid), "--text", "A new parcel leaves today.", "--db", str(db)) == 0
    item_id = capsys.readouterr().out.strip()
    assert smtp_server.messages == []  # queued, not sent by ``reply``

    assert cli("sync", "--once", "--db", str(db)) == 0
    out = capsys.readouterr()
    assert "outbox: 1 sent" in out.out
    assert dovecot_server.password not in out.out + out.err
    assert cli("sync", "--once", "--db", str(db)) == 0
    capsys.readouterr()

    [raw] = smtp_server.messages  # exactly once
    sent = parsed(raw)
    assert sent["Message-ID"].strip("<>") == item_id
    assert sent["In-Reply-To"] == f"<{CUSTOMER_ID}>"
    assert sent["References"] == f"<{CUSTOMER_ID}>"
    assert sent["Subject"] == "Re: Broken parcel"
    assert smtp_server.envelopes[0][1] == ["lea@customer.test"]
    assert any(item_id.encode() in copy for copy in dovecot_server.fetch_all("Sent"))

    dovecot_server.append(raw)  # our own reply comes back (a copy delivered to us)
    assert cli("sync", "--once", "--db", str(db)) == 0
    capsys.readouterr()
    assert len(smtp_server.messages) == 1

    store = Store.open(db)
    thread = store.messages(cid)
    assert [m.direction for m in thread] == [Direction.INBOUND, Direction.OUTBOUND]
    assert thread[-1].outbox_state is OutboxState.SENT and thread[-1].provider_id == item_id
    assert store.account_state(account_id)[0] == "up_to_date"
    store.close()


def test_server_down_then_up_sends_the_queued_reply_once(
    tmp_path: Path,
    dovecot_server: DovecotServer,  # noqa: F811
    secrets: KeyringSecretStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    smtp = SmtpServer(host=dovecot_server.host, port=free_port())
    db = tmp_path / "inbox.db"
    account_id = workspace(db, dovecot_server, smtp.port, secrets)
    dovecot_server.append(customer_mail())
    assert cli("sync", "--once", "--db", str(db)) == 0
    cid = only_conversation(db)
    capsys.readouterr()

    dovecot_server.stop()  # both servers are down now (SMTP was never started)
    assert cli("reply", str(cid), "--text", "Sorry about that.", "--db", str(db)) == 0
    item_id = capsys.readouterr().out.strip()
    assert cli("sync", "--once", "--db", str(db)) == 3  # offline: nothing to fix, try later
    out = capsys.readouterr().out
    assert "offline" in out and "outbox: 0 sent, 1 waiting" in out
    store = Store.open(db)
    assert store.account_state(account_id)[0] == "offline"
    item = store.outbox_item(item_id)
    assert item is not None and item.state is OutboxState.QUEUED and item.attempts == 1
    store.close()

    dovecot_server.start()
    controller = Controller(
        _Recorder(smtp),
        hostname=smtp.host,
        port=smtp.port,
        authenticator=_authenticator(smtp),
        auth_require_tls=False,
    )
    controller.start()
    try:
        assert cli("sync", "--once", "--db", str(db)) == 0
        assert cli("sync", "--once", "--db", str(db)) == 0
    finally:
        controller.stop()
    assert "up_to_date" in capsys.readouterr().out
    [raw] = smtp.messages  # exactly once
    assert parsed(raw)["In-Reply-To"] == f"<{CUSTOMER_ID}>"
    store = Store.open(db)
    assert store.outbox_item(item_id).state is OutboxState.SENT  # type: ignore[union-attr]
    assert store.account_state(account_id)[0] == "up_to_date"
    store.close()
