"""Every provider fault through :class:`inbox.sync.service.SyncService`, against the local servers: the
account ends in the state the fault means, and once the service is back nothing is lost or
stored twice. Sending: SMTP 4xx waits and retries, 5xx fails with the server's reason."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from inbox.models import Account, Channel, OutboxState
from inbox.providers.email.provider import EmailProvider
from inbox.providers.facebook import FacebookProvider
from inbox.providers.twitter import XProvider
from inbox.providers.webform.provider import WebformProvider
from inbox.secrets import MemorySecretStore
from inbox.store.repository import Store
from inbox.sync.contract import Provider
from inbox.sync.service import AccountState, SyncService
from tests.providers.email.servers import (
    HOST,
    CuttingProxy,
    DovecotServer,
    SmtpServer,
    free_port,
    serving_smtp,
)
from tests.providers.facebook.fake_graph import PAGE_ID, PAGE_TOKEN, FakeGraph
from tests.providers.twitter.fake_x import CLIENT_ID, OWN_USER, FakeX
from tests.providers.webform.fake_forms import FormsState, fake_forms, submission
from tests.reliability import figures
from tests.reliability.test_crash import customer_mail

pytestmark = pytest.mark.servers
T = TypeVar("T")

X_ACCOUNT = Account(
    id=f"twitter:{OWN_USER['id']}",
    channel=Channel.TWITTER,
    name="@TwitterDev",
    own_keys=frozenset({OWN_USER["id"]}),
    settings={"user_id": OWN_USER["id"], "username": "TwitterDev", "client_id": CLIENT_ID},
)
FB_ACCOUNT = Account(
    id=f"facebook:{PAGE_ID}",
    channel=Channel.FACEBOOK,
    name="Facebook for Developers",
    own_keys=frozenset({PAGE_ID}),
    settings={"page_id": PAGE_ID, "history_days": "0"},
)
FORM_ACCOUNT = Account(id="webform:contact-fr", channel=Channel.WEBFORM, name="Contact")
FORM_KEY = "sk-live-5ecr3t-value"


def passes(
    tmp_path: Path,
    account: Account,
    build: Callable[[httpx.AsyncClient], Provider],
    steps: list[Callable[[], None]],
    *,
    timeout: float = 5.0,
) -> tuple[list[AccountState], list[str], Store]:
    """For each step: run it (arming a fault or not), then one sync pass; the states and the
    stored provider ids after the last pass."""
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(account)
    states: list[AccountState] = []

    async def main() -> None:
        async with httpx.AsyncClient(timeout=timeout) as http, build(http) as provider:
            service = SyncService(store, [provider], random=lambda: 0.5)
            for step in steps:
                step()
                states.append((await service.sync_account(account.id)).state)
                assert store.account_state(account.id)[0] == states[-1].value

    asyncio.run(main())
    ids = [
        r["provider_id"]
        for r in store._rows("SELECT provider_id FROM messages WHERE account_id = ?", [account.id])
    ]
    figures.add("provider_faults_injected", len(steps) - 1)
    return states, ids, store


def nothing() -> None:
    return None


# -- X ---------------------------------------------------------------------------------------


def x_provider(fake: FakeX) -> Callable[[httpx.AsyncClient], Provider]:
    secrets = MemorySecretStore()
    access, refresh = fake.issue_tokens()
    secrets.set(X_ACCOUNT.id, "access_token", access)
    secrets.set(X_ACCOUNT.id, "refresh_token", refresh)
    secrets.set(X_ACCOUNT.id, "expires_at", f"{time.time() + 7200:.0f}")
    return lambda http: XProvider(X_ACCOUNT, secrets, http, base_url=fake.url)


@pytest.mark.parametrize(
    ("status", "state"),
    [
        (429, AccountState.RATE_LIMITED),
        (500, AccountState.OFFLINE),
        (502, AccountState.OFFLINE),
        (503, AccountState.OFFLINE),
        (0, AccountState.OFFLINE),  # connection dropped in the middle of the body
        (401, AccountState.UP_TO_DATE),  # an expired access token: refreshed, then retried
    ],
)
def test_x_faults_become_states_and_lose_nothing(
    tmp_path: Path, fake_x: FakeX, status: int, state: AccountState
) -> None:
    reset = int(time.time()) + 120
    _clean_states, clean_ids, clean = passes(
        tmp_path / "clean", X_ACCOUNT, x_provider(fake_x), [nothing]
    )
    clean.close()

    def arm() -> None:
        fake_x.fail("/2/users/", status, reset=reset)

    states, ids, store = passes(tmp_path, X_ACCOUNT, x_provider(fake_x), [arm, nothing])
    assert states == [state, AccountState.UP_TO_DATE]
    assert sorted(ids) == sorted(clean_ids)  # the same content, each once
    store.close()


def test_x_revoked_access_pauses_the_account(tmp_path: Path, fake_x: FakeX) -> None:
    build = x_provider(fake_x)
    states, ids, store = passes(tmp_path, X_ACCOUNT, build, [fake_x.revoke_all, nothing])
    assert states == [AccountState.NEEDS_SIGN_IN, AccountState.NEEDS_SIGN_IN] and ids == []
    assert store.account_state(X_ACCOUNT.id)[1]  # the service's reason is kept for the user
    store.close()


def test_x_rate_limit_waits_until_the_reset_header(tmp_path: Path, fake_x: FakeX) -> None:
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(X_ACCOUNT)
    fake_x.fail("/2/users/", 429, reset=int(time.time()) + 300)

    async def main() -> float | None:
        async with httpx.AsyncClient(timeout=5) as http, x_provider(fake_x)(http) as provider:
            service = SyncService(store, [provider], random=lambda: 0.5)
            return (await service.sync_account(X_ACCOUNT.id)).retry_in

    retry_in = asyncio.run(main())
    assert retry_in is not None and 240 <= retry_in <= 301
    store.close()
    figures.add("provider_faults_injected", 1)


def test_a_silent_server_is_a_timeout_and_the_account_offline(tmp_path: Path) -> None:
    listener = socket.create_server((HOST, 0))  # accepts, never answers
    port = listener.getsockname()[1]
    secrets = MemorySecretStore()
    secrets.set(X_ACCOUNT.id, "access_token", "AT-x")
    secrets.set(X_ACCOUNT.id, "expires_at", f"{time.time() + 7200:.0f}")
    try:
        states, ids, store = passes(
            tmp_path,
            X_ACCOUNT,
            lambda http: XProvider(X_ACCOUNT, secrets, http, base_url=f"http://{HOST}:{port}"),
            [nothing, nothing],
            timeout=0.5,
        )
    finally:
        listener.close()
    assert states == [AccountState.OFFLINE, AccountState.OFFLINE] and ids == []
    assert "time" in store.account_state(X_ACCOUNT.id)[1].lower()
    store.close()
    figures.add("provider_faults_injected", 1)


# -- Facebook --------------------------------------------------------------------------------


class Clock:
    """The provider's clock (epoch seconds); a test moves it past a throttle's wait."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def fb_provider(
    fake: FakeGraph, clock: Clock | None = None
) -> Callable[[httpx.AsyncClient], Provider]:
    secrets = MemorySecretStore()
    secrets.set(FB_ACCOUNT.id, "page_token", PAGE_TOKEN)
    tick = clock or Clock()
    return lambda http: FacebookProvider(FB_ACCOUNT, secrets, http, base_url=fake.url, clock=tick)


