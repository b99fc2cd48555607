"""The ports: what the window, the dashboard and the app depend on instead of a concrete store.

Solo mode implements them over SQLite (``inbox.store.repository.Store`` reads; the commands in
``inbox.app.solo`` write through the store's one writer thread); a team server can implement the same
Protocols over its HTTP API. Core: standard library and core modules only.

- Reads (:class:`QueueReads`, :class:`ConversationReads`) answer at once from a local copy.
- :class:`Commands` never block their caller: each returns a :class:`~concurrent.futures.Future`
  that completes once the change landed (or with the error that stopped it). Who made a change
  and when is stamped by the implementation, never passed by the caller (a server trusts
  neither the desktop's clock nor its agent name).
- :class:`ChangeFeed` says which conversations changed; :class:`SyncBackend` what the sync
  service reports (account states, the outbox).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from datetime import datetime
from typing import Protocol

from inbox.models import (
    Account,
    AttachmentFile,
    Conversation,
    ConversationEvent,
    Customer,
    Identity,
    IdentityKind,
    LinkSuggestion,
    OutboxItem,
    Priority,
    QueueFilter,
    SearchHit,
    Status,
    StoredMessage,
)
from inbox.sla import reports
from inbox.triage.crisis import StoredAlert


class QueueReads(Protocol):
    """A view's page of conversations, counts, and what the queue's filters offer."""

    def queue(self, flt: QueueFilter, *, limit: int = 200, offset: int = 0) -> list[Conversation]: ...
    def queue_order(self, flt: QueueFilter, *, limit: int, offset: int = 0) -> list[int]: ...
    def queue_rows(self, ids: Sequence[int]) -> list[Conversation]: ...
    def count(self, flt: QueueFilter) -> int: ...
    def tags(self) -> list[tuple[str, int]]:
        """Each tag on a conversation not closed, with how many such conversations carry it
        (most first): the count a tag's view shows."""
        ...

    def agent_names(self) -> list[str]: ...
    def search(self, query: str, *, limit: int = 50) -> list[SearchHit]: ...
    def search_conversation_ids(self, query: str, *, limit: int = 2000) -> tuple[int, ...]: ...


class ConversationReads(Protocol):
    """One conversation: its thread, its customer, the agent's kept draft."""

    def conversation(self, conversation_id: int) -> Conversation: ...
    def messages(self, conversation_id: int) -> list[StoredMessage]: ...
    def events(self, conversation_id: int, until: datetime | None = None) -> list[ConversationEvent]: ...
    def attachment_files(self, message_id: int) -> list[AttachmentFile]: ...
    def draft(self, conversation_id: int) -> str: ...
    def customer(self, customer_id: int) -> Customer: ...
    def identities(self, customer_id: int) -> list[Identity]: ...
    def customer_conversations(self, customer_id: int) -> list[Conversation]: ...
    def suggestions(self, customer_id: int) -> list[LinkSuggestion]: ...


class SyncBackend(Protocol):
    """What the sync service reports: every account with its state, and the outbox."""

    def accounts(self, include_removed: bool = False) -> list[Account]: ...
    def account_state(self, account_id: str) -> tuple[str, str]: ...
    def outbox_items(self) -> list[OutboxItem]: ...


class Reads(QueueReads, ConversationReads, SyncBackend, Protocol):
    """Every read the main window makes."""


class Commands(Protocol):
    """The agent's changes (the team server's intents). Each returns at once; its future
    completes when the change landed. Who and when are stamped by the implementation."""

    def reply(self, conversation_id: int, text: str, *, privately: bool = False) -> Future[None]: ...
    def note(self, conversation_id: int, text: str) -> Future[None]: ...
    def set_status(self, conversation_id: int, status: Status) -> Future[None]: ...
    def assign(self, conversation_id: int, assignee: str | None) -> Future[None]: ...
    def add_tag(self, conversation_id: int, tag: str) -> Future[None]: ...
    def remove_tag(self, conversation_id: int, tag: str) -> Future[None]: ...
    def set_priority(self, conversation_id: int, priority: Priority) -> Future[None]: ...
    def decide_reply(self, outbox_id: str, action: str) -> Future[None]: ...
    def save_draft(self, conversation_id: int, text: str) -> Future[None]: ...
    def link(self, kind: IdentityKind, key: str, customer_id: int) -> Future[None]: ...
    def unlink(self, kind: IdentityKind, key: str) -> Future[None]: ...
    def merge_customers(self, keep: int, absorbed: int) -> Future[None]: ...
    def resolve_suggestion(self, suggestion_id: int, accept: bool) -> Future[None]: ...


#: ``(touched, new)``: conversations that received data, and those among them that are new.
ChangeListener = Callable[[frozenset[int], frozenset[int]], None]


class ChangeFeed(Protocol):
    """Which conversations changed (the sync service's pages; a server's change log)."""

    def subscribe(self, listener: ChangeListener) -> Callable[[], None]:
        """Call ``listener`` on the subscriber's thread after each change; returns an
        unsubscribe function."""
        ...


class DashboardSource(Protocol):
    """What the team lead's dashboard reads (solo: ``inbox.store.analytics.AnalyticsSource``)."""

    def snapshot(self, now: datetime) -> reports.Snapshot: ...
    def reports(
        self, since: datetime, until: datetime, groupings: Sequence[str]
    ) -> dict[str, reports.Report]: ...
    def alerts(self) -> list[StoredAlert]: ...
