"""The rows of the team replica: server JSON written into the store's tables, provisional rows
of intents not yet confirmed, the rebase of pending intents, removal and kept drafts.

Helpers of :mod:`inbox.store.replica`, each run inside the caller's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from inbox.models import EventKind
from inbox.store.database import Database, to_db_time

_OUTBOX_STATES = {"queued": "queued", "sending": "sending", "sent": "sent", "failed": "failed", "unknown": "uncertain"}


def _time(value: str | None) -> str | None:
    """A server time (RFC 3339) as the store's fixed-width UTC text."""
    return None if value is None else to_db_time(datetime.fromisoformat(value))



def _ensure_account(db: Database, account_id: str, now: datetime, channel: str | None = None) -> None:
    kind = channel or account_id.split(":", 1)[0]
    db.execute(
        "INSERT OR IGNORE INTO accounts (id, channel, name, created_at) VALUES (?, ?, ?, ?)",
        [account_id, kind, account_id.split(":", 1)[-1], to_db_time(now)],
    )


def _upsert_customer(db: Database, customer: Mapping[str, Any]) -> None:
    cid = int(customer["id"])
    if customer.get("crm_number"):
        db.execute("UPDATE customers SET crm_number = NULL WHERE crm_number = ? AND id != ?", [customer["crm_number"], cid])
    db.execute(
        """INSERT INTO customers (id, display_name, crm_number, notes, vip, created_at)
           VALUES (?, ?, ?, ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
           ON CONFLICT(id) DO UPDATE SET display_name = excluded.display_name, crm_number = excluded.crm_number,
             notes = excluded.notes, vip = excluded.vip""",
        [cid, customer["display_name"], customer.get("crm_number"), customer.get("notes", ""), int(bool(customer.get("vip")))],
    )
    for ident in customer.get("identities", []):
        iid = int(ident["id"])
        clash = db.execute(
            "SELECT id FROM identities WHERE kind = ? AND key = ? AND id != ?", [ident["kind"], ident["key"], iid]
        ).fetchone()
        if clash is not None:
            db.execute("UPDATE messages SET identity_id = NULL WHERE identity_id = ?", [clash[0]])
            db.execute("DELETE FROM link_suggestions WHERE identity_id = ?", [clash[0]])
            db.execute("DELETE FROM identities WHERE id = ?", [clash[0]])
        db.execute(
            """INSERT INTO identities (id, kind, key, handle, display_name, customer_id, followers, avatar_url)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET kind = excluded.kind, key = excluded.key, handle = excluded.handle,
                 display_name = excluded.display_name, customer_id = excluded.customer_id,
                 followers = excluded.followers, avatar_url = excluded.avatar_url""",
            [iid, ident["kind"], ident["key"], ident.get("handle", ""), ident.get("display_name", ""),
             ident.get("customer_id"), ident.get("followers"), ident.get("avatar_url")],
        )  # fmt: skip


def _upsert_conversation(db: Database, conv: Mapping[str, Any]) -> None:
    cid = int(conv["id"])
    customer_id = conv.get("customer_id")
    if customer_id is not None and db.execute("SELECT 1 FROM customers WHERE id = ?", [customer_id]).fetchone() is None:
        db.execute(
            "INSERT INTO customers (id, display_name, created_at) VALUES (?, ?, ?)",
            [customer_id, conv.get("customer_name", ""), _time(conv["created_at"])],
        )
    db.execute(
        """INSERT INTO conversations (id, channel, account_id, surface, subject, status, priority, priority_source,
               assignee, customer_id, created_at, last_message_at, last_inbound_at, message_count, preview,
               noise, score, sla_due_at, sla_state)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
           ON CONFLICT(id) DO UPDATE SET channel = excluded.channel, account_id = excluded.account_id,
             surface = excluded.surface, subject = excluded.subject, status = excluded.status,
             priority = excluded.priority, priority_source = excluded.priority_source, assignee = excluded.assignee,
             customer_id = excluded.customer_id, created_at = excluded.created_at,
             last_message_at = excluded.last_message_at, last_inbound_at = excluded.last_inbound_at,
             message_count = excluded.message_count, preview = excluded.preview, noise = excluded.noise,
             score = excluded.score, sla_due_at = excluded.sla_due_at, sla_state = excluded.sla_state""",
        [cid, conv["channel"], conv["account_id"], conv.get("surface"), conv.get("subject", ""), conv["status"],
         conv["priority"], conv.get("priority_source", "auto"), conv.get("assignee"), customer_id,
         _time(conv["created_at"]), _time(conv["last_message_at"]), _time(conv.get("last_inbound_at")),
         int(conv.get("message_count", 0)), conv.get("preview", ""), int(bool(conv.get("noise"))), conv.get("score"),
         _time(conv.get("sla_due_at")), conv.get("sla_state")],
    )  # fmt: skip
    tags = sorted(set(conv.get("tags", [])))
    db.execute(
        f"DELETE FROM conversation_tags WHERE conversation_id = ? AND tag NOT IN ({','.join('?' * len(tags))})",
        [cid, *tags],
    )
    for tag in tags:
        db.execute("INSERT OR IGNORE INTO conversation_tags (conversation_id, tag) VALUES (?, ?)", [cid, tag])