@pytest.mark.parametrize(
    ("kind", "state"),
    [
        ("throttle4", AccountState.RATE_LIMITED),
        ("throttle613", AccountState.RATE_LIMITED),
        ("500", AccountState.OFFLINE),
        ("503", AccountState.OFFLINE),
        ("drop", AccountState.OFFLINE),
        ("expired", AccountState.NEEDS_SIGN_IN),
    ],
)
def test_graph_faults_become_states_and_lose_nothing(
    tmp_path: Path, fake_graph: FakeGraph, kind: str, state: AccountState
) -> None:
    clean_states, clean_ids, clean = passes(
        tmp_path / "clean", FB_ACCOUNT, fb_provider(fake_graph), [nothing]
    )
    clean.close()
    assert clean_states == [AccountState.UP_TO_DATE] and clean_ids

    clock = Clock()

    def arm() -> None:
        fake_graph.fail("conversations", kind)

    def later() -> None:
        clock.now += 3600  # past any wait the throttle asked for

    states, ids, store = passes(tmp_path, FB_ACCOUNT, fb_provider(fake_graph, clock), [arm, later])
    expected_second = AccountState.NEEDS_SIGN_IN if kind == "expired" else AccountState.UP_TO_DATE
    assert states == [state, expected_second]
    if kind != "expired":
        assert sorted(ids) == sorted(clean_ids)  # the same content, each once
    store.close()


