"""A reply whose answer was lost after the service received it is never posted twice.

Each provider against its real local server: the POST (or SMTP DATA) reaches the server and is
carried out, then the connection closes before the answer. The outbox must show "may have been
sent" and, however many flushes follow, the server must have received exactly one post.
"""

from __future__ import annotations

import asyncio
import email.utils
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from inbox.errors import AuthError, RateLimited, TransientError, with_message
from inbox.models import Account, Channel, OutboxState, QueueFilter
from inbox.providers.registry import build_provider
from inbox.secrets import MemorySecretStore
from inbox.store.notices import last_inbound_at
from inbox.store.repository import Store
from inbox.sync.service import SyncService
from tests.providers.email.servers import (  # noqa: F401 - pytest fixtures
    HOST,
    PASSWORD,
    DovecotServer,
    SmtpServer,
    dovecot_server,
    free_port,
    local_account,
    serving_smtp,
)
from tests.providers.facebook.fake_graph import PAGE_ID, PAGE_TOKEN, FakeGraph, fake_graph  # noqa: F401
from tests.providers.twitter.fake_x import CLIENT_ID, LOST, OWN_USER, FakeX, fake_x  # noqa: F401

pytestmark = pytest.mark.servers


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


def reply_with_lost_answer(
    store: Store,
    secrets: MemorySecretStore,
    account: Account,
    customer_text: str,
    lose_next_send: Callable[[], None],
) -> tuple[OutboxState, str]:
    """Sync the account, reply to the conversation holding ``customer_text``, lose the send's answer, then flush
    again an hour later and again a day later; the reply's final state and reason."""
    store.save_account(account)
    clock = Clock()

    async def main() -> tuple[OutboxState, str]:
        async with httpx.AsyncClient(timeout=5.0) as http:
            provider = build_provider(
                account, secrets, http, last_inbound=lambda d: last_inbound_at(store, d.conversation_id)
            )
            async with provider:
                service = SyncService(store, [provider], clock=clock, random=lambda: 0.0)
                status = await service.sync_account(account.id)
                assert status.state.value == "up_to_date", status
                (conversation,) = [
                    c
                    for c in store.queue(QueueFilter(channel=account.channel), limit=1000)
                    if any(customer_text in m.text for m in store.messages(c.id))
                ]
                item = service.outbox.reply(conversation.id, "Sorry about that, it ships today.")
                lose_next_send()
                for later in (timedelta(0), timedelta(hours=1), timedelta(days=1)):
                    clock.now += later
                    await service.flush_outbox()
                kept = store.outbox_item(item.draft.local_id)
                assert kept is not None
                return kept.state, kept.last_error

    return asyncio.run(main())


def test_x_reply_with_a_lost_answer_is_posted_once(tmp_path: Path, fake_x: FakeX) -> None:  # noqa: F811
    store = Store.open(tmp_path / "inbox.db")
    account = Account(f"twitter:{OWN_USER['id']}", Channel.TWITTER, "@TwitterDev", frozenset({OWN_USER["id"]}),
                      {"user_id": OWN_USER["id"], "username": "TwitterDev", "client_id": CLIENT_ID,
                       "base_url": fake_x.url})  # fmt: skip
    secrets = MemorySecretStore()
    access, refresh = fake_x.issue_tokens()
    secrets.set(account.id, "access_token", access)
    secrets.set(account.id, "refresh_token", refresh)
    secrets.set(account.id, "expires_at", f"{datetime.now(UTC).timestamp() + 7200:.0f}")
    fake_x.add_mention("@TwitterDev my order never arrived")

    state, reason = reply_with_lost_answer(
        store, secrets, account, "@TwitterDev my order never arrived", lambda: fake_x.fail("/2/tweets", LOST)
    )

    assert state is OutboxState.UNCERTAIN and "may have been sent" in reason
    assert len(fake_x.requests_to("/2/tweets", "POST")) == 1
    store.close()


