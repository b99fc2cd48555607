"""Reading conversations for the queue and the conversation view: the queue page and its count,
one conversation, its messages, events and attachment files, the agents and tags to filter by.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from inbox.errors import InputError
from inbox.models import (
    NOT_CLOSED,
    Attachment,
    AttachmentFile,
    Channel,
    Conversation,
    ConversationEvent,
    Direction,
    EventKind,
    OutboxState,
    Priority,
    QueueFilter,
    QueueSort,
    Status,
    StoredMessage,
    Surface,
)
from inbox.store import attachments
from inbox.store.base import StoreBase
from inbox.store.database import from_db_time, to_db_time


class ConversationReads(StoreBase):
    """The queue and a conversation's content (a part of :class:`inbox.store.repository.Store`)."""

    def queue(self, flt: QueueFilter, *, limit: int = 200, offset: int = 0) -> list[Conversation]:
        return self.queue_rows(self.queue_order(flt, limit=limit, offset=offset))

    def queue_order(self, flt: QueueFilter, *, limit: int, offset: int = 0) -> list[int]:
        """The ids of a view's conversations in the queue's order (sorting reads the conversations
        table alone: the lazy queue asks once per view and then reads pages by id)."""
        where, params = _queue_where(flt)
        order = {
            QueueSort.URGENCY: "CASE WHEN c.sla_due_at IS NULL THEN 1 ELSE 0 END, c.sla_due_at, "
            + _PRIORITY_ORDER
            + ", c.last_message_at",
            QueueSort.NEWEST: "c.last_message_at DESC",
            QueueSort.OLDEST: "c.last_message_at ASC",
            QueueSort.PRIORITY: _PRIORITY_ORDER + ", c.last_message_at DESC",
        }[flt.sort]
        if flt.sort is QueueSort.OLDEST and flt.statuses and Status.CLOSED not in flt.statuses:
            # The oldest conversations are closed: walking the date index from the oldest reads
            # most of the table before the first open one (111 ms at 1M); "+" sorts the few
            # conversations the status index finds instead (14 ms).
            order = "+c.last_message_at ASC"
        return [
            int(r["id"])
            for r in self._rows(
                f"SELECT c.id FROM conversations c WHERE {where} ORDER BY {order}, c.id LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        ]

    def queue_rows(self, ids: Sequence[int]) -> list[Conversation]:
        """These conversations as the queue shows them (names, tags, latest sentiment), in the
        order given; ids no longer stored are left out."""
        if not ids:
            return []
        rows = self._rows(
            f"""SELECT c.*, COALESCE(cu.display_name, '') AS customer_name,
                  (SELECT group_concat(tag, ',') FROM conversation_tags t WHERE t.conversation_id = c.id) AS tag_list,
                  {_LATEST_SENTIMENT} AS latest_sentiment
                FROM conversations c LEFT JOIN customers cu ON cu.id = c.customer_id
                WHERE c.id IN ({",".join(str(int(i)) for i in ids)})"""
        )
        position = {cid: n for n, cid in enumerate(ids)}
        rows.sort(key=lambda r: position[int(r["id"])])
        return [_conversation(r) for r in rows]

    def count(self, flt: QueueFilter) -> int:
        where, params = _queue_where(flt)
        rows = self._rows(f"SELECT COUNT(*) AS n FROM conversations c WHERE {where}", params)
        return int(rows[0]["n"])

    def conversation(self, conversation_id: int) -> Conversation:
        rows = self._rows(
            """SELECT c.*, COALESCE(cu.display_name, '') AS customer_name,
                 (SELECT group_concat(tag, ',') FROM conversation_tags t WHERE t.conversation_id = c.id) AS tag_list
               FROM conversations c LEFT JOIN customers cu ON cu.id = c.customer_id WHERE c.id = ?""",
            [conversation_id],
        )
        if not rows:
            raise InputError("conversation", f"no conversation with id {conversation_id}")
        return _conversation(rows[0])

    def messages(self, conversation_id: int) -> list[StoredMessage]:
        rows = self._rows(
            """SELECT m.*, o.state AS outbox_state, o.last_error AS outbox_error FROM messages m
               LEFT JOIN outbox o ON o.id = m.outbox_id
               WHERE m.conversation_id = ? ORDER BY m.sent_at, m.id""",
            [conversation_id],
        )
        return [_stored_message(r) for r in rows]

    def message(self, message_id: int) -> StoredMessage:
        rows = self._rows(
            """SELECT m.*, o.state AS outbox_state, o.last_error AS outbox_error FROM messages m
               LEFT JOIN outbox o ON o.id = m.outbox_id WHERE m.id = ?""",
            [message_id],
        )
        if not rows:
            raise InputError("message", f"no message with id {message_id}")
        return _stored_message(rows[0])

    def events(self, conversation_id: int, until: datetime | None = None) -> list[ConversationEvent]:
        sql = "SELECT * FROM events WHERE conversation_id = ?"
        params: list[Any] = [conversation_id]
        if until is not None:
            sql += " AND at <= ?"
            params.append(to_db_time(until))
        rows = self._rows(sql + " ORDER BY at, id", params)
        return [
            ConversationEvent(int(r["conversation_id"]), EventKind(r["kind"]), from_db_time(r["at"]), r["actor"], r["value"])
            for r in rows
        ]

    def open_conversation_ids(self) -> list[int]:
        rows = self._rows("SELECT id FROM conversations WHERE status != 'closed' ORDER BY id")
        return [int(r["id"]) for r in rows]

    def agent_names(self) -> list[str]:
        """Agents configured in the workspace and anyone already assigned a conversation."""
        rows = self._rows(
            """SELECT name FROM agents WHERE active = 1
               UNION SELECT DISTINCT assignee FROM conversations WHERE assignee IS NOT NULL ORDER BY 1"""
        )
        return [str(r[0]) for r in rows]

    def tags(self) -> list[tuple[str, int]]:
        # From the conversations not closed (an index range on status) to their tags (the tags'
        # primary key): 2 ms at 1M, where going from every tag to its conversation took 30-70.
        not_closed = sorted(s.value for s in NOT_CLOSED)
        rows = self._rows(
            f"""SELECT t.tag, COUNT(*) AS n FROM conversations c CROSS JOIN conversation_tags t ON t.conversation_id = c.id
               WHERE c.status IN ({",".join("?" * len(not_closed))}) GROUP BY t.tag ORDER BY n DESC, t.tag""",
            not_closed,
        )
        return [(r["tag"], int(r["n"])) for r in rows]

    def attachment_files(self, message_id: int) -> list[AttachmentFile]:
        rows = self._rows("SELECT * FROM attachment_files WHERE message_id = ? ORDER BY id", [message_id])
        if self.files_dir is None:
            return []
        return attachments.files_of([dict(r) for r in rows], self.files_dir)


_LATEST_SENTIMENT = """(SELECT m.sentiment FROM messages m WHERE m.conversation_id = c.id AND m.direction = 'in'
      AND m.automated = 0 ORDER BY m.sent_at DESC, m.id DESC LIMIT 1)"""
_PRIORITY_ORDER = "CASE c.priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END"


def _queue_where(flt: QueueFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if flt.statuses and set(flt.statuses) != set(Status):
        clauses.append(f"c.status IN ({','.join('?' * len(flt.statuses))})")
        params.extend(sorted(s.value for s in flt.statuses))
    if flt.channel is not None:
        clauses.append("c.channel = ?")
        params.append(flt.channel.value)
    if flt.tag:
        clauses.append("EXISTS (SELECT 1 FROM conversation_tags t WHERE t.conversation_id = c.id AND t.tag = ?)")
        params.append(flt.tag)
    if flt.assignee is not None:
        if flt.assignee == "":
            clauses.append("c.assignee IS NULL")
        else:
            clauses.append("c.assignee = ?")
            params.append(flt.assignee)
    if flt.sla_states:
        clauses.append(f"c.sla_state IN ({','.join('?' * len(flt.sla_states))})")
        params.extend(sorted(flt.sla_states))
    if flt.customer_id is not None:
        clauses.append("c.customer_id = ?")
        params.append(flt.customer_id)
    if flt.channels:
        clauses.append(f"c.channel IN ({','.join('?' * len(flt.channels))})")
        params.extend(sorted(c.value for c in flt.channels))
    if flt.sentiment_below is not None:
        clauses.append(f"{_LATEST_SENTIMENT} <= ?")
        params.append(flt.sentiment_below)
    if flt.conversation_ids is not None:
        ids = flt.conversation_ids or (-1,)
        clauses.append(f"c.id IN ({','.join(str(int(i)) for i in ids)})")
    return (" AND ".join(clauses) or "1"), params


def _conversation(r: sqlite3.Row) -> Conversation:
    tags = tuple(sorted(t for t in (r["tag_list"] or "").split(",") if t))
    return Conversation(
        id=int(r["id"]),
        channel=Channel(r["channel"]),
        account_id=r["account_id"],
        subject=r["subject"],
        status=Status(r["status"]),
        priority=Priority(r["priority"]),
        customer_id=r["customer_id"],
        created_at=from_db_time(r["created_at"]),
        last_message_at=from_db_time(r["last_message_at"]),
        message_count=int(r["message_count"]),
        assignee=r["assignee"],
        tags=tags,
        surface=Surface(r["surface"]) if r["surface"] else None,
        customer_name=r["customer_name"],
        preview=r["preview"],
        sla_due_at=from_db_time(r["sla_due_at"]) if r["sla_due_at"] else None,
        sla_state=r["sla_state"],
        sentiment=r["latest_sentiment"] if "latest_sentiment" in r.keys() else None,
    )


def _stored_message(r: sqlite3.Row) -> StoredMessage:
    return StoredMessage(
        id=int(r["id"]),
        conversation_id=int(r["conversation_id"]),
        account_id=r["account_id"],
        provider_id=r["provider_id"],
        channel=Channel(r["channel"]),
        surface=Surface(r["surface"]),
        direction=Direction(r["direction"]),
        author_key=r["author_key"],
        author_name=r["author_name"],
        author_handle=r["author_handle"],
        subject=r["subject"],
        text=r["text"],
        html=r["html"],
        sent_at=from_db_time(r["sent_at"]),
        attachments=tuple(
            Attachment(a.get("filename") or "", a.get("content_type") or "", a.get("size"), a.get("url"))
            for a in json.loads(r["attachments"])
        ),
        automated=bool(r["automated"]),
        private=bool(r["private"]),
        reply_to_id=r["reply_to_id"],
        references=tuple(json.loads(r["refs"])),
        thread_key=r["thread_key"],
        meta=json.loads(r["meta"]),
        outbox_state=OutboxState(r["outbox_state"]) if r["outbox_state"] else None,
        outbox_error=r["outbox_error"] or "",
    )
