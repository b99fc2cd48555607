"""The sync engine against fake providers that follow the provider contract."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

import pytest

from inbox.errors import AuthError, PermanentError, RateLimited, TransientError
from inbox.models import (
    Account,
    Author,
    Channel,
    Direction,
    Draft,
    IdentityKind,
    Message,
    ParsedBatch,
    Rejection,
    Surface,
)
from inbox.store.repository import Store
from inbox.sync.contract import FetchResult, HttpProviderBase, ProviderInfo
from inbox.sync.service import (
    AccountState,
    AccountStateChanged,
    Backoff,
    ConversationsChanged,
    SyncEvent,
    SyncService,
)

T = TypeVar("T")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
MAILBOX = Account(
    "email:support@shop.test", Channel.EMAIL, "Support", frozenset({"support@shop.test"})
)


def mail(n: int, *, sender: str = "lea@example.fr", when: datetime | None = None) -> Message:
    return Message(
        provider_id=f"m{n}@example.fr",
        channel=Channel.EMAIL,
        surface=Surface.EMAIL,
        direction=Direction.INBOUND,
        author=Author(IdentityKind.EMAIL, sender, sender, "Léa"),
        text=f"message {n}",
        sent_at=when or T0 + timedelta(minutes=n),
        subject=f"Order {n}",
    )


def page(*messages: Message, cursor: str | None = None, more: bool = False) -> FetchResult:
    return FetchResult(ParsedBatch(tuple(messages)), cursor, more)


class FakeProvider(HttpProviderBase):
    """Answers ``fetch`` from a script (results or errors) and records every call."""

    info: ClassVar[ProviderInfo] = ProviderInfo("fake", Channel.EMAIL, "Fake", (), 60.0)

    def __init__(
        self,
        account: Account,
        script: Sequence[FetchResult | Exception] = (),
        sends: Sequence[str | Exception] = (),
    ) -> None:
        self._account = account
        self.script = list(script)
        self.sends = list(sends)
        self.cursors: list[str | None] = []
        self.sent: list[Draft] = []

    async def check(self) -> None:
        return None

    async def fetch(self, cursor: str | None) -> FetchResult:
        self.cursors.append(cursor)
        step = self.script.pop(0) if self.script else page(cursor=cursor)
        if isinstance(step, Exception):
            raise step
        return step

    async def send(self, draft: Draft) -> str:
        step = self.sends.pop(0) if self.sends else f"sent-{len(self.sent) + 1}"
        if isinstance(step, Exception):
            raise step
        self.sent.append(draft)
        return step


class CheckingProvider(FakeProvider):
    """A provider that can tell whether a reply went out (like email's Sent folder)."""

    def __init__(self, account: Account, delivered: bool | None, **kwargs: object) -> None:
        super().__init__(account, **kwargs)  # type: ignore[arg-type]
        self.delivered = delivered
        self.checked: list[str] = []

    async def was_delivered(self, draft: Draft) -> bool | None:
        self.checked.append(draft.local_id)
        return self.delivered


class PushProvider(FakeProvider):
    def __init__(self, account: Account, script: Sequence[FetchResult | Exception]) -> None:
        super().__init__(account, script)
        self.waits: list[float] = []

    async def wait_for_changes(self, timeout: float) -> bool:
        self.waits.append(timeout)
        return True


def make_store(*accounts: Account) -> Store:
    store = Store.open(":memory:")
    for account in accounts or (MAILBOX,):
        store.save_account(account)
    return store


class Recorder:
    def __init__(self) -> None:
        self.events: list[SyncEvent] = []

    def __call__(self, event: SyncEvent) -> None:
        self.events.append(event)

    def states(self) -> list[AccountState]:
        return [e.status.state for e in self.events if isinstance(e, AccountStateChanged)]


class FixedRandom:
    def __init__(self, *values: float) -> None:
        self.values = list(values)

    def __call__(self) -> float:
        return self.values.pop(0) if self.values else 0.5


def service(
    store: Store, *providers: FakeProvider, rand: FixedRandom | None = None, **kwargs: object
) -> SyncService:
    return SyncService(
        store,
        providers,
        clock=lambda: T0,
        random=rand or FixedRandom(),
        **kwargs,  # type: ignore[arg-type]
    )


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def test_pages_are_fetched_until_none_remains_and_stored_with_their_cursor() -> None:
    store = make_store()
    provider = FakeProvider(
        MAILBOX, [page(mail(1), cursor="c1", more=True), page(mail(2), cursor="c2")]
    )
    recorder = Recorder()
    status = run(service(store, provider, observer=recorder).sync_account(MAILBOX.id))
    assert status.state is AccountState.UP_TO_DATE
    assert provider.cursors == [None, "c1"]
    assert store.cursor(MAILBOX.id) == "c2"
    assert store.account_state(MAILBOX.id) == ("up_to_date", "")
    arrived = [e for e in recorder.events if isinstance(e, ConversationsChanged)]
    assert len(arrived) == 2 and all(e.new for e in arrived)
    assert recorder.states() == [AccountState.SYNCING, AccountState.UP_TO_DATE]


def test_offline_is_logged_once_and_recovery_once(caplog: pytest.LogCaptureFixture) -> None:
    store = make_store()
    down = [TransientError("IMAP: network error (ConnectionRefusedError)") for _ in range(3)]
    provider = FakeProvider(MAILBOX, [*down, page(mail(1), cursor="c1")])
    sync = service(store, provider)
    caplog.set_level(logging.DEBUG, logger="inbox.sync.service")
    states = []
    for _ in range(4):
        states.append(run(sync.sync_account(MAILBOX.id)).state)
        if len(states) == 1:
            assert store.account_state(MAILBOX.id)[0] == "offline"
    assert states == [AccountState.OFFLINE] * 3 + [AccountState.UP_TO_DATE]
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    infos = [r for r in caplog.records if r.levelno == logging.INFO]
    assert len(warnings) == 1 and "offline" in warnings[0].getMessage()
    assert len(infos) == 1 and "back" in infos[0].getMessage()
    assert store.account_state(MAILBOX.id) == ("up_to_date", "")


def test_backoff_grows_with_jitter_within_bounds() -> None:
    store = make_store()
    provider = FakeProvider(MAILBOX, [TransientError("timed out") for _ in range(12)])
    rand = FixedRandom(0.0, 1.0, 0.25, 0.9, 0.0, 0.6, 0.3, 1.0, 0.0, 0.5, 0.7, 0.2)
    backoff = Backoff(base=5.0, cap=300.0)
    sync = service(store, provider, rand=rand, backoff=backoff)
    delays: list[float] = []
    for _ in range(12):
        delay = run(sync.sync_account(MAILBOX.id)).retry_in
        assert delay is not None
        delays.append(delay)
    for n, delay in enumerate(delays, start=1):
        top = min(300.0, 5.0 * 2 ** (n - 1))
        assert top / 2 <= delay <= top
    assert delays[:4] == [2.5, 10.0, 12.5, 38.0]  # the injected jitter, reproducibly
    assert max(delays) <= 300.0 and delays[-1] >= 150.0  # capped, still waits long


def test_rate_limit_waits_what_the_service_asks() -> None:
    store = make_store()
    provider = FakeProvider(MAILBOX, [RateLimited("X: HTTP 429 Too Many Requests", 840.0)])
    slept: list[float] = []
    sync = service(store, provider, outbox_interval=10_000.0)

    async def sleep(delay: float) -> None:
        if delay == 10_000.0:
            await asyncio.Event().wait()
        slept.append(delay)
        sync.stop()

    sync._sleep = sleep
    run(sync.run())
    assert slept == [840.0]
    assert sync.status(MAILBOX.id).state is AccountState.RATE_LIMITED
    state, reason = store.account_state(MAILBOX.id)
    assert state == "rate_limited" and reason.startswith("resumes at ")  # shown beside the account


def test_auth_error_pauses_fetching_until_credentials_change() -> None:
    store = make_store()
    provider = FakeProvider(MAILBOX, [AuthError("IMAP: sign-in refused"), page(cursor="c1")])
    sync = service(store, provider)
    status = run(sync.sync_account(MAILBOX.id))
    assert status.state is AccountState.NEEDS_SIGN_IN
    assert store.account_state(MAILBOX.id) == ("needs_sign_in", "IMAP: sign-in refused")
    for _ in range(3):
        run(sync.sync_account(MAILBOX.id))
    assert len(provider.cursors) == 1  # no further fetches while paused
    run(sync.add_provider(provider))  # signed in again: the account runs with a rebuilt provider
    assert store.account_state(MAILBOX.id) == ("idle", "")
    assert run(sync.sync_account(MAILBOX.id)).state is AccountState.UP_TO_DATE
    assert len(provider.cursors) == 2


def test_paused_loop_resumes_when_credentials_change() -> None:
    store = make_store()
    provider = FakeProvider(MAILBOX, [AuthError("token revoked"), page(mail(1), cursor="c1")])
    sync = service(store, provider, outbox_interval=10_000.0)

    async def sleep(delay: float) -> None:
        if delay == 10_000.0:
            await asyncio.Event().wait()
        sync.stop()  # the first wait after the successful fetch ends the test

    async def scenario() -> None:
        sync._sleep = sleep
        task = asyncio.create_task(sync.run())

        async def paused() -> None:
            while sync.status(MAILBOX.id).state is not AccountState.NEEDS_SIGN_IN:
                await asyncio.sleep(0.01)

        await asyncio.wait_for(paused(), 5)
        for _ in range(20):
            await asyncio.sleep(0.005)
        assert provider.cursors == [None]  # paused: no second fetch
        await sync.add_provider(provider)  # signed in again
        await asyncio.wait_for(task, 5)

    run(scenario())
    assert provider.cursors == [None, None]
    assert store.cursor(MAILBOX.id) == "c1"


def test_permanent_error_is_a_state_with_the_reason() -> None:
    store = make_store()
    provider = FakeProvider(MAILBOX, [PermanentError("web form: setting 'url' is not a valid URL")])
    status = run(service(store, provider).sync_account(MAILBOX.id))
    assert status.state is AccountState.ERROR
    assert store.account_state(MAILBOX.id) == (
        "error",
        "web form: setting 'url' is not a valid URL",
    )


class CrashingStore(Store):
    """Dies between fetching a page and storing it (the process was killed)."""

    crashes = 1

    def ingest_fetched(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        if self.crashes:
            self.crashes -= 1
            raise RuntimeError("killed")
        return super().ingest_fetched(*args, **kwargs)  # type: ignore[arg-type]


def test_cursor_advances_only_with_committed_data() -> None:
    store = CrashingStore.open(":memory:")
    store.save_account(MAILBOX)

    class Paged(FakeProvider):
        async def fetch(self, cursor: str | None) -> FetchResult:
            self.cursors.append(cursor)
            if cursor is None:
                return page(mail(1), mail(2), cursor="after-2")
            return page(cursor=cursor)

    provider = Paged(MAILBOX)
    sync = service(store, provider)
    assert run(sync.sync_account(MAILBOX.id)).state is AccountState.ERROR
    assert store.cursor(MAILBOX.id) is None
    assert store.open_conversation_ids() == []  # nothing half-stored
    assert run(sync.sync_account(MAILBOX.id)).state is AccountState.UP_TO_DATE
    assert provider.cursors == [None, None]  # the lost page is fetched again
    assert store.cursor(MAILBOX.id) == "after-2"
    texts = sorted(m.text for c in store.open_conversation_ids() for m in store.messages(c))
    assert texts == ["message 1", "message 2"]


def test_a_broken_message_never_blocks_the_others(caplog: pytest.LogCaptureFixture) -> None:
    store = make_store()
    naive = mail(2, when=datetime(2026, 11, 23, 9, 5))  # no timezone: cannot be stored
    provider = FakeProvider(MAILBOX, [page(mail(1), naive, mail(3), cursor="c1")])
    caplog.set_level(logging.WARNING, logger="inbox.sync.service")
    assert run(service(store, provider).sync_account(MAILBOX.id)).state is AccountState.UP_TO_DATE
    texts = sorted(m.text for c in store.open_conversation_ids() for m in store.messages(c))
    assert texts == ["message 1", "message 3"]
    assert store.cursor(MAILBOX.id) == "c1"
    rejected = [r.getMessage() for r in caplog.records]
    assert any("m2@example.fr" in line and "rejected" in line for line in rejected)


def test_parser_rejections_are_logged_and_the_page_is_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = make_store()
    batch = ParsedBatch((mail(1),), (Rejection("imap UID 7", "no date and no body"),))
    provider = FakeProvider(MAILBOX, [FetchResult(batch, "c1")])
    caplog.set_level(logging.WARNING, logger="inbox.sync.service")
    run(service(store, provider).sync_account(MAILBOX.id))
    assert store.cursor(MAILBOX.id) == "c1"
    assert any("imap UID 7" in r.getMessage() for r in caplog.records)


def test_push_providers_wait_for_changes_instead_of_polling() -> None:
    store = make_store()
    provider = PushProvider(MAILBOX, [page(mail(1), cursor="c1"), page(mail(2), cursor="c2")])
    sync = service(store, provider, outbox_interval=10_000.0)
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        if delay == 10_000.0:
            await asyncio.Event().wait()
        slept.append(delay)

    async def scenario() -> None:
        sync._sleep = sleep
        task = asyncio.create_task(sync.run())
        while len(provider.cursors) < 3:
            await asyncio.sleep(0)
        sync.stop()
        await asyncio.wait_for(task, 5)

    run(scenario())
    assert provider.cursors[:3] == [None, "c1", "c2"]
    assert provider.waits[:2] == [60.0, 60.0]  # the poll interval is the push timeout
    assert slept == []


def test_one_account_down_does_not_stop_another() -> None:
    other = Account("email:sales@shop.test", Channel.EMAIL, "Sales", frozenset({"sales@shop.test"}))
    store = make_store(MAILBOX, other)
    broken = FakeProvider(MAILBOX, [TransientError("timed out")])
    working = FakeProvider(other, [page(mail(5, sender="bob@example.org"), cursor="c1")])
    statuses, _report = run(service(store, broken, working).sync_once())
    by_id = {s.account_id: s.state for s in statuses}
    assert by_id == {MAILBOX.id: AccountState.OFFLINE, other.id: AccountState.UP_TO_DATE}
    assert store.cursor(other.id) == "c1"


def test_an_observer_that_raises_does_not_stop_syncing() -> None:
    store = make_store()
    provider = FakeProvider(MAILBOX, [page(mail(1), cursor="c1")])

    def observer(event: SyncEvent) -> None:
        raise ValueError("widget gone")

    sync = service(store, provider, observer=observer)
    assert run(sync.sync_account(MAILBOX.id)).state is AccountState.UP_TO_DATE
    assert store.cursor(MAILBOX.id) == "c1"


def test_the_running_service_sends_a_queued_reply() -> None:
    store = make_store()
    provider = FakeProvider(MAILBOX, [page(mail(1), cursor="c1")])
    sync = SyncService(store, [provider], random=FixedRandom())  # real clock and sleep

    async def scenario() -> None:
        task = asyncio.create_task(sync.run())
        while not store.open_conversation_ids():
            await asyncio.sleep(0.01)
        item = sync.outbox.reply(store.open_conversation_ids()[0], "On its way")
        sync.wake_outbox()
        while store.outbox_items():  # only unsent items are listed
            await asyncio.sleep(0.01)
        sync.stop()
        await asyncio.wait_for(task, 5)
        assert [d.local_id for d in provider.sent] == [item.draft.local_id]

    run(asyncio.wait_for(scenario(), 20))


def test_a_refused_sign_in_while_sending_pauses_the_account() -> None:
    store = make_store()
    store.ingest(MAILBOX, [mail(1)])
    provider = FakeProvider(MAILBOX, sends=[AuthError("SMTP: sign-in refused (535)")])
    sync = service(store, provider)
    sync.outbox.reply(store.open_conversation_ids()[0], "hello")
    run(sync.flush_outbox())
    assert sync.status(MAILBOX.id).state is AccountState.NEEDS_SIGN_IN
    assert store.account_state(MAILBOX.id) == ("needs_sign_in", "SMTP: sign-in refused (535)")
    run(sync.sync_account(MAILBOX.id))
    assert provider.cursors == []  # paused: no fetch either
    run(sync.add_provider(provider))  # signed in again
    assert run(sync.flush_outbox()).sent == 1


def test_accounts_added_and_removed_while_running_start_and_stop() -> None:
    store = make_store()
    provider = FakeProvider(MAILBOX, [page(mail(1), cursor="c1")])
    sync = service(store, outbox_interval=10_000.0)  # no account yet

    async def scenario() -> None:
        sync._sleep = lambda _delay: asyncio.sleep(0)  # poll again at once
        task = asyncio.create_task(sync.run())
        await asyncio.sleep(0)
        await sync.add_provider(provider)  # added in Settings while the app runs
        while len(provider.cursors) < 3:
            await asyncio.sleep(0.01)
        assert store.cursor(MAILBOX.id) == "c1" and sync.account_ids() == [MAILBOX.id]
        await sync.remove_provider(MAILBOX.id)  # removed: its loop has ended when this returns
        fetched = len(provider.cursors)
        for _ in range(20):
            await asyncio.sleep(0)
        assert len(provider.cursors) == fetched and sync.account_ids() == [] and sync.statuses() == []
        sync.stop()
        await asyncio.wait_for(task, 5)

    run(asyncio.wait_for(scenario(), 20))
