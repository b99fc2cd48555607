"""The sync engine: every account on its schedule, failures as states, and the outbox flushed.

One :class:`SyncService` polls each account at its provider's ``min_poll_interval`` (or waits
for pushed changes when the provider offers :class:`~inbox.sync.contract.SupportsPush`), backs
off exponentially with jitter after failures, honours ``RateLimited.retry_after`` and keeps each
account's state in the store. Failures are states, never exceptions to the UI: offline
(transient), rate limited, needs sign-in (paused until the credentials change) and error (with
the service's reason). It logs once when an account goes down and once when it recovers. Each
fetched page is stored with its cursor in one transaction, so the cursor only moves with data.
Random numbers, the clock and sleeping are injected, so tests are deterministic.
"""

from __future__ import annotations

import asyncio
import logging
import random as random_module
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Protocol

from inbox.errors import AuthError, InboxError, RateLimited, TransientError
from inbox.models import Account, Message, Rejection
from inbox.replies.outbox import FlushReport, Outbox, OutboxChanged, OutboxStore
from inbox.sync.contract import FetchResult, Provider, SupportsPush

log = logging.getLogger(__name__)


class AccountState(StrEnum):
    IDLE = "idle"
    SYNCING = "syncing"
    UP_TO_DATE = "up_to_date"
    OFFLINE = "offline"  # network down, timeout, 5xx: retried with backoff
    RATE_LIMITED = "rate_limited"  # the service asked us to wait
    NEEDS_SIGN_IN = "needs_sign_in"  # paused until the credentials change
    ERROR = "error"  # refused for good or a bug; the reason says which


DOWN_STATES = frozenset(
    {
        AccountState.OFFLINE,
        AccountState.RATE_LIMITED,
        AccountState.NEEDS_SIGN_IN,
        AccountState.ERROR,
    }
)


@dataclass(frozen=True, slots=True)
class AccountStatus:
    account_id: str
    state: AccountState
    reason: str = ""
    failures: int = 0
    retry_in: float | None = None  # seconds until the next attempt after a failure


@dataclass(frozen=True, slots=True)
class AccountStateChanged:
    status: AccountStatus


@dataclass(frozen=True, slots=True)
class ConversationsChanged:
    """A page was stored: ``new`` conversations were created, ``touched`` ones received data."""

    account_id: str
    new: frozenset[int]
    touched: frozenset[int]


SyncEvent = AccountStateChanged | ConversationsChanged | OutboxChanged


class IngestOutcome(Protocol):
    added: int
    conversations: set[int]
    new_conversations: set[int]


