"""The sync service inside the desktop app: providers entered on one shared HTTP client, the
engine run as a task on the qasync loop, its events forwarded to the window.

Composition code. Offline is a normal state: the window shows it, nothing raises at the agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from inbox.errors import InboxError
from inbox.models import Draft
from inbox.providers.base import Provider
from inbox.providers.registry import build_provider
from inbox.secrets import SecretStore
from inbox.store.notices import last_inbound_at
from inbox.store.repository import Store
from inbox.sync import AccountStateChanged, Backoff, ConversationsChanged, SyncEvent, SyncService, state_for_error
from inbox.workspace import refresh_sla

log = logging.getLogger(__name__)


class LiveSync:
    """Runs every configured account in the background while the window is open.

    ``on_accounts()`` is called when an account's state changes; ``on_conversations(touched, new)`` when
    a page of data was stored (after the SLA of those conversations was recomputed).
    """

    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        *,
        on_accounts: Callable[[], None],
        on_conversations: Callable[[frozenset[int], frozenset[int]], None],
        backoff: Backoff | None = None,
    ) -> None:
        self.store = store
        self.secrets = secrets
        self.on_accounts = on_accounts
        self.on_conversations = on_conversations
        self.backoff = backoff or Backoff()
        self.service: SyncService | None = None
        self._task: asyncio.Task[None] | None = None
        self._stack = contextlib.AsyncExitStack()

    async def start(self) -> None:
        http = await self._stack.enter_async_context(httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0)))
        providers: list[Provider] = []
        for account in self.store.accounts():
            try:
                providers.append(await self._stack.enter_async_context(build_provider(account, self.secrets, http, last_inbound=self._last_inbound)))
            except InboxError as exc:
                state = state_for_error(exc)
                self.store.set_account_state(account.id, state.value, str(exc))
                log.warning("account %s cannot start: %s", account.id, state.value)
        self.service = SyncService(self.store, providers, observer=self._observe, backoff=self.backoff)
        self._task = asyncio.get_running_loop().create_task(self.service.run())
        self.on_accounts()

    def _last_inbound(self, draft: Draft) -> datetime | None:
        return last_inbound_at(self.store, draft.conversation_id)

    def wake_outbox(self) -> None:
        if self.service is not None:
            self.service.wake_outbox()

    def _observe(self, event: SyncEvent) -> None:
        if isinstance(event, AccountStateChanged):
            self.on_accounts()
        elif isinstance(event, ConversationsChanged) and event.touched:
            refresh_sla(self.store, datetime.now(UTC), sorted(event.touched))
            self.on_conversations(event.touched, event.new)

    async def stop(self) -> None:
        if self.service is not None:
            self.service.stop()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self._stack.aclose()
