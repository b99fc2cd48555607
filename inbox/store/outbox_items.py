"""The outbox as the core's :class:`inbox.replies.outbox.OutboxStore` sees it: replies and notes
queued with their message rows, and the items' state transitions. Thin delegates, each in the
store's lock or one transaction, to :mod:`inbox.store.outbox_store`, which holds the SQL.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from inbox.models import Draft, Message, OutboxItem, OutboxState
from inbox.store import outbox_store
from inbox.store.base import StoreBase


class OutboxRepository(StoreBase):
    """Outbox items (a part of :class:`inbox.store.repository.Store`)."""

    def queue_reply(self, draft: Draft, message: Message, now: datetime) -> None:
        """Commit a reply (outbox item, queued) and its outbound message row together."""
        self._write(lambda db: outbox_store.queue_reply(db, draft, message, now))

    def add_note(self, account_id: str, conversation_id: int, message: Message) -> int:
        return self._write(
            lambda db: outbox_store.add_note(db, account_id, conversation_id, message)
        )

    def outbox_items(
        self, states: Sequence[OutboxState] = outbox_store.OPEN_STATES
    ) -> list[OutboxItem]:
        with self._guard() as db:
            return outbox_store.items(db, states)

    def outbox_item(self, item_id: str) -> OutboxItem | None:
        with self._guard() as db:
            return outbox_store.item(db, item_id)

    def resolve_outbox_id(self, ref: str) -> str:
        with self._guard() as db:
            return outbox_store.resolve_id(db, ref)

    def set_outbox_state(
        self,
        item_id: str,
        state: OutboxState,
        now: datetime,
        *,
        error: str = "",
        attempts: int | None = None,
    ) -> None:
        self._write(
            lambda db: outbox_store.set_state(
                db, item_id, state, now, error=error, attempts=attempts
            )
        )

    def mark_outbox_sent(self, item_id: str, provider_id: str, now: datetime) -> None:
        self._write(lambda db: outbox_store.mark_sent(db, item_id, provider_id, now))

    def drop_outbox_item(self, item_id: str) -> None:
        self._write(lambda db: outbox_store.drop(db, item_id))