def _upsert_messages(db: Database, messages: Iterable[Mapping[str, Any]], conversations: set[int]) -> list[Mapping[str, Any]]:
    """Write messages whose conversation the replica has; returns those it did not have."""
    new: list[Mapping[str, Any]] = []
    for m in messages:
        if int(m["conversation_id"]) not in conversations:
            continue
        mid = int(m["id"])
        if db.execute("SELECT 1 FROM messages WHERE id = ?", [mid]).fetchone() is None:
            new.append(m)
        outbox_id = None
        if m.get("outbox_id") is not None:
            outbox_id = f"server:{m['outbox_id']}"
            state = _OUTBOX_STATES.get(str(m.get("outbox_state") or "queued"), "queued")
            stamp = _time(m["sent_at"])
            db.execute(
                """INSERT INTO outbox (id, conversation_id, account_id, state, draft, created_at, updated_at)
                   VALUES (?, ?, ?, ?, '{}', ?, ?)
                   ON CONFLICT(id) DO UPDATE SET state = excluded.state, conversation_id = excluded.conversation_id""",
                [outbox_id, m["conversation_id"], m["account_id"], state, stamp, stamp],
            )
        identity_id = m.get("identity_id")
        if identity_id is not None and db.execute("SELECT 1 FROM identities WHERE id = ?", [identity_id]).fetchone() is None:
            identity_id = None  # its customer was not sent with this page; the author's name is on the row
        meta = dict(m.get("meta") or {})
        if m.get("author_agent"):
            meta["agent"] = m["author_agent"]
        if m.get("version"):
            meta["version"] = m["version"]  # the conversation version it entered at: the reply's stale guard
        db.execute(
            """INSERT INTO messages (id, account_id, provider_id, conversation_id, channel, surface, direction,
                   identity_id, author_key, author_name, author_handle, subject, text, html, sent_at, reply_to_id,
                   refs, recipients, attachments, automated, private, meta, thread_key, outbox_id, lang, sentiment)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT(id) DO UPDATE SET conversation_id = excluded.conversation_id, surface = excluded.surface,
                 identity_id = excluded.identity_id, author_name = excluded.author_name, subject = excluded.subject,
                 text = excluded.text, html = excluded.html, sent_at = excluded.sent_at, meta = excluded.meta,
                 outbox_id = excluded.outbox_id, lang = excluded.lang, sentiment = excluded.sentiment,
                 private = excluded.private""",
            [mid, m["account_id"], m["provider_id"], m["conversation_id"], m["channel"], m["surface"], m["direction"],
             identity_id, m.get("author_key", ""), m.get("author_name", ""), m.get("author_handle", ""),
             m.get("subject"), m.get("text", ""), m.get("html"), _time(m["sent_at"]), m.get("reply_to_id"),
             json.dumps(m.get("refs", [])), json.dumps(m.get("recipients", [])), json.dumps(m.get("attachments", [])),
             int(bool(m.get("automated"))), int(bool(m.get("private"))), json.dumps(meta), m.get("thread_key"),
             outbox_id, m.get("lang"), m.get("sentiment")],
        )  # fmt: skip
    return new


