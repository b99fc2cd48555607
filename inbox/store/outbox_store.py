"""The SQL of the outbox, and what ingest does when one of our own replies comes back.

A reply is written to ``outbox`` together with its outbound row in ``messages`` (linked by
``messages.outbox_id``) before any network call, so the agent sees it at once. When the provider
says it went out, the outbox row, the message's provider id and its thread keys change in one
transaction: a later re-fetch of our own message (Sent folder copy, echo, our tweet) is then a
duplicate by ``(account, provider_id)``.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from inbox.conversations import routing
from inbox.errors import InputError
from inbox.models import (
    Channel,
    Direction,
    Draft,
    Message,
    OutboxItem,
    OutboxState,
    Surface,
)
from inbox.replies.outbox_rows import draft_fields, draft_from_fields, outbox_item_from_row
from inbox.store import conversation_rows
from inbox.store import ingest as ingest_module
from inbox.store.database import Database, from_db_time, to_db_time

log = logging.getLogger(__name__)

#: States of items that still wait for something (shown by ``inbox outbox``).
OPEN_STATES = (OutboxState.QUEUED, OutboxState.SENDING, OutboxState.FAILED, OutboxState.UNCERTAIN)



# -- drafts as JSON -----------------------------------------------------------------------------


def draft_to_json(draft: Draft) -> str:
    """The ``outbox.draft`` text of a draft."""
    return json.dumps(draft_fields(draft), ensure_ascii=False)


def draft_from_json(text: str) -> Draft:
    """The draft an ``outbox.draft`` text holds."""
    return draft_from_fields(json.loads(text))


def _item(row: sqlite3.Row) -> OutboxItem:
    return outbox_item_from_row(dict(row), draft_from_json(row["draft"]), read_time=from_db_time)


def _rows(db: Database, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
    cur = db.conn.cursor()
    cur.row_factory = sqlite3.Row
    return list(cur.execute(sql, list(params)))


# -- writing replies and notes ------------------------------------------------------------------


def _insert_message(db: Database, account_id: str, conversation_id: int, message: Message) -> int:
    """The agent's reply (linked to its outbox item by ``outbox_id``) or note."""
    outbox_id = None if message.private else message.provider_id
    return conversation_rows.insert_message(db, account_id, conversation_id, message, Direction.OUTBOUND, outbox_id=outbox_id)


def _touch_conversation(db: Database, conversation_id: int, message: Message) -> None:
    when = to_db_time(message.sent_at)
    conversation_rows.count_message(db, conversation_id, message, Direction.OUTBOUND, None, when)
    conversation_rows.record_events(db, conversation_id, message, Direction.OUTBOUND, when)


def _require_conversation(db: Database, conversation_id: int) -> None:
    if db.execute("SELECT 1 FROM conversations WHERE id = ?", [conversation_id]).fetchone() is None:
        raise InputError("conversation", f"no conversation with id {conversation_id}")


def queue_reply(db: Database, draft: Draft, message: Message, now: datetime) -> None:
    """Commit the outbox item (queued) and its outbound message row in one transaction."""
    with db.atomic():
        _require_conversation(db, draft.conversation_id)
        stamp = to_db_time(now)
        db.execute(
            """INSERT INTO outbox (id, conversation_id, account_id, state, draft, created_at,
                   updated_at) VALUES (?,?,?,?,?,?,?)""",
            [
                draft.local_id,
                draft.conversation_id,
                draft.account_id,
                OutboxState.QUEUED.value,
                draft_to_json(draft),
                stamp,
                stamp,
            ],
        )
        _insert_message(db, draft.account_id, draft.conversation_id, message)
        keys = routing.thread_keys(draft.account_id, message)
        for key in keys:
            # Our own id is ours; the ids we answer already belong to this thread.
            db.execute(
                "INSERT OR IGNORE INTO thread_keys (key, conversation_id) VALUES (?, ?)",
                [key, draft.conversation_id],
            )
        _touch_conversation(db, draft.conversation_id, message)


def add_note(db: Database, account_id: str, conversation_id: int, message: Message) -> int:
    """Store a private note (never sent) in its conversation; returns the message row id."""
    with db.atomic():
        _require_conversation(db, conversation_id)
        message_id = _insert_message(db, account_id, conversation_id, message)
        _touch_conversation(db, conversation_id, message)
    return message_id


# -- reading and changing items -----------------------------------------------------------------


def items(db: Database, states: Sequence[OutboxState] = OPEN_STATES) -> list[OutboxItem]:
    """Items in ``states``, oldest first: the order replies must go out in."""
    marks = ",".join("?" * len(states)) or "''"
    rows = _rows(
        db,
        f"SELECT * FROM outbox WHERE state IN ({marks}) ORDER BY created_at, rowid",
        [s.value for s in states],
    )
    return [_item(r) for r in rows]


def item(db: Database, item_id: str) -> OutboxItem | None:
    rows = _rows(db, "SELECT * FROM outbox WHERE id = ?", [item_id])
    return _item(rows[0]) if rows else None