# -- web forms -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "state"),
    [
        ("500", AccountState.OFFLINE),
        ("truncated", AccountState.OFFLINE),
        ("401", AccountState.NEEDS_SIGN_IN),
    ],
)
def test_form_endpoint_faults(tmp_path: Path, mode: str, state: AccountState) -> None:
    forms = FormsState(api_key=FORM_KEY, submissions=[submission(n, n) for n in range(1, 8)])
    secrets = MemorySecretStore()
    secrets.set(FORM_ACCOUNT.id, "api_key", FORM_KEY)
    with fake_forms(forms) as url:
        account = Account(FORM_ACCOUNT.id, Channel.WEBFORM, "Contact", settings={"url": url})

        def arm() -> None:
            forms.mode = mode

        def heal() -> None:
            forms.mode = "ok"

        states, ids, store = passes(
            tmp_path, account, lambda http: WebformProvider(account, secrets, http), [arm, heal]
        )
    assert states[0] is state
    if state is not AccountState.NEEDS_SIGN_IN:
        assert states[1] is AccountState.UP_TO_DATE
        assert len(ids) == 7 == len(set(ids))
    store.close()


# -- IMAP ------------------------------------------------------------------------------------


def mail_account(port: int, smtp_port: int = 1) -> Account:
    return Account(
        id="email:agent@example.test",
        channel=Channel.EMAIL,
        name="Shop support",
        own_keys=frozenset({"agent@example.test"}),
        settings={
            "imap_host": HOST,
            "imap_port": str(port),
            "imap_security": "none",
            "smtp_host": HOST,
            "smtp_port": str(smtp_port),
            "smtp_security": "none",
            "username": "agent@example.test",
        },
    )


def mail_secrets(server: DovecotServer) -> MemorySecretStore:
    secrets = MemorySecretStore()
    secrets.set("email:agent@example.test", "password", server.password)
    return secrets


def test_imap_cut_during_fetch_is_offline_then_everything_once(
    tmp_path: Path, dovecot_server: DovecotServer
) -> None:
    for n in range(30):
        dovecot_server.append(customer_mail(1000 + n))
    proxy = CuttingProxy(dovecot_server.port)
    account = mail_account(proxy.port)
    secrets = mail_secrets(dovecot_server)

    def cut() -> None:
        proxy.cut_after = 6000  # past login and SELECT, inside the FETCH

    def heal() -> None:
        proxy.cut_after = None

    try:
        states, ids, store = passes(
            tmp_path, account, lambda http: EmailProvider(account, secrets, http), [cut, heal]
        )
    finally:
        proxy.close()
    assert proxy.cuts >= 1
    assert states == [AccountState.OFFLINE, AccountState.UP_TO_DATE]
    assert sorted(ids) == sorted(f"q{1000 + n}.crash@customer.test" for n in range(30))
    store.close()


def test_imap_server_gone_during_idle(tmp_path: Path, dovecot_server: DovecotServer) -> None:
    dovecot_server.append(customer_mail(2000))
    account = mail_account(dovecot_server.port)
    secrets = mail_secrets(dovecot_server)
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(account)

    async def main() -> list[AccountState]:
        async with EmailProvider(account, secrets) as provider:
            service = SyncService(store, [provider], random=lambda: 0.5)
            states = [(await service.sync_account(account.id)).state]
            threading.Timer(0.5, dovecot_server.stop).start()
            try:  # returns (at the latest at its timeout) or raises; never hangs
                await provider.wait_for_changes(3.0)
            except Exception:  # the engine treats a failed wait as "fetch now"
                pass
            states.append((await service.sync_account(account.id)).state)
            dovecot_server.start()
            dovecot_server.append(customer_mail(2001))
            states.append((await service.sync_account(account.id)).state)
            return states

    states = asyncio.run(main())
    assert states == [AccountState.UP_TO_DATE, AccountState.OFFLINE, AccountState.UP_TO_DATE]
    ids = {r["provider_id"] for r in store._rows("SELECT provider_id FROM messages")}
    assert ids == {"q2000.crash@customer.test", "q2001.crash@customer.test"}
    store.close()
    figures.add("provider_faults_injected", 2)


# -- SMTP ------------------------------------------------------------------------------------


