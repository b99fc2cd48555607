"""The sync service inside the desktop app: providers entered on one shared HTTP client, the
engine run as a task on the qasync loop, its events forwarded to the window.

Composition code. Offline is a normal state: the window shows it, nothing raises at the agent.
The sync service is the one owner of account states: Settings only change accounts and their
secrets, then :meth:`LiveSync.accounts_changed` brings the running service in line (a new
account starts fetching, a removed one stops, a re-signed one runs with its new credentials).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx

from inbox.app.http import new_client
from inbox.app.workspace import refresh_sla
from inbox.errors import InboxError, InputError
from inbox.models import Account, Draft
from inbox.ports import ChangeListener
from inbox.providers.registry import build_provider, provider_info, provider_kind
from inbox.secrets import STORED_SECRET_NAMES, SecretStore
from inbox.store.notices import last_inbound_at
from inbox.store.repository import Store
from inbox.store.writer import StoreWriter
from inbox.sync.service import AccountStateChanged, Backoff, ConversationsChanged, SyncEvent, SyncService

log = logging.getLogger(__name__)


@dataclass
class _Running:
    account: Account
    credentials: str  # a digest of the account's secrets when its provider was built
    stack: contextlib.AsyncExitStack


class LiveSync:
    """Runs every configured account in the background while the window is open.

    ``on_accounts()`` is called when an account's state changes. It is the app's
    :class:`~inbox.ports.ChangeFeed`: each listener (``on_conversations`` is the first) hears
    ``(touched, new)`` on the loop's thread when a page of data was stored, after the SLA of
    those conversations was recomputed (by ``writer``).
    """

    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        *,
        on_accounts: Callable[[], None],
        on_conversations: ChangeListener | None = None,
        backoff: Backoff | None = None,
        writer: StoreWriter | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.on_accounts = on_accounts
        self._listeners: list[ChangeListener] = [on_conversations] if on_conversations else []
        self.backoff = backoff or Backoff()
        self.writer = writer or StoreWriter(store)
        self._own_writer = writer is None
        self.service: SyncService | None = None
        self._task: asyncio.Task[None] | None = None
        #: The app's shared client (``inbox.app.http``); without one, a client of its own,
        #: made at start and closed at stop.
        self.http = http
        self._own_http = http is None
        self._running: dict[str, _Running] = {}
        self._changes = asyncio.Lock()
        self._pending: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        if self.http is None:
            self.http = new_client()
        # The service writes (pages, cursors, states, the outbox) through the writer's connection,
        # so a long import never holds the lock of the connection the window reads through.
        self.service = SyncService(self.writer.store, [], observer=self._observe, backoff=self.backoff)
        self._task = asyncio.get_running_loop().create_task(self.service.run())
        await self.accounts_changed()

    async def accounts_changed(self) -> None:
        """Bring the running accounts in line with the store and the secret store: start the new
        ones, stop the removed ones, rebuild those whose settings or secrets changed."""
        service, http = self.service, self.http
        if service is None or http is None:
            return
        async with self._changes:
            accounts = {a.id: a for a in await asyncio.to_thread(self.store.accounts)}
            for account_id in [a for a in self._running if a not in accounts]:
                await self._stop_account(service, account_id)
                log.info("account %s removed: no longer synced", account_id)
            for account in accounts.values():
                credentials = await asyncio.to_thread(self._credentials, account)
                running = self._running.get(account.id)
                if running is not None and (running.account, running.credentials) == (account, credentials):
                    continue
                if running is not None:
                    await self._stop_account(service, account.id)
                await self._start_account(service, http, account, credentials)
        self.on_accounts()

    def accounts_changed_soon(self) -> None:
        """``accounts_changed`` as a task (for a Qt signal); a strong reference is kept."""
        task = asyncio.get_running_loop().create_task(self.accounts_changed())
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _start_account(
        self, service: SyncService, http: httpx.AsyncClient, account: Account, credentials: str
    ) -> None:
        stack = contextlib.AsyncExitStack()
        try:
            provider = build_provider(account, self.secrets, http, last_inbound=self._last_inbound)
            await stack.enter_async_context(provider)
        except InboxError as exc:
            await stack.aclose()
            await service.unavailable(account.id, exc)
            # Tried again when Settings change it (a new secret or setting), not in a loop.
            self._running[account.id] = _Running(account, credentials, contextlib.AsyncExitStack())
            return
        self._running[account.id] = _Running(account, credentials, stack)
        await service.add_provider(provider)

    async def _stop_account(self, service: SyncService, account_id: str) -> None:
        running = self._running.pop(account_id)
        await service.remove_provider(account_id)
        with contextlib.suppress(Exception):  # a provider that fails to close is gone anyway
            await running.stack.aclose()

    def _credentials(self, account: Account) -> str:
        """A digest of what the account signs in with (blocking: the keyring)."""
        names = set(STORED_SECRET_NAMES)
        with contextlib.suppress(InputError):
            names |= {f.name for f in provider_info(provider_kind(account)).fields if f.secret}
        digest = hashlib.sha256()
        for name in sorted(names):
            digest.update(f"{name}={self.secrets.get(account.id, name) or ''}\0".encode())
        return digest.hexdigest()

    def _last_inbound(self, draft: Draft) -> datetime | None:
        return last_inbound_at(self.store, draft.conversation_id)

    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        """Hear which conversations changed; returns the function that stops it."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _changed(self, touched: frozenset[int], new: frozenset[int]) -> None:
        for listener in list(self._listeners):
            try:
                listener(touched, new)
            except Exception:  # one broken listener must not starve the others
                log.exception("a change listener failed")

    def wake_outbox(self) -> None:
        if self.service is not None:
            self.service.wake_outbox()

    def _observe(self, event: SyncEvent) -> None:
        if isinstance(event, AccountStateChanged):
            self.on_accounts()
        elif isinstance(event, ConversationsChanged) and event.touched:
            # The SLA of the new data is recomputed by the writer, off the Qt thread; the window
            # hears of the data once its deadlines are known.
            touched, new = event.touched, event.new
            now = datetime.now(UTC)
            done = self.writer.submit(lambda store: refresh_sla(store, now, sorted(touched)))
            loop = asyncio.get_running_loop()

            def tell(_done: object) -> None:
                with contextlib.suppress(RuntimeError):  # the app closed its loop meanwhile
                    loop.call_soon_threadsafe(self._changed, touched, new)

            done.add_done_callback(tell)

    async def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for task in list(self._pending):
            task.cancel()
        await asyncio.gather(*self._pending, return_exceptions=True)
        for running in self._running.values():
            with contextlib.suppress(Exception):
                await running.stack.aclose()
        self._running.clear()
        if self._own_http and self.http is not None:
            await self.http.aclose()
            self.http = None
        if self._own_writer:
            await asyncio.to_thread(self.writer.close)