_CHANGE_EVENTS = {
    "status": EventKind.STATUS,
    "priority": EventKind.PRIORITY,
    "assign": EventKind.ASSIGNED,
    "tag_add": EventKind.TAG_ADDED,
    "tag_remove": EventKind.TAG_REMOVED,
    "identity_link": EventKind.CUSTOMER,
    "identity_unlink": EventKind.CUSTOMER,
    "identity_merge": EventKind.CUSTOMER,
}


def _replace_events(db: Database, conversations: Iterable[int], events: Iterable[Mapping[str, Any]]) -> None:
    """The server's whole event log of these conversations replaces the replica's (the thread's
    SLA panel and reports replay it; the server computes the queue's deadlines itself)."""
    ids = sorted(set(conversations))
    if not ids:
        return
    db.execute(f"DELETE FROM events WHERE conversation_id IN ({','.join('?' * len(ids))})", ids)
    for e in events:
        if int(e["conversation_id"]) in ids:
            db.execute(
                "INSERT OR REPLACE INTO events (id, conversation_id, kind, at, actor, value) VALUES (?, ?, ?, ?, ?, ?)",
                [int(e["id"]), e["conversation_id"], e["kind"], _time(e["at"]), e.get("actor", ""), e.get("value", "")],
            )


def _add_events(db: Database, conversations: Iterable[int], events: Iterable[Mapping[str, Any]]) -> None:
    """Events the server wrote since the replica's cursor, added to its log (by id: a merge's
    events moved in replace the same rows under their old conversation)."""
    ids = set(conversations)
    for e in events:
        if int(e["conversation_id"]) in ids:
            db.execute(
                "INSERT OR REPLACE INTO events (id, conversation_id, kind, at, actor, value) VALUES (?, ?, ?, ?, ?, ?)",
                [int(e["id"]), e["conversation_id"], e["kind"], _time(e["at"]), e.get("actor", ""), e.get("value", "")],
            )


def _derive_events(
    db: Database,
    changes: Iterable[Mapping[str, Any]],
    conversations: Mapping[int, Mapping[str, Any]],
    new_messages: Iterable[Mapping[str, Any]],
) -> None:
    """For a server that sends no event log with its pages: the history derived from what it
    sent, one event per new message, one per change of status, priority, assignee, tag or
    customer."""
    for m in new_messages:
        if m["direction"] == "in":
            kind = EventKind.MESSAGE_IN
        elif m.get("private"):
            kind = EventKind.NOTE
        else:
            kind = EventKind.AUTO_REPLY if m.get("automated") else EventKind.REPLY
        if kind is EventKind.MESSAGE_IN and m.get("automated"):
            continue
        db.execute(
            "INSERT INTO events (conversation_id, kind, at, actor, value) VALUES (?, ?, ?, ?, '')",
            [m["conversation_id"], kind.value, _time(m["sent_at"]), m.get("author_agent") or ""],
        )
    for change in changes:
        change_kind = _CHANGE_EVENTS.get(str(change.get("kind")))
        cid = change.get("conversation_id")
        if change_kind is None or cid is None or int(cid) not in conversations:
            continue
        conv = conversations[int(cid)]
        value = {
            EventKind.STATUS: conv.get("status"),
            EventKind.PRIORITY: conv.get("priority"),
            EventKind.ASSIGNED: conv.get("assignee") or "",
            EventKind.CUSTOMER: str(conv.get("customer_id") or ""),
        }.get(change_kind, (change.get("payload") or {}).get("tag", ""))
        db.execute(
            "INSERT INTO events (conversation_id, kind, at, actor, value) VALUES (?, ?, ?, ?, ?)",
            [cid, change_kind.value, _time(change["at"]), change.get("actor", ""), value or ""],
        )