class SyncStore(OutboxStore, Protocol):
    """What the engine needs from the store (``inbox.store.repository.Store`` provides it)."""

    def cursor(self, account_id: str) -> str | None: ...
    def set_account_state(self, account_id: str, state: str, reason: str = "") -> None: ...
    def add_rejections(self, account_id: str, count: int, last: str) -> None: ...
    def ingest_fetched(
        self, account: Account, messages: Sequence[Message], *, cursor: str | None, now: datetime
    ) -> tuple[IngestOutcome, list[Rejection]]: ...


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with "equal jitter": after n failures, between half and all of
    ``min(cap, base * 2**(n-1))`` seconds, so waits grow yet retries do not march in step."""

    base: float = 5.0
    cap: float = 900.0

    def ceiling(self, failures: int) -> float:
        return float(min(self.cap, self.base * 2 ** max(0, failures - 1)))

    def delay(self, failures: int, rand: float) -> float:
        top = self.ceiling(failures)
        return top / 2 + top / 2 * min(1.0, max(0.0, rand))


#: How a log line says an account went down: "account email:a@b.example is offline: ...".
DOWN_WORDS = {
    AccountState.OFFLINE: "is offline",
    AccountState.RATE_LIMITED: "is rate limited",
    AccountState.NEEDS_SIGN_IN: "needs sign-in",
    AccountState.ERROR: "is in error",
}


def state_for_error(exc: BaseException) -> AccountState:
    """The account state a failure means (for failures met outside a sync pass)."""
    if isinstance(exc, AuthError):
        return AccountState.NEEDS_SIGN_IN
    if isinstance(exc, RateLimited):
        return AccountState.RATE_LIMITED
    if isinstance(exc, TransientError):
        return AccountState.OFFLINE
    return AccountState.ERROR


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SyncService:
    """Runs every account's provider and the outbox; reports through ``observer``.

    Providers are entered (``async with``) by the caller, which owns their lifetime.
    """

    def __init__(
        self,
        store: SyncStore,
        providers: Iterable[Provider],
        *,
        clock: Callable[[], datetime] = _utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        random: Callable[[], float] = random_module.random,
        backoff: Backoff = Backoff(),
        observer: Callable[[SyncEvent], None] | None = None,
        outbox_interval: float = 30.0,
        max_pages: int = 1000,
    ) -> None:
        self._store = store
        self._providers = {p.account.id: p for p in providers}
        self._clock = clock
        self._sleep = sleep
        self._random = random
        self._backoff = backoff
        self._observer = observer
        self._outbox_interval = outbox_interval
        self._max_pages = max_pages
        self._status = {
            account_id: AccountStatus(account_id, AccountState.IDLE)
            for account_id in self._providers
        }
        self._delay: dict[str, float] = {}
        self._loops: dict[str, asyncio.Task[None]] = {}  # while running: one per account
        self._running = False
        self._push_failures: dict[str, int] = {}
        self._resume: dict[str, asyncio.Event] = {}
        self._wake_outbox = asyncio.Event()
        self._stop = asyncio.Event()
        self.outbox = Outbox(
            store,
            clock=clock,
            retry_delay=lambda n: self._backoff.delay(n, self._random()),
            observer=self._emit,
        )

    # -- state ------------------------------------------------------------------------------------

    def status(self, account_id: str) -> AccountStatus:
        return self._status[account_id]

    def statuses(self) -> list[AccountStatus]:
        return [self._status[k] for k in sorted(self._status)]

    def poll_interval(self, account_id: str) -> float:
        provider = self._providers[account_id]
        interval = float(provider.info.min_poll_interval)
        try:
            wanted = float(provider.account.settings.get("poll_interval", "0"))
        except ValueError:
            wanted = 0.0
        return max(interval, wanted)

    def _emit(self, event: SyncEvent) -> None:
        if self._observer is None:
            return
        try:
            self._observer(event)
        except Exception:  # a broken observer must not stop syncing
            log.exception("sync observer failed on %s", type(event).__name__)

    async def _set(self, status: AccountStatus) -> AccountStatus:
        previous = self._status.get(status.account_id)
        self._status[status.account_id] = status
        if previous is None or (previous.state, previous.reason) != (status.state, status.reason):
            try:
                await asyncio.to_thread(
                    self._store.set_account_state,
                    status.account_id,
                    status.state.value,
                    status.reason,
                )
            except InboxError as exc:
                log.error("cannot record the state of %s: %s", status.account_id, exc)
            self._emit(AccountStateChanged(status))
        return status

    async def _failed(
        self, account_id: str, state: AccountState, reason: str, delay: float | None = None
    ) -> AccountStatus:
        failures = self._status[account_id].failures + 1
        if delay is None:
            delay = self._backoff.delay(failures, self._random())
        if self._status[account_id].state not in DOWN_STATES:
            log.warning("account %s %s: %s", account_id, DOWN_WORDS[state], reason)
        else:
            log.debug("account %s still %s: %s", account_id, state.value, reason)
        if state is AccountState.NEEDS_SIGN_IN:
            self._resume.setdefault(account_id, asyncio.Event()).clear()
        self._delay[account_id] = delay
        return await self._set(AccountStatus(account_id, state, reason, failures, delay))

    async def _succeeded(self, account_id: str) -> AccountStatus:
        if self._status[account_id].state in DOWN_STATES:
            log.info("account %s is back: up to date", account_id)
        self._delay[account_id] = self.poll_interval(account_id)
        return await self._set(AccountStatus(account_id, AccountState.UP_TO_DATE))

    def paused(self, account_id: str) -> bool:
        return self._status[account_id].state is AccountState.NEEDS_SIGN_IN

    # -- accounts added, removed and signed in again while running ------------------------------

    async def add_provider(self, provider: Provider) -> None:
        """Run one more account (added in Settings, or rebuilt with new credentials): it starts
        idle, its first fetch starts now if the service runs, and its queued replies may go."""
        account_id = provider.account.id
        await self.remove_provider(account_id)
        self._providers[account_id] = provider
        self._status.pop(account_id, None)
        await self._set(AccountStatus(account_id, AccountState.IDLE))
        if self._running:
            self._loops[account_id] = asyncio.create_task(self._account_loop(account_id))
        self._wake_outbox.set()

    async def remove_provider(self, account_id: str) -> None:
        """Stop running an account (removed, or about to be rebuilt): its loop ends before this
        returns, so the caller may close the provider."""
        loop = self._loops.pop(account_id, None)
        if loop is not None:
            loop.cancel()
            await asyncio.gather(loop, return_exceptions=True)
        async with self.outbox.sending:  # no reply is being sent through it
            self._providers.pop(account_id, None)
        self._status.pop(account_id, None)
        for table in (self._delay, self._push_failures, self._resume):
            table.pop(account_id, None)

    async def unavailable(self, account_id: str, error: BaseException) -> None:
        """An account whose provider cannot even be built (no secret, unknown kind): its state
        says why, and nothing runs for it until Settings change it."""
        await self.remove_provider(account_id)
        state = state_for_error(error)
        log.warning("account %s cannot start: %s", account_id, state.value)
        await self._set(AccountStatus(account_id, state, str(error)))
        self._status.pop(account_id, None)  # not run: sync_once and the loops skip it

    def account_ids(self) -> list[str]:
        """The accounts this service runs."""
        return sorted(self._providers)

    # -- one pass -------------------------------------------------------------------------------

    async def sync_account(self, account_id: str) -> AccountStatus:
        """Fetch and store pages until none remains. Failures become the account's state."""
        if self.paused(account_id):
            return self._status[account_id]
        provider = self._providers[account_id]
        current = self._status[account_id]
        if current.state not in DOWN_STATES:
            await self._set(AccountStatus(account_id, AccountState.SYNCING))
        try:
            cursor = await asyncio.to_thread(self._store.cursor, account_id)
            for _page in range(self._max_pages):
                result = await provider.fetch(cursor)
                await self._commit(provider.account, result)
                cursor = result.cursor if result.cursor is not None else cursor
                if not result.more:
                    break
        except AuthError as exc:
            return await self._failed(account_id, AccountState.NEEDS_SIGN_IN, str(exc))
        except RateLimited as exc:
            wait = max(0.0, float(exc.retry_after))
            resume = (self._clock() + timedelta(seconds=wait)).astimezone().strftime("%H:%M")
            reason = f"resumes at {resume} ({exc})"  # the account shows when it will resume
            return await self._failed(account_id, AccountState.RATE_LIMITED, reason, wait)
        except TransientError as exc:
            return await self._failed(account_id, AccountState.OFFLINE, str(exc))
        except InboxError as exc:  # PermanentError, ProviderBug, StoreError
            cap = self._backoff.cap
            return await self._failed(account_id, AccountState.ERROR, str(exc), cap)
        except Exception as exc:  # a bug in a provider must not stop the others
            log.exception("account %s: unexpected failure", account_id)
            reason = f"unexpected {type(exc).__name__}"
            return await self._failed(account_id, AccountState.ERROR, reason, self._backoff.cap)
        return await self._succeeded(account_id)

    async def _commit(self, account: Account, result: FetchResult) -> None:
        outcome, rejections = await asyncio.to_thread(
            self._store.ingest_fetched,
            account,
            list(result.batch.messages),
            cursor=result.cursor,
            now=self._clock(),
        )
        rejected = (*result.batch.rejections, *rejections)
        for rejection in rejected:
            log.warning("account %s rejected %s: %s", account.id, rejection.source, rejection.reason)
        if rejected:
            # The account stays up to date; the count shows beside its state (Settings, CLI).
            last = f"{rejected[-1].source}: {rejected[-1].reason}"[:300]
            await asyncio.to_thread(self._store.add_rejections, account.id, len(rejected), last)
        if outcome.conversations:
            self._emit(
                ConversationsChanged(
                    account.id,
                    frozenset(outcome.new_conversations),
                    frozenset(outcome.conversations),
                )
            )

    async def flush_outbox(self) -> FlushReport:
        """Send what the outbox holds; an auth refusal pauses the account (needs sign-in)."""
        paused = {a for a in self._status if self.paused(a)}
        try:
            report = await self.outbox.flush(self._providers, paused=paused)
        except InboxError as exc:
            log.error("outbox: %s", exc)
            return FlushReport()
        except Exception:  # a provider broke its contract; the item waits in ``sending``
            log.exception("outbox: unexpected failure")
            return FlushReport()
        for account_id, reason in report.auth_failed.items():
            if account_id in self._status:
                await self._failed(account_id, AccountState.NEEDS_SIGN_IN, reason)
        return report

    async def sync_once(self) -> tuple[list[AccountStatus], FlushReport]:
        """Every account until no page remains, then the outbox once (``inbox sync --once``)."""
        await asyncio.gather(*(self.sync_account(a) for a in sorted(self._providers)))
        report = await self.flush_outbox()
        return self.statuses(), report

    def wake_outbox(self) -> None:
        """A reply was queued: flush soon instead of at the next interval."""
        self._wake_outbox.set()

    # -- running ----------------------------------------------------------------------------------

    async def run(self) -> None:
        """Run every account's loop and the outbox loop until :meth:`stop`."""
        self._stop.clear()
        self._running = True
        for account_id in sorted(self._providers):
            self._loops[account_id] = asyncio.create_task(self._account_loop(account_id))
        outbox = asyncio.create_task(self._outbox_loop())
        try:
            await self._stop.wait()
        finally:
            self._running = False
            tasks = [*self._loops.values(), outbox]
            self._loops.clear()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> None:
        self._stop.set()

    async def _account_loop(self, account_id: str) -> None:
        while True:
            if self.paused(account_id):
                await self._resume.setdefault(account_id, asyncio.Event()).wait()
                continue
            status = await self.sync_account(account_id)
            if status.state is AccountState.UP_TO_DATE:
                self._wake_outbox.set()
            await self._wait(account_id, status)

    async def _wait(self, account_id: str, status: AccountStatus) -> None:
        if status.state is AccountState.NEEDS_SIGN_IN:
            return
        delay = self._delay.get(account_id, self.poll_interval(account_id))
        provider = self._providers[account_id]
        if status.state is AccountState.UP_TO_DATE and isinstance(provider, SupportsPush):
            try:
                await provider.wait_for_changes(delay)
                self._push_failures.pop(account_id, None)
                return
            except TransientError as exc:
                # The push connection found the server gone or silent: the account is offline
                # now (a fetch could hang on a silent server for a whole socket timeout first).
                # Fetch again soon: that confirms it, or brings the account back.
                await self._failed(account_id, AccountState.OFFLINE, str(exc))
                await self._sleep(min(delay, 1.0))
                return
            except Exception as exc:  # the next fetch reports real failures
                log.debug("account %s: waiting for changes failed: %s", account_id, exc)
                failures = self._push_failures.get(account_id, 0) + 1
                self._push_failures[account_id] = failures
                if failures == 1:
                    # The push connection broke: fetch again soon, so that a server that went
                    # away shows as offline now rather than after a whole poll interval.
                    await self._sleep(min(delay, 1.0))
                    return
        await self._sleep(delay)

    async def _outbox_loop(self) -> None:
        while True:
            self._wake_outbox.clear()
            await self.flush_outbox()
            woken = asyncio.create_task(self._wake_outbox.wait())
            slept = asyncio.ensure_future(self._sleep(self._outbox_interval))
            try:
                await asyncio.wait({woken, slept}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                woken.cancel()
                slept.cancel()