class _Answering:
    """An SMTP server whose DATA answer the test sets ("250 OK", "451 ...", "550 ...")."""

    def __init__(self, server: SmtpServer) -> None:
        self.server = server
        self.answer = "250 OK"

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        if self.answer.startswith("250"):
            content = envelope.original_content or envelope.content or b""
            self.server.messages.append(content if isinstance(content, bytes) else content.encode())
        return self.answer


@pytest.fixture
def answering_smtp() -> Iterator[tuple[SmtpServer, _Answering]]:
    server = SmtpServer(host=HOST, port=free_port())
    handler = _Answering(server)
    with serving_smtp(server, handler):
        yield server, handler


def _send_twice(
    tmp_path: Path,
    dovecot: DovecotServer,
    smtp: SmtpServer,
    first: Callable[[], None],
    second: Callable[[], None],
) -> tuple[list[tuple[OutboxState, str]], Store, AccountState]:
    dovecot.append(customer_mail(3000))
    account = mail_account(dovecot.port, smtp.port)
    secrets = mail_secrets(dovecot)
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(account)
    now = [datetime.now(UTC)]
    seen: list[tuple[OutboxState, str]] = []

    async def main() -> AccountState:
        async with EmailProvider(account, secrets) as provider:
            service = SyncService(store, [provider], clock=lambda: now[0], random=lambda: 0.5)
            await service.sync_account(account.id)
            [cid] = store.open_conversation_ids()
            item = service.outbox.reply(cid, "A new parcel leaves today.")
            for step in (first, second):
                step()
                await service.flush_outbox()
                current = store.outbox_item(item.draft.local_id)
                assert current is not None
                seen.append((current.state, current.last_error))
                now[0] += timedelta(hours=1)
            return service.status(account.id).state

    state = asyncio.run(main())
    return seen, store, state


def test_smtp_4xx_waits_and_sends_later_once(
    tmp_path: Path,
    dovecot_server: DovecotServer,
    answering_smtp: tuple[SmtpServer, _Answering],
) -> None:
    smtp, handler = answering_smtp

    def busy() -> None:
        handler.answer = "451 4.3.0 Mailbox busy, try again later"

    def ok() -> None:
        handler.answer = "250 OK"

    seen, store, state = _send_twice(tmp_path, dovecot_server, smtp, busy, ok)
    assert seen[0][0] is OutboxState.QUEUED and "try again later" in seen[0][1]
    assert seen[1][0] is OutboxState.SENT
    assert len(smtp.messages) == 1 and state is not AccountState.NEEDS_SIGN_IN
    store.close()
    figures.add("provider_faults_injected", 1)


def test_smtp_5xx_fails_with_the_servers_reason(
    tmp_path: Path,
    dovecot_server: DovecotServer,
    answering_smtp: tuple[SmtpServer, _Answering],
) -> None:
    smtp, handler = answering_smtp

    def refuse() -> None:
        handler.answer = "550 5.1.1 Recipient mailbox unavailable"

    seen, store, _state = _send_twice(tmp_path, dovecot_server, smtp, refuse, nothing)
    assert seen[0][0] is OutboxState.FAILED and "mailbox unavailable" in seen[0][1].lower()
    assert seen[1][0] is OutboxState.FAILED  # never retried on its own
    assert smtp.messages == []
    store.close()
    figures.add("provider_faults_injected", 1)


def test_x_post_whose_answer_is_dropped_is_not_posted_twice(tmp_path: Path, fake_x: FakeX) -> None:
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(X_ACCOUNT)
    now = [datetime.now(UTC)]

    async def main() -> None:
        async with httpx.AsyncClient(timeout=5) as http, x_provider(fake_x)(http) as provider:
            service = SyncService(store, [provider], clock=lambda: now[0], random=lambda: 0.5)
            await service.sync_account(X_ACCOUNT.id)
            cid = next(
                c
                for c in store.open_conversation_ids()
                if store.conversation(c).channel is Channel.TWITTER
            )
            service.outbox.reply(cid, "We are on it")
            fake_x.fail("/2/tweets", 0)
            await service.flush_outbox()
            now[0] += timedelta(hours=1)
            await service.flush_outbox()

    asyncio.run(main())
    posts = fake_x.requests_to("/2/tweets", "POST")
    store.close()
    assert len(posts) == 1, f"posted {len(posts)} times"