def _overlay(db: Database, seq: int, intent: Mapping[str, Any]) -> None:
    """The effect of a pending intent on its conversation (reply and note rows are provisional
    messages, written once at enqueue)."""
    kind = intent["type"]
    cid = intent.get("conversation_id")
    if kind == "status":
        db.execute("UPDATE conversations SET status = ? WHERE id = ?", [intent["status"], cid])
    elif kind == "priority":
        db.execute("UPDATE conversations SET priority = ?, priority_source = 'agent' WHERE id = ?", [intent["priority"], cid])
    elif kind == "assign":
        db.execute("UPDATE conversations SET assignee = ? WHERE id = ?", [intent.get("assignee"), cid])
    elif kind == "tag_add":
        db.execute("INSERT OR IGNORE INTO conversation_tags (conversation_id, tag) VALUES (?, ?)", [cid, intent["tag"]])
    elif kind == "tag_remove":
        db.execute("DELETE FROM conversation_tags WHERE conversation_id = ? AND tag = ?", [cid, intent["tag"]])
    elif kind == "reply":
        db.execute("UPDATE conversations SET status = 'open' WHERE id = ? AND status = 'new'", [cid])


def _rebase(db: Database, conversations: set[int]) -> None:
    if not conversations:
        return
    marks = ",".join("?" * len(conversations))
    rows = db.execute(
        f"SELECT seq, body FROM team_intents WHERE state = 'pending' AND conversation_id IN ({marks}) ORDER BY seq",
        sorted(conversations),
    ).fetchall()
    for seq, body in rows:
        _overlay(db, int(seq), json.loads(body))


def _provisional_message(db: Database, seq: int, client_id: str, intent: Mapping[str, Any], stamp: str) -> None:
    row = db.execute(
        "SELECT account_id, channel, surface, subject FROM conversations WHERE id = ?", [intent["conversation_id"]]
    ).fetchone()
    if row is None:
        from inbox.errors import InputError

        raise InputError("conversation", f"no conversation with id {intent['conversation_id']}")
    account_id, channel, surface, subject = row
    note = intent["type"] == "note"
    agent = db.execute("SELECT agent, display_name FROM team_state WHERE id = 1").fetchone()
    outbox_id = None
    if not note:
        outbox_id = f"team:{seq}"
        db.execute(
            """INSERT INTO outbox (id, conversation_id, account_id, state, draft, created_at, updated_at)
               VALUES (?, ?, ?, 'queued', '{}', ?, ?)""",
            [outbox_id, intent["conversation_id"], account_id, stamp, stamp],
        )
    db.execute(
        """INSERT INTO messages (id, account_id, provider_id, conversation_id, channel, surface, direction,
               author_name, subject, text, sent_at, private, meta, outbox_id)
           VALUES (?, ?, ?, ?, ?, ?, 'out', ?, ?, ?, ?, ?, ?, ?)""",
        [-seq, account_id, f"team-pending:{client_id}:{seq}", intent["conversation_id"], channel,
         "note" if note else (surface or "email"), (agent[1] or agent[0]) if agent else "", None if note else subject,
         intent["text"], stamp, int(note), json.dumps({"team_seq": seq}), outbox_id],
    )  # fmt: skip


def _drop_provisional(db: Database, seq: int) -> None:
    db.execute("DELETE FROM messages WHERE id = ?", [-seq])
    db.execute("DELETE FROM outbox WHERE id = ?", [f"team:{seq}"])


def _keep_as_draft(db: Database, conversation_id: int, text: str, stamp: str) -> None:
    """A refused reply's text goes back to the conversation's draft (after what is there)."""
    if not text.strip():
        return
    if db.execute("SELECT 1 FROM conversations WHERE id = ?", [conversation_id]).fetchone() is None:
        db.execute(
            """INSERT INTO team_kept_drafts (conversation_id, text, updated_at, server_url) VALUES (?, ?, ?, ?)
               ON CONFLICT(conversation_id) DO UPDATE SET text = team_kept_drafts.text || char(10) || excluded.text""",
            [conversation_id, text, stamp, _server(db)],
        )
        return
    row = db.execute("SELECT text FROM drafts WHERE conversation_id = ?", [conversation_id]).fetchone()
    current = str(row[0]) if row else ""
    if text in current:
        return
    merged = f"{current}\n{text}" if current.strip() else text
    db.execute(
        "INSERT OR REPLACE INTO drafts (conversation_id, text, updated_at) VALUES (?, ?, ?)",
        [conversation_id, merged, stamp],
    )


