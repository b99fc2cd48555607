"""Changes to a conversation (status, priority, assignment, tags), each written together with an
event carrying its instant and author, so the SLA engine, reports and the team server can replay it.
"""

from __future__ import annotations

from datetime import datetime

from inbox.errors import InputError
from inbox.models import EventKind, Priority, Status
from inbox.store import conversation_rows
from inbox.store.database import Database, to_db_time
from inbox.store.queue_reads import ConversationReads
from inbox.triage.rules import TRIAGE_ACTOR


class ConversationChanges(ConversationReads):
    """Conversation changes with their events (a part of :class:`inbox.store.repository.Store`)."""

    def set_status(self, conversation_id: int, status: Status, at: datetime, actor: str) -> None:
        self._change(conversation_id, "status", status.value, EventKind.STATUS, at, actor)

    def set_priority(self, conversation_id: int, priority: Priority, at: datetime, actor: str) -> None:
        """A priority set by a person is theirs: automatic triage never overrides it."""
        self._change(conversation_id, "priority", priority.value, EventKind.PRIORITY, at, actor)
        if actor != TRIAGE_ACTOR:
            self._write(
                lambda db: db.execute(
                    "UPDATE conversations SET priority_source = 'agent' WHERE id = ?", [conversation_id]
                )
            )

    def assign(self, conversation_id: int, assignee: str | None, at: datetime, actor: str) -> None:
        self._change(conversation_id, "assignee", assignee, EventKind.ASSIGNED, at, actor)

    def _change(
        self, conversation_id: int, column: str, value: str | None, kind: EventKind, at: datetime, actor: str
    ) -> None:
        self.conversation(conversation_id)  # raises a clear error for an unknown id

        def write(db: Database) -> None:
            current = db.execute(f"SELECT {column} FROM conversations WHERE id = ?", [conversation_id]).fetchone()
            if current is not None and current[0] == value:
                return
            db.execute(f"UPDATE conversations SET {column} = ? WHERE id = ?", [value, conversation_id])
            conversation_rows.add_event(db, conversation_id, kind, to_db_time(at), actor, value or "")

        self._write(write)

    def add_tag(self, conversation_id: int, tag: str, at: datetime, actor: str) -> None:
        tag = tag.strip()
        if not tag:
            raise InputError("tag", "a tag cannot be empty")
        self.conversation(conversation_id)
        self._tag_change(
            "INSERT OR IGNORE INTO conversation_tags (conversation_id, tag) VALUES (?, ?)",
            EventKind.TAG_ADDED, conversation_id, tag, at, actor,
        )  # fmt: skip

    def remove_tag(self, conversation_id: int, tag: str, at: datetime, actor: str) -> None:
        self._tag_change(
            "DELETE FROM conversation_tags WHERE conversation_id = ? AND tag = ?",
            EventKind.TAG_REMOVED, conversation_id, tag, at, actor,
        )  # fmt: skip

    def _tag_change(self, sql: str, kind: EventKind, conversation_id: int, tag: str, at: datetime, actor: str) -> None:
        """Run ``sql`` on (conversation, tag); its event only when a row changed."""

        def write(db: Database) -> None:
            if db.execute(sql, [conversation_id, tag]).rowcount:
                conversation_rows.add_event(db, conversation_id, kind, to_db_time(at), actor, tag)

        self._write(write)