def test_facebook_reply_with_a_lost_answer_is_posted_once(tmp_path: Path, fake_graph: FakeGraph) -> None:  # noqa: F811
    store = Store.open(tmp_path / "inbox.db")
    account = Account(f"facebook:{PAGE_ID}", Channel.FACEBOOK, "Page", frozenset({PAGE_ID}),
                      {"page_id": PAGE_ID, "history_days": "0", "base_url": fake_graph.url})  # fmt: skip
    secrets = MemorySecretStore()
    secrets.set(account.id, "page_token", PAGE_TOKEN)
    conversation = fake_graph.conversations[0]
    customer = next(p["id"] for p in conversation["participants"]["data"] if p["id"] != PAGE_ID)
    # A Messenger message from a minute ago: inside the 24-hour window.
    minute_ago = datetime.now(UTC) - timedelta(minutes=1)
    fake_graph.add_message(conversation["id"], "any news about my order?",
                           minute_ago.strftime("%Y-%m-%dT%H:%M:%S+0000"), customer)  # fmt: skip

    state, reason = reply_with_lost_answer(
        store, secrets, account, "any news about my order?", lambda: fake_graph.fail(f"/{PAGE_ID}/messages", "lost")
    )

    assert state is OutboxState.UNCERTAIN and "may have been sent" in reason
    assert len([r for r in fake_graph.posted() if r.path.endswith(f"/{PAGE_ID}/messages")]) == 1
    store.close()


class _AcceptThenHangUp:
    """An SMTP server that keeps the mail it is given, then hangs up instead of saying 250."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self.hang_up = False

    async def handle_DATA(self, smtp: SMTP, _session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        self.server.messages.append(content if isinstance(content, bytes) else content.encode())
        if self.hang_up and smtp.transport is not None:
            smtp.transport.abort()  # the answer to DATA never reaches the client
        return "250 OK"


@pytest.fixture
def hanging_smtp() -> Iterator[tuple[SmtpServer, _AcceptThenHangUp]]:
    server = SmtpServer(host=HOST, port=free_port())
    handler = _AcceptThenHangUp(server)
    with serving_smtp(server, handler):
        yield server, handler


def test_email_reply_with_a_lost_answer_after_data_is_sent_once(
    tmp_path: Path,
    dovecot_server: DovecotServer,  # noqa: F811
    hanging_smtp: tuple[SmtpServer, _AcceptThenHangUp],
) -> None:
    smtp_server, handler = hanging_smtp
    store = Store.open(tmp_path / "inbox.db")
    account = local_account(dovecot_server.port, smtp_server.port)
    secrets = MemorySecretStore()
    secrets.set(account.id, "password", PASSWORD)
    mail = EmailMessage()
    mail["From"] = "Léa Martin <lea@customer.test>"
    mail["To"] = "agent@example.test"
    mail["Subject"] = "Broken parcel"
    mail["Message-ID"] = "<lost.answer@customer.test>"
    mail["Date"] = email.utils.formatdate(localtime=False)
    mail.set_content("My parcel arrived broken.")
    dovecot_server.append(mail.as_bytes())

    state, reason = reply_with_lost_answer(
        store, secrets, account, "My parcel arrived broken.", lambda: setattr(handler, "hang_up", True)
    )

    assert state is OutboxState.UNCERTAIN and "may have been sent" in reason
    assert len(smtp_server.messages) == 1
    store.close()


@pytest.mark.parametrize(
    "error",
    [TransientError("t", unsure=True), RateLimited("r", 42.0), AuthError("a")],
)
def test_a_rewritten_error_keeps_its_type_and_attributes(error: Exception) -> None:
    try:
        raise ValueError("cause")
    except ValueError as cause:
        error.__cause__ = cause
    copy = with_message(error, "scrubbed")
    assert type(copy) is type(error) and str(copy) == "scrubbed"
    assert vars(copy) == vars(error) and copy.__cause__ is error.__cause__
