"""The outbox that sends replies (composed by :mod:`inbox.replies.compose`).

The :class:`Outbox` commits a reply to the store (queued,
visible at once) before any network call, then sends: queued -> sending -> sent | failed. An item
found in ``sending`` after a crash is never sent blindly again: the provider's delivery check
decides, or the agent does ("may have been sent"). Replies in one conversation go out in order.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from inbox.errors import AuthError, InputError, ProviderError, RateLimited, TransientError
from inbox.models import (
    Account,
    Conversation,
    Draft,
    Message,
    OutboxItem,
    OutboxState,
    StoredMessage,
)
from inbox.replies.compose import (
    compose_note,
    compose_reply,
    outbound_message,
)
from inbox.sync.contract import Provider, SupportsDeliveryCheck

log = logging.getLogger(__name__)



# -- the outbox service -------------------------------------------------------------------------


class OutboxStore(Protocol):
    """What the outbox needs from the store (``inbox.store.repository.Store`` provides it)."""

    def conversation(self, conversation_id: int) -> Conversation: ...
    def messages(self, conversation_id: int) -> list[StoredMessage]: ...
    def accounts(self, include_removed: bool = False) -> list[Account]: ...
    def queue_reply(self, draft: Draft, message: Message, now: datetime) -> None: ...
    def add_note(self, account_id: str, conversation_id: int, message: Message) -> int: ...
    def outbox_items(self) -> list[OutboxItem]: ...
    def outbox_item(self, item_id: str) -> OutboxItem | None: ...
    def set_outbox_state(
        self,
        item_id: str,
        state: OutboxState,
        now: datetime,
        *,
        error: str = "",
        attempts: int | None = None,
    ) -> None: ...
    def mark_outbox_sent(self, item_id: str, provider_id: str, now: datetime) -> None: ...
    def drop_outbox_item(self, item_id: str) -> None: ...


@dataclass(frozen=True, slots=True)
class OutboxChanged:
    """An outbox item changed state (observer event)."""

    item_id: str
    conversation_id: int
    state: OutboxState
    reason: str = ""


@dataclass
class FlushReport:
    sent: int = 0
    waiting: int = 0
    failed: int = 0
    uncertain: int = 0
    auth_failed: dict[str, str] = field(default_factory=dict)  # account id -> reason


def default_retry_delay(attempts: int) -> float:
    return float(min(900, 5 * 2 ** max(0, attempts - 1)))


class Outbox:
    """Queues replies in the store and sends them, in order per conversation."""

    def __init__(
        self,
        store: OutboxStore,
        *,
        clock: Callable[[], datetime],
        retry_delay: Callable[[int], float] = default_retry_delay,
        observer: Callable[[OutboxChanged], None] | None = None,
    ) -> None:
        self._store = store
        self._clock = clock
        self._retry_delay = retry_delay
        self._observer = observer
        self._not_before: dict[str, datetime] = {}
        self._lock = asyncio.Lock()

    @property
    def sending(self) -> asyncio.Lock:
        """Held while a flush sends: hold it to close a provider no send is using."""
        return self._lock

    def reply(self, conversation_id: int, text: str, *, dm: bool = False) -> OutboxItem:
        """Compose and commit a reply (queued); no network. Returns the stored item."""
        conversation = self._store.conversation(conversation_id)
        accounts = self._store.accounts()
        draft = compose_reply(
            conversation, self._store.messages(conversation_id), accounts, text, dm=dm
        )
        sender = next(a for a in accounts if a.id == draft.account_id)
        self._store.queue_reply(
            draft, outbound_message(draft, sender, self._clock()), self._clock()
        )
        item = self._store.outbox_item(draft.local_id)
        assert item is not None
        self._notify(item.draft, OutboxState.QUEUED)
        return item

    def note(self, conversation_id: int, text: str, actor: str) -> int:
        """Store a private note; returns its message id."""
        conversation = self._store.conversation(conversation_id)
        message = compose_note(conversation, text, actor, self._clock())
        return self._store.add_note(conversation.account_id, conversation_id, message)

    def resend(self, item_id: str) -> None:
        """The agent asks to send a failed or uncertain item again."""
        item = self._require(item_id, (OutboxState.FAILED, OutboxState.UNCERTAIN))
        self._store.set_outbox_state(item_id, OutboxState.QUEUED, self._clock(), attempts=0)
        self._not_before.pop(item_id, None)
        self._notify(item.draft, OutboxState.QUEUED)

    def mark_sent(self, item_id: str) -> None:
        """The agent knows a failed or uncertain item went out (the customer got it): it counts
        as sent, under our own id, and the replies held behind it go on."""
        item = self._require(item_id, (OutboxState.FAILED, OutboxState.UNCERTAIN))
        self._store.mark_outbox_sent(item_id, item.provider_id or item_id, self._clock())
        self._not_before.pop(item_id, None)
        self._notify(item.draft, OutboxState.SENT)

    def drop(self, item_id: str) -> None:
        """The agent gives up on an unsent item: it leaves the outbox and the conversation."""
        self._require(item_id, (OutboxState.FAILED, OutboxState.UNCERTAIN, OutboxState.QUEUED))
        self._store.drop_outbox_item(item_id)

    def _require(self, item_id: str, states: Container[OutboxState]) -> OutboxItem:
        item = self._store.outbox_item(item_id)
        if item is None:
            raise InputError("outbox id", f"no outbox item {item_id}")
        if item.state not in states:
            raise InputError("outbox id", f"{item_id} is {item.state.value}")
        return item

    async def flush(
        self, senders: Mapping[str, Provider], *, paused: Container[str] = ()
    ) -> FlushReport:
        """Send what is due. A conversation's later replies wait until its earlier ones are sent."""
        report = FlushReport()
        async with self._lock:
            items = await asyncio.to_thread(self._store.outbox_items)
            blocked: set[int] = set()
            for item in items:
                conversation = item.draft.conversation_id
                account = item.draft.account_id
                sender = senders.get(account)
                ready = item.state in (OutboxState.QUEUED, OutboxState.SENDING)
                if (
                    conversation in blocked
                    or not ready
                    or sender is None
                    or account in paused
                    or account in report.auth_failed
                    or not self._due(item)
                ):
                    blocked.add(conversation)
                    self._count(report, item.state)
                    continue
                state = await self._deliver(item, sender, report)
                if state is not OutboxState.SENT:
                    blocked.add(conversation)
                    self._count(report, state)
        return report

    def _due(self, item: OutboxItem) -> bool:
        when = self._not_before.get(item.draft.local_id)
        return when is None or self._clock() >= when

    @staticmethod
    def _count(report: FlushReport, state: OutboxState) -> None:
        if state is OutboxState.FAILED:
            report.failed += 1
        elif state is OutboxState.UNCERTAIN:
            report.uncertain += 1
        else:
            report.waiting += 1

    async def _deliver(
        self, item: OutboxItem, sender: Provider, report: FlushReport
    ) -> OutboxState:
        draft = item.draft
        if item.state is OutboxState.SENDING:
            # Left in ``sending`` by a crash: it may have gone out. Never send it blindly.
            if not isinstance(sender, SupportsDeliveryCheck):
                return await self._set(draft, OutboxState.UNCERTAIN, "may have been sent")
            try:
                delivered = await sender.was_delivered(draft)
            except ProviderError as exc:
                return await self._failure(item, exc, report, keep=OutboxState.SENDING)
            if delivered is None:
                return await self._set(draft, OutboxState.UNCERTAIN, "may have been sent")
            if delivered:
                return await self._sent(draft, draft.local_id, report)
        attempts = item.attempts + 1
        await asyncio.to_thread(
            self._store.set_outbox_state,
            draft.local_id,
            OutboxState.SENDING,
            self._clock(),
            error=item.last_error,
            attempts=attempts,
        )
        try:
            provider_id = await sender.send(draft)
        except TransientError as exc:
            if not exc.unsure:
                return await self._failure(item, exc, report, attempts=attempts)
            # The request may have reached the service: never post it again blindly. Where the
            # provider can tell (email: the Sent folder) the next flush checks; else the agent.
            log.warning("reply %s may have been sent: %s", draft.local_id, exc)
            report.uncertain += 1
            if isinstance(sender, SupportsDeliveryCheck):
                self._not_before[draft.local_id] = self._clock() + timedelta(seconds=self._retry_delay(attempts))
                return await self._set(draft, OutboxState.SENDING, f"may have been sent ({exc})")
            return await self._set(draft, OutboxState.UNCERTAIN, f"may have been sent ({exc})")
        except ProviderError as exc:
            return await self._failure(item, exc, report, attempts=attempts)
        log.info("reply %s sent on %s", draft.local_id, draft.account_id)
        return await self._sent(draft, provider_id or draft.local_id, report)

    async def _sent(self, draft: Draft, provider_id: str, report: FlushReport) -> OutboxState:
        now = self._clock()
        await asyncio.to_thread(self._store.mark_outbox_sent, draft.local_id, provider_id, now)
        self._not_before.pop(draft.local_id, None)
        report.sent += 1
        self._notify(draft, OutboxState.SENT)
        return OutboxState.SENT

    async def _failure(
        self,
        item: OutboxItem,
        exc: ProviderError,
        report: FlushReport,
        *,
        attempts: int | None = None,
        keep: OutboxState = OutboxState.QUEUED,
    ) -> OutboxState:
        """Auth: wait for sign-in. Transient: wait and retry. Anything else: failed (or, for a
        delivery check, uncertain), with the service's reason for the agent to read."""
        draft = item.draft
        reason = str(exc)
        if isinstance(exc, AuthError):
            report.auth_failed[draft.account_id] = reason
            return await self._set(draft, keep, f"needs sign-in: {reason}")
        if not isinstance(exc, TransientError):
            log.warning("reply %s failed: %s", draft.local_id, reason)
            if keep is OutboxState.SENDING:
                return await self._set(
                    draft, OutboxState.UNCERTAIN, f"may have been sent ({reason})"
                )
            return await self._set(draft, OutboxState.FAILED, reason)
        delay = (
            exc.retry_after
            if isinstance(exc, RateLimited)
            else self._retry_delay(attempts or item.attempts or 1)
        )
        self._not_before[draft.local_id] = self._clock() + timedelta(seconds=delay)
        return await self._set(draft, keep, reason)

    async def _set(self, draft: Draft, state: OutboxState, reason: str) -> OutboxState:
        await asyncio.to_thread(
            self._store.set_outbox_state, draft.local_id, state, self._clock(), error=reason
        )
        self._notify(draft, state, reason)
        return state

    def _notify(self, draft: Draft, state: OutboxState, reason: str = "") -> None:
        if self._observer is not None:
            self._observer(OutboxChanged(draft.local_id, draft.conversation_id, state, reason))
