"""EmailProvider against a real Dovecot and a real SMTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import email.policy
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, TypeVar

import pytest

from inbox.errors import AuthError, TransientError
from inbox.models import Author, Channel, Direction, Draft, IdentityKind, Surface
from inbox.providers.email.imap import encode_mailbox
from inbox.providers.email.parse import parse_email
from inbox.providers.email.provider import EmailProvider
from inbox.secrets import MemorySecretStore
from inbox.sync.contract import SupportsDeliveryCheck, SupportsPush
from tests.providers.email.servers import (
    CuttingProxy,
    DovecotServer,
    SmtpServer,
    free_port,
    local_account,
    running_dovecot,
)

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]
T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


_account = local_account


def _provider(
    dovecot: DovecotServer,
    smtp_port: int | None = None,
    *,
    imap_port: int | None = None,
    password: str | None = None,
    chunk_size: int = 200,
    **settings: str,
) -> EmailProvider:
    secrets = MemorySecretStore()
    account = _account(imap_port or dovecot.port, smtp_port or free_port(), **settings)
    secrets.set(account.id, "password", password or dovecot.password)
    return EmailProvider(account, secrets, chunk_size=chunk_size)


def _mail(n: int, body: str = "Hello", **headers: str) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = f"Customer {n} <customer{n}@example.com>"
    msg["To"] = "agent@example.test"
    msg["Subject"] = f"Question {n}"
    msg["Message-ID"] = f"<q{n}@customer.example>"
    msg["Date"] = email.utils.format_datetime(datetime.now(UTC))
    for name, value in headers.items():
        msg[name.replace("_", "-")] = value
    msg.set_content(f"{body} {n}\n")
    return msg.as_bytes()


def _ids(result_messages: tuple[Any, ...]) -> list[str]:
    return [m.provider_id for m in result_messages]


async def _drain(provider: EmailProvider, cursor: str | None) -> tuple[list[str], str | None, int]:
    """Fetch until ``more`` is False: (ids in order, last cursor, number of calls)."""
    ids: list[str] = []
    calls = 0
    while True:
        result = await provider.fetch(cursor)
        calls += 1
        ids += _ids(result.batch.messages)
        cursor = result.cursor
        if not result.more:
            return ids, cursor, calls


def test_provider_declares_its_form_and_abilities() -> None:
    secrets = MemorySecretStore()
    secrets.set("email:agent@example.test", "password", "hunter2-Pa55")
    provider = EmailProvider(_account(free_port(), free_port()), secrets)
    fields = {f.name: f for f in provider.info.fields}
    assert fields["password"].secret and not fields["username"].secret
    assert fields["imap_port"].default == "993" and fields["smtp_port"].default == "587"
    assert fields["sent_folder"].default == "Sent" and fields["initial_days"].default == "30"
    assert isinstance(provider, SupportsPush) and isinstance(provider, SupportsDeliveryCheck)
    assert "hunter2" not in repr(provider) and "hunter2" not in repr(secrets)


def test_appended_mail_is_fetched_as_messages(dovecot_server: DovecotServer) -> None:
    dovecot_server.append(_mail(1))
    dovecot_server.append(_mail(2, In_Reply_To="<q1@customer.example>"))

    async def scenario() -> None:
        async with _provider(dovecot_server) as provider:
            result = await provider.fetch(None)
            assert not result.more and result.cursor
            first, second = result.batch.messages
            assert first.provider_id == "q1@customer.example"
            assert first.author.key == "customer1@example.com"
            assert first.direction is Direction.INBOUND and first.subject == "Question 1"
            assert first.text.strip() == "Hello 1"
            assert first.meta["source"].startswith("imap:INBOX/")
            assert second.reply_to_id == "q1@customer.example"

    run(scenario())


def test_incremental_fetch_returns_only_new_mail(dovecot_server: DovecotServer) -> None:
    dovecot_server.append(_mail(1))

    async def scenario() -> None:
        async with _provider(dovecot_server) as provider:
            first = await provider.fetch(None)
            assert _ids(first.batch.messages) == ["q1@customer.example"]
            again = await provider.fetch(first.cursor)
            assert again.batch.messages == () and not again.more
            dovecot_server.append(_mail(2))
            dovecot_server.append(_mail(3))
            new = await provider.fetch(again.cursor)
            assert _ids(new.batch.messages) == ["q2@customer.example", "q3@customer.example"]
            assert (await provider.fetch(new.cursor)).batch.messages == ()

    run(scenario())


def test_fetch_in_chunks_returns_more_until_done(dovecot_server: DovecotServer) -> None:
    for n in range(5):
        dovecot_server.append(_mail(n))

    async def scenario() -> None:
        async with _provider(dovecot_server, chunk_size=2) as provider:
            ids, _cursor, calls = await _drain(provider, None)
            assert ids == [f"q{n}@customer.example" for n in range(5)]
            assert calls == 3

    run(scenario())


def test_initial_sync_only_reaches_back_initial_days(dovecot_server: DovecotServer) -> None:
    old = datetime.now(UTC) - timedelta(days=90)
    dovecot_server.append(_mail(1), when=old)
    dovecot_server.append(_mail(2))

    async def scenario() -> None:
        async with _provider(dovecot_server, chunk_size=1) as provider:
            ids, cursor, _calls = await _drain(provider, None)
            assert ids == ["q2@customer.example"]
            dovecot_server.append(_mail(3), when=old)  # arrives now, even with an old date
            ids, _cursor, _calls = await _drain(provider, cursor)
            assert ids == ["q3@customer.example"]

    run(scenario())


def test_uidvalidity_change_resyncs_everything(dovecot_server: DovecotServer) -> None:
    dovecot_server.append(_mail(1))
    dovecot_server.append(_mail(2))

    async def scenario() -> None:
        async with _provider(dovecot_server) as provider:
            first = await provider.fetch(None)
            assert len(first.batch.messages) == 2
        dovecot_server.rebuild_inbox()
        async with _provider(dovecot_server) as provider:
            again = await provider.fetch(first.cursor)
            assert _ids(again.batch.messages) == ["q1@customer.example", "q2@customer.example"]
            assert again.info["resync"] == "uidvalidity changed"
            assert again.cursor != first.cursor
            assert (await provider.fetch(again.cursor)).batch.messages == ()

    run(scenario())


def test_idle_wakes_up_when_mail_arrives(dovecot_server: DovecotServer) -> None:
    async def scenario() -> None:
        async with _provider(dovecot_server) as provider:
            assert await provider.wait_for_changes(0.3) is False  # nothing new: times out
            # A wait that missed the mail would run into the test's timeout, not return True.
            waiting = asyncio.create_task(provider.wait_for_changes(600))
            await asyncio.sleep(0.2)
            await asyncio.to_thread(dovecot_server.append, _mail(1))
            assert await waiting is True
            assert _ids((await provider.fetch(None)).batch.messages) == ["q1@customer.example"]

    run(scenario())


def test_idle_reconnects_after_the_server_restarts(dovecot_server: DovecotServer) -> None:
    async def scenario() -> None:
        async with _provider(dovecot_server) as provider:
            assert await provider.wait_for_changes(0.2) is False
            waiting = asyncio.create_task(provider.wait_for_changes(600))
            await asyncio.sleep(0.2)
            await asyncio.to_thread(dovecot_server.stop)
            await asyncio.to_thread(dovecot_server.start)
            await asyncio.to_thread(dovecot_server.append, _mail(1))
            assert await waiting is True
            assert _ids((await provider.fetch(None)).batch.messages) == ["q1@customer.example"]
            for _ in range(5):  # news of mail 1 may still be pending on the new connection
                if not await provider.wait_for_changes(0.2):
                    break
            waiting = asyncio.create_task(provider.wait_for_changes(600))
            await asyncio.sleep(0.2)
            await asyncio.to_thread(dovecot_server.append, _mail(2))
            assert await waiting is True  # the re-opened connection still pushes

    run(scenario())


def _draft(local_id: str) -> Draft:
    return Draft(
        local_id=local_id,
        account_id="email:agent@example.test",
        conversation_id=7,
        channel=Channel.EMAIL,
        surface=Surface.EMAIL,
        text="Hello Ann,\nplease restart the printer.",
        recipient=Author(
            IdentityKind.EMAIL, "ann@customer.example", "Ann@customer.example", "Ann Smith"
        ),
        reply_to_id="q2@customer.example",
        references=("q0@customer.example", "q1@customer.example"),
        subject="Printer broken",
        quoted_text="My printer is broken.\n> older quote",
        cc=("boss@customer.example",),
    )


def test_send_threads_the_reply_and_keeps_a_copy_in_sent(
    dovecot_server: DovecotServer, smtp_server: SmtpServer
) -> None:
    local_id = f"inbox.{uuid.uuid4()}@example.test"
    draft = _draft(local_id)

    async def scenario() -> str:
        async with _provider(dovecot_server, smtp_server.port) as provider:
            assert await provider.was_delivered(draft) in (False, None)
            sent_id = await provider.send(draft)
            assert await provider.was_delivered(draft) is True
            return sent_id

    assert run(scenario()) == local_id
    (raw,) = smtp_server.messages
    received = email.message_from_bytes(raw, policy=email.policy.default)
    assert received["Message-ID"] == f"<{local_id}>"
    assert received["In-Reply-To"] == "<q2@customer.example>"
    assert received["References"] == (
        "<q0@customer.example> <q1@customer.example> <q2@customer.example>"
    )
    assert received["Subject"] == "Re: Printer broken"
    assert received["From"] == "ACME Support <agent@example.test>"
    assert received["To"] == "Ann Smith <Ann@customer.example>"
    sender, rcpts = smtp_server.envelopes[0]
    assert sender == "agent@example.test"
    assert sorted(rcpts) == ["Ann@customer.example", "boss@customer.example"]
    plain = received.get_body(("plain",))
    html = received.get_body(("html",))
    assert plain is not None and html is not None
    text = plain.get_content().replace("\r\n", "\n")
    assert "please restart the printer." in text
    assert "Ann Smith wrote:\n> My printer is broken.\n>> older quote" in text
    assert "<blockquote" in html.get_content()

    sent = dovecot_server.fetch_all("Sent")
    assert len(sent) == 1
    copy = parse_email(sent[0], "sent")
    assert copy.provider_id == local_id and copy.reply_to_id == "q2@customer.example"
    assert copy.references == ("q0@customer.example", "q1@customer.example", "q2@customer.example")


def test_a_missing_sent_copy_means_may_have_been_sent(
    dovecot_server: DovecotServer, smtp_server: SmtpServer
) -> None:
    dovecot_server.append(_mail(1), folder="Sent")

    async def scenario() -> bool | None:
        async with _provider(dovecot_server, smtp_server.port) as provider:
            return await provider.was_delivered(_draft("inbox.never@example.test"))

    # Without a Sent copy nothing proves the reply did not go out (the process may have died
    # after SMTP accepted it): the outbox shows it as "may have been sent", never resends it.
    assert run(scenario()) is None
    assert smtp_server.messages == []


def test_check_passes_with_the_right_password(
    dovecot_server: DovecotServer, smtp_server: SmtpServer
) -> None:
    async def scenario() -> None:
        async with _provider(dovecot_server, smtp_server.port) as provider:
            await provider.check()

    run(scenario())


def test_wrong_imap_password_is_an_auth_error_without_the_password(
    dovecot_server: DovecotServer, smtp_server: SmtpServer
) -> None:
    async def scenario() -> None:
        async with _provider(dovecot_server, smtp_server.port, password="wrong-Pa55") as p:
            await p.check()

    with pytest.raises(AuthError) as caught:
        run(scenario())
    assert "wrong-Pa55" not in str(caught.value) and "wrong-Pa55" not in repr(caught.value)


def test_wrong_smtp_password_is_an_auth_error(
    dovecot_server: DovecotServer, smtp_server: SmtpServer
) -> None:
    smtp_server.password = "a-different-one"

    async def scenario() -> None:
        async with _provider(dovecot_server, smtp_server.port) as provider:
            await provider.check()

    with pytest.raises(AuthError):
        run(scenario())


def test_no_stored_password_is_an_auth_error(dovecot_server: DovecotServer) -> None:
    account = _account(dovecot_server.port, free_port())

    async def scenario() -> None:
        async with EmailProvider(account, MemorySecretStore()) as provider:
            await provider.fetch(None)

    with pytest.raises(AuthError):
        run(scenario())


def test_server_down_is_transient_and_recovers(dovecot_server: DovecotServer) -> None:
    dovecot_server.append(_mail(1))

    async def scenario() -> None:
        async with _provider(dovecot_server) as provider:
            first = await provider.fetch(None)
            await asyncio.to_thread(dovecot_server.stop)
            with pytest.raises(TransientError):
                await provider.fetch(first.cursor)
            with pytest.raises(TransientError):
                await provider.wait_for_changes(1)
            await asyncio.to_thread(dovecot_server.start)
            dovecot_server.append(_mail(2))
            again = await provider.fetch(first.cursor)
            assert _ids(again.batch.messages) == ["q2@customer.example"]

    run(scenario())


def test_smtp_down_is_transient_and_nothing_is_saved(dovecot_server: DovecotServer) -> None:
    draft = _draft("inbox.down@example.test")

    async def scenario() -> None:
        async with _provider(dovecot_server, free_port()) as provider:
            with pytest.raises(TransientError):
                await provider.send(draft)
            assert await provider.was_delivered(draft) in (False, None)

    run(scenario())
    assert dovecot_server.fetch_all("Sent") == []


def test_connection_cut_mid_fetch_loses_nothing_and_duplicates_nothing(
    dovecot_server: DovecotServer,
) -> None:
    dovecot_server.append(_mail(0))
    padding = "x" * 3000
    proxy = CuttingProxy(dovecot_server.port)

    async def scenario() -> None:
        async with _provider(dovecot_server, imap_port=proxy.port) as provider:
            start = await provider.fetch(None)
        for n in range(1, 7):
            dovecot_server.append(_mail(n, body=padding))
        proxy.cut_after = 9000  # greeting, login and search fit; the FETCH answer does not
        async with _provider(dovecot_server, imap_port=proxy.port) as provider:
            with pytest.raises(TransientError):
                await provider.fetch(start.cursor)
        assert proxy.cuts >= 1
        proxy.cut_after = None
        async with _provider(dovecot_server, imap_port=proxy.port, chunk_size=4) as provider:
            ids, _cursor, _calls = await _drain(provider, start.cursor)
        assert ids == [f"q{n}@customer.example" for n in range(1, 7)]

    try:
        run(scenario())
    finally:
        proxy.close()


def test_copy_goes_to_the_folder_the_server_marks_as_sent(smtp_server: SmtpServer) -> None:
    draft = _draft("inbox.special@example.test")
    with running_dovecot(sent_special_use="Sent Items") as dovecot:

        async def scenario() -> bool | None:
            async with _provider(dovecot, smtp_server.port) as provider:
                await provider.send(draft)
                return await provider.was_delivered(draft)

        assert run(scenario()) is True
        assert len(dovecot.fetch_all('"Sent Items"')) == 1
        assert dovecot.fetch_all("Sent") == []


def test_a_sent_folder_with_accents_is_encoded_for_imap(
    dovecot_server: DovecotServer, smtp_server: SmtpServer
) -> None:
    draft = _draft("inbox.accents@example.test")

    async def scenario() -> bool | None:
        async with _provider(dovecot_server, smtp_server.port, sent_folder="Envoyés") as provider:
            await provider.send(draft)
            return await provider.was_delivered(draft)

    assert run(scenario()) is True
    assert len(dovecot_server.fetch_all(encode_mailbox("Envoyés"))) == 1


def test_cancelled_wait_and_close_do_not_hang(dovecot_server: DovecotServer) -> None:
    async def scenario() -> None:
        async with _provider(dovecot_server) as provider:
            waiting = asyncio.create_task(provider.wait_for_changes(600))
            await asyncio.sleep(0.3)
            waiting.cancel()
            with pytest.raises(asyncio.CancelledError):
                await waiting
            dovecot_server.append(_mail(1))
            assert await provider.wait_for_changes(600) is True  # the next wait still works
            leftover = asyncio.create_task(provider.wait_for_changes(600))
            await asyncio.sleep(0.3)
        leftover.cancel()  # closing the provider ended the wait
        assert leftover.done()

    run(scenario())
