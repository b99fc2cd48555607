"""The rows a message touches besides ingest's batch cache: the message row itself (one INSERT,
for arriving messages and for the agent's replies and notes), its conversation's counters, the
events it produces (``conversations.arrival.events_of``), and merging two conversations. Used by
ingest, the outbox (replies, notes), the changes an agent makes and analytics."""

from __future__ import annotations

import json
from collections.abc import Sequence

from inbox.conversations import arrival
from inbox.models import (
    Author,
    Direction,
    EventKind,
    Message,
)
from inbox.store.database import Database, to_db_time


def scalar(db: Database, sql: str, params: Sequence[object]) -> object:
    row = db.conn.execute(sql, list(params)).fetchone()
    return None if row is None else row[0]


def insert_message(
    db: Database,
    account_id: str,
    conversation_id: int,
    message: Message,
    direction: Direction,
    *,
    provider_id: str | None = None,
    identity_id: int | None = None,
    digest: str | None = None,
    outbox_id: str | None = None,
    sent_at: str | None = None,
) -> int:
    """The one INSERT of a message row (an arriving message here, a reply or note written by the
    agent in ``outbox_store``); ``provider_id`` when it is not the message's own (a second mail
    under a reused Message-ID), ``sent_at`` its time as stored when the caller has it. Returns
    the row id."""
    cur = db.conn.execute(
        """INSERT INTO messages (account_id, provider_id, conversation_id, channel, surface, direction,
               identity_id, author_key, author_name, author_handle, subject, text, html, sent_at,
               reply_to_id, refs, recipients, attachments, automated, private, meta, content_hash,
               thread_key, outbox_id)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        [
            account_id,
            provider_id if provider_id is not None else message.provider_id,
            conversation_id,
            message.channel.value,
            message.surface.value,
            direction.value,
            identity_id,
            message.author.key,
            message.author.display_name or message.author.handle or message.author.key,
            message.author.handle,
            message.subject,
            message.text,
            message.html,
            sent_at if sent_at is not None else to_db_time(message.sent_at),
            message.reply_to_id,
            json.dumps(list(message.references)) if message.references else "[]",
            json.dumps([author_json(a) for a in message.recipients]) if message.recipients else "[]",
            json.dumps(
                [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size, "url": a.url}
                    for a in message.attachments
                ]
            )
            if message.attachments
            else "[]",  # most messages: no encoder call for an empty list
            int(message.automated),
            int(message.private),
            json.dumps(dict(message.meta)),
            digest if digest is not None else arrival.content_hash(message),
            message.thread_key,
            outbox_id,
        ],
    )
    return int(cur.lastrowid or 0)


def author_json(author: Author) -> dict[str, object]:
    return {"kind": author.kind.value, "key": author.key, "handle": author.handle, "name": author.display_name}


def first_line(text: str, limit: int = 120) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def merge_conversations(db: Database, target: int, absorbed: int) -> None:
    """Move everything of ``absorbed`` into ``target`` (a message showed they are one thread)."""
    for table in ("messages", "events", "thread_keys", "sla_log", "outbox"):
        db.conn.execute(f"UPDATE {table} SET conversation_id = ? WHERE conversation_id = ?", [target, absorbed])
    db.conn.execute(
        "INSERT OR IGNORE INTO conversation_tags (conversation_id, tag) SELECT ?, tag FROM conversation_tags WHERE conversation_id = ?",
        [target, absorbed],
    )
    db.conn.execute("DELETE FROM drafts WHERE conversation_id = ?", [absorbed])
    db.conn.execute("DELETE FROM conversations WHERE id = ?", [absorbed])
    refresh_aggregates(db, target)


def refresh_aggregates(db: Database, conversation_id: int) -> None:
    db.conn.execute(
        """UPDATE conversations SET
             message_count = (SELECT COUNT(*) FROM messages WHERE conversation_id = :id),
             created_at = MIN(created_at, COALESCE((SELECT MIN(sent_at) FROM messages WHERE conversation_id = :id), created_at)),
             last_message_at = COALESCE((SELECT MAX(sent_at) FROM messages WHERE conversation_id = :id), last_message_at),
             last_inbound_at = (SELECT MAX(sent_at) FROM messages WHERE conversation_id = :id AND direction = 'in')
           WHERE id = :id""",
        {"id": conversation_id},
    )


def count_message(
    db: Database,
    conversation_id: int,
    message: Message,
    direction: Direction,
    customer_id: int | None,
    when: str,
    person: bool = False,
) -> str:
    """Count the message in its conversation; returns the conversation's status after it.

    ``person``: a person wrote in an existing thread, so a thread that held only noise becomes a
    real conversation (status "new")."""
    preview = first_line(message.text, 160)
    inbound = direction is Direction.INBOUND
    row = db.conn.execute(
        """UPDATE conversations SET
             noise = CASE WHEN :person THEN 0 ELSE noise END,
             status = CASE WHEN :person AND noise = 1 THEN 'new' ELSE status END,
             message_count = message_count + 1,
             preview = CASE WHEN :when >= last_message_at OR message_count = 0 THEN :preview ELSE preview END,
             last_message_at = MAX(last_message_at, :when),
             created_at = MIN(created_at, :when),
             last_inbound_at = CASE WHEN :inbound THEN MAX(COALESCE(last_inbound_at, ''), :when) ELSE last_inbound_at END,
             customer_id = COALESCE(customer_id, :customer)
           WHERE id = :id RETURNING status""",
        {
            "person": int(person),
            "when": when,
            "preview": preview,
            "inbound": int(inbound),
            "customer": customer_id,
            "id": conversation_id,
        },
    ).fetchone()
    return str(row[0])


def record_events(
    db: Database,
    conversation_id: int,
    message: Message,
    direction: Direction,
    when: str,
    status: str | None = None,
) -> None:
    if status is None:
        status = str(scalar(db, "SELECT status FROM conversations WHERE id = ?", [conversation_id]))
    produced = arrival.events_of(message, direction, status)
    for kind, actor, value in produced.events:
        add_event(db, conversation_id, kind, when, actor, value)
    if produced.opens:
        db.conn.execute("UPDATE conversations SET status = 'open' WHERE id = ?", [conversation_id])


def add_event(db: Database, conversation_id: int, kind: EventKind, when: str, actor: str, value: str) -> None:
    db.conn.execute(
        "INSERT INTO events (conversation_id, kind, at, actor, value) VALUES (?,?,?,?,?)",
        [conversation_id, kind.value, when, actor, value],
    )