def _delete_conversation(db: Database, conversation_id: int, now: datetime) -> None:
    """Remove a conversation and everything of it from the replica, keeping the agent's draft."""
    stamp = to_db_time(now)
    row = db.execute("SELECT text FROM drafts WHERE conversation_id = ?", [conversation_id]).fetchone()
    if row is not None and str(row[0]).strip():
        db.execute(
            "INSERT OR REPLACE INTO team_kept_drafts (conversation_id, text, updated_at, server_url) VALUES (?, ?, ?, ?)",
            [conversation_id, row[0], stamp, _server(db)],
        )
    db.execute(
        "DELETE FROM attachment_files WHERE message_id IN (SELECT id FROM messages WHERE conversation_id = ?)",
        [conversation_id],
    )
    db.execute("DELETE FROM messages WHERE conversation_id = ?", [conversation_id])
    db.execute("DELETE FROM outbox WHERE conversation_id = ?", [conversation_id])
    db.execute("DELETE FROM conversations WHERE id = ?", [conversation_id])


def _server(db: Database) -> str:
    row = db.execute("SELECT server_url FROM team_state WHERE id = 1").fetchone()
    return str(row[0]) if row else ""


def _keep_unsent(db: Database, now: datetime) -> None:
    stamp = to_db_time(now)
    db.execute(
        """INSERT OR REPLACE INTO team_kept_drafts (conversation_id, text, updated_at, server_url)
           SELECT conversation_id, text, updated_at, ? FROM drafts WHERE trim(text) != ''""",
        [_server(db)],
    )
    for conversation_id, body in db.execute(
        "SELECT conversation_id, body FROM team_intents WHERE state = 'pending' AND kind IN ('reply', 'note') ORDER BY seq"
    ).fetchall():
        text = str(json.loads(body).get("text", ""))
        db.execute(
            """INSERT INTO team_kept_drafts (conversation_id, text, updated_at, server_url) VALUES (?, ?, ?, ?)
               ON CONFLICT(conversation_id) DO UPDATE SET text = team_kept_drafts.text || char(10) || excluded.text""",
            [conversation_id, text, stamp, _server(db)],
        )


def _restore_kept_drafts(db: Database, conversations: set[int], now: datetime) -> None:
    """Drafts kept at a sign-out come back with their conversation."""
    server = _server(db)
    for conversation_id in sorted(conversations):
        row = db.execute(
            "SELECT text FROM team_kept_drafts WHERE conversation_id = ? AND server_url = ?", [conversation_id, server]
        ).fetchone()
        if row is None:
            continue
        if db.execute("SELECT 1 FROM drafts WHERE conversation_id = ?", [conversation_id]).fetchone() is None:
            db.execute(
                "INSERT INTO drafts (conversation_id, text, updated_at) VALUES (?, ?, ?)",
                [conversation_id, row[0], to_db_time(now)],
            )
        db.execute("DELETE FROM team_kept_drafts WHERE conversation_id = ?", [conversation_id])


def _purge(db: Database, now: datetime) -> None:
    """Every replica row; the kept drafts stay."""
    _keep_unsent_drafts_only(db, now)
    for table in (
        "link_suggestions", "attachment_files", "sla_log", "events", "drafts", "conversation_tags", "thread_keys",
        "messages", "outbox", "conversations", "identities", "customers", "alerts", "notifications_sent", "accounts",
    ):  # fmt: skip
        db.execute(f"DELETE FROM {table}")


def _keep_unsent_drafts_only(db: Database, now: datetime) -> None:
    db.execute(
        """INSERT OR IGNORE INTO team_kept_drafts (conversation_id, text, updated_at, server_url)
           SELECT conversation_id, text, updated_at, ? FROM drafts WHERE trim(text) != ''""",
        [_server(db)],
    )