def resolve_id(db: Database, ref: str) -> str:
    """The id of the item ``ref`` names: its id or a unique beginning of it (``inbox.`` optional)."""
    ref = ref.strip()
    if not ref:
        raise InputError("outbox id", "empty")
    if item(db, ref) is not None:
        return ref
    like = ref.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    rows = _rows(
        db,
        "SELECT id FROM outbox WHERE id LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\' LIMIT 3",
        [like + "%", "inbox." + like + "%"],
    )
    if not rows:
        raise InputError("outbox id", f"no outbox item {ref}")
    if len(rows) > 1:
        raise InputError("outbox id", f"{ref} names more than one item; give more of it")
    return str(rows[0]["id"])


def set_state(
    db: Database,
    item_id: str,
    state: OutboxState,
    now: datetime,
    *,
    error: str = "",
    attempts: int | None = None,
) -> None:
    with db.atomic():
        db.execute(
            """UPDATE outbox SET state = ?, last_error = ?, updated_at = ?,
                   attempts = COALESCE(?, attempts) WHERE id = ?""",
            [state.value, error, to_db_time(now), attempts, item_id],
        )


def mark_sent(db: Database, item_id: str, provider_id: str, now: datetime) -> None:
    """The item went out as ``provider_id``: outbox, message id and thread keys in one go."""
    with db.atomic():
        rows = _rows(db, "SELECT * FROM messages WHERE outbox_id = ?", [item_id])
        db.execute(
            """UPDATE outbox SET state = ?, provider_id = ?, last_error = '', updated_at = ?
               WHERE id = ?""",
            [OutboxState.SENT.value, provider_id, to_db_time(now), item_id],
        )
        if not rows:
            return
        row = rows[0]
        if row["provider_id"] == provider_id:
            return
        clash = db.execute(
            "SELECT id, conversation_id FROM messages WHERE account_id = ? AND provider_id = ? AND id != ?",
            [row["account_id"], provider_id, row["id"]],
        ).fetchone()
        if clash is not None:
            # Our own message came back from a fetch before we recorded the send: keep ours.
            _delete_message(db, int(clash[0]), int(clash[1]))
        db.execute("UPDATE messages SET provider_id = ? WHERE id = ?", [provider_id, row["id"]])
        if row["channel"] == Channel.EMAIL.value or row["surface"] == Surface.EMAIL.value:
            db.execute(
                "INSERT OR IGNORE INTO thread_keys (key, conversation_id) VALUES (?, ?)",
                [routing.message_id_key(provider_id), row["conversation_id"]],
            )


def _delete_message(db: Database, message_id: int, conversation_id: int) -> None:
    db.execute("DELETE FROM messages WHERE id = ?", [message_id])
    left = db.execute(
        "SELECT COUNT(*) FROM messages WHERE conversation_id = ?", [conversation_id]
    ).fetchone()
    if left is not None and int(left[0]) == 0:
        for table in ("events", "thread_keys", "conversation_tags", "sla_log", "drafts"):
            db.execute(f"DELETE FROM {table} WHERE conversation_id = ?", [conversation_id])
        db.execute("DELETE FROM conversations WHERE id = ?", [conversation_id])
    else:
        conversation_rows.refresh_aggregates(db, conversation_id)


def drop(db: Database, item_id: str) -> None:
    """Forget an unsent item and its message row (the agent decided not to send it)."""
    with db.atomic():
        found = item(db, item_id)
        if found is None:
            raise InputError("outbox id", f"no outbox item {item_id}")
        if found.state in (OutboxState.SENT, OutboxState.SENDING):
            raise InputError("outbox id", f"{item_id} is {found.state.value}; it cannot be dropped")
        for mid, cid in db.execute(
            "SELECT id, conversation_id FROM messages WHERE outbox_id = ?", [item_id]
        ).fetchall():
            db.execute(
                "DELETE FROM events WHERE conversation_id = ? AND kind = 'reply' AND value = ?",
                [cid, item_id],
            )
            db.execute("DELETE FROM messages WHERE id = ?", [mid])
            conversation_rows.refresh_aggregates(db, int(cid))
        db.execute("DELETE FROM thread_keys WHERE key = ?", [routing.message_id_key(item_id)])
        db.execute("DELETE FROM outbox WHERE id = ?", [item_id])


# -- our own replies coming back in a fetch or an import ------------------------------------------


def own_reply(db: Database, now: datetime) -> ingest_module.OwnReply:
    """What ``ingest`` does with one of our replies found again: a copy of a reply whose send was
    in doubt proves it went out."""

    def found(item_id: str, provider_id: str) -> None:
        row = db.execute("SELECT state FROM outbox WHERE id = ?", [item_id]).fetchone()
        if row is not None and row[0] in (OutboxState.SENDING.value, OutboxState.UNCERTAIN.value):
            log.info("outbox item %s found in the mailbox: it was sent", item_id)
            mark_sent(db, item_id, provider_id, now)

    return found
