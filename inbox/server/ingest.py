"""A fetched page becomes rows in PostgreSQL: deduplicated, routed, linked, logged, in the caller's
transaction (which also holds the account's lease guard and moves the cursor).

The rules are the solo store's (``inbox/store/ingest.py``) on the same columns: the key of a
message is ``(account_id, provider_id)``; an email whose Message-ID is stored with other content is
kept under the id plus a content hash; our own messages coming back are outbound; the author's
identity and customer are found or created; :mod:`inbox.conversations.routing` picks the conversation (merging
two when a message shows they are one thread; a closed one never reopens); events are appended as
the SLA engine expects them. Conversations are locked (``FOR UPDATE``) before a message is added,
so message ids within a conversation increase in commit order (the stale-reply check relies on it).
Every message added writes a ``change_log`` row in the same transaction; the caller NOTIFYs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from inbox.conversations import arrival, routing
from inbox.conversations import identity as identity_rules
from inbox.models import Account, Author, Direction, EventKind, Message, Status
from inbox.server.changes import change_notice

Conn = psycopg.Connection[DictRow]


@dataclass
class IngestResult:
    """What a page changed (the sync service's ``IngestOutcome``)."""

    added: int = 0
    duplicates: int = 0
    ignored: int = 0
    conversations: set[int] = field(default_factory=set)
    new_conversations: set[int] = field(default_factory=set)
    seqs: list[int] = field(default_factory=list)
    stamp: dict[str, Any] = field(default_factory=dict)  # added to every change's payload (the lease epoch)




def first_line(text: str, limit: int = 120) -> str:
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def author_json(author: Author) -> dict[str, Any]:
    return {"kind": author.kind.value, "key": author.key, "handle": author.handle, "name": author.display_name}


def record_change(
    conn: Conn,
    kind: str,
    *,
    account_id: str | None,
    conversation_id: int | None = None,
    actor: str = "",
    message_ids: Sequence[int] = (),
    customer_ids: Sequence[int] = (),
    payload: dict[str, Any] | None = None,
) -> int:
    """One ``change_log`` row in the caller's transaction (the same shape as
    ``inbox.server.changes.record_change`` writes); returns its seq. The caller NOTIFYs once."""
    body = dict(payload or {})
    if message_ids:
        body["message_ids"] = sorted(set(message_ids))
    if customer_ids:
        body["customer_ids"] = sorted(set(customer_ids))
    row = conn.execute(
        """INSERT INTO change_log (kind, conversation_id, account_id, payload, actor)
           VALUES (%s, %s, %s, %s, %s) RETURNING seq""",
        [kind, conversation_id, account_id, Jsonb(body), actor],
    ).fetchone()
    assert row is not None
    return int(row["seq"])


def notify_changes(conn: Conn, seqs: Sequence[int], account_id: str | None = None) -> None:
    """NOTIFY inbox_changes with the newest seq (delivered at commit, dropped on rollback), and
    the account when every change is of that one account (pushed to its members only)."""
    if seqs:
        conn.execute("SELECT pg_notify('inbox_changes', %s)", [change_notice(max(seqs), account_id)])


def ingest_message(conn: Conn, account: Account, message: Message, result: IngestResult, actor: str) -> None:
    """Store one message (the caller holds a savepoint around it)."""
    if arrival.not_kept(message):
        result.ignored += 1
        return
    direction = arrival.direction_of(account, message)
    digest = arrival.content_hash(message)
    provider_id = message.provider_id
    row = conn.execute(
        "SELECT id, content_hash, conversation_id FROM messages WHERE account_id = %s AND provider_id = %s",
        [account.id, provider_id],
    ).fetchone()
    if row is not None:
        if row["content_hash"] != digest and message.meta.get("edited") == "1":
            # The customer edited their message: keep one message with the latest text.
            conn.execute(
                "UPDATE messages SET text = %s, content_hash = %s, meta = %s WHERE id = %s",
                [message.text, digest, Jsonb(dict(message.meta)), row["id"]],
            )
            result.seqs.append(
                record_change(conn, "message", account_id=account.id, conversation_id=int(row["conversation_id"]),
                              actor=actor, message_ids=[int(row["id"])], payload=result.stamp)
            )  # fmt: skip
            result.duplicates += 1
            return
        if row["content_hash"] == digest or message.channel.value != "email":
            result.duplicates += 1
            return
        provider_id = f"{provider_id}#{digest[:12]}"
        if conn.execute(
            "SELECT 1 FROM messages WHERE account_id = %s AND provider_id = %s", [account.id, provider_id]
        ).fetchone():
            result.duplicates += 1
            return

    identity_id: int | None = None
    customer_id: int | None = None
    if direction is Direction.INBOUND and message.author.key:
        identity_id, customer_id = _identity(conn, message.author)
    elif direction is Direction.OUTBOUND and message.recipients:
        _rid, customer_id = _identity(conn, message.recipients[0])

    keys = routing.thread_keys(account.id, message)
    conversation_id, existing = _route(conn, account, message, keys, customer_id, direction, result, actor)
    row = conn.execute(
        """INSERT INTO messages (account_id, provider_id, conversation_id, channel, surface, direction,
               identity_id, author_key, author_name, author_handle, subject, text, html, sent_at,
               reply_to_id, refs, recipients, attachments, automated, private, meta, content_hash, thread_key)
           VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) RETURNING id""",
        [
            account.id,
            provider_id,
            conversation_id,
            message.channel.value,
            message.surface.value,
            direction.value,
            identity_id,
            message.author.key,
            message.author.display_name or message.author.handle or message.author.key,
            message.author.handle,
            message.subject,
            message.text.replace("\x00", ""),
            None if message.html is None else message.html.replace("\x00", ""),
            message.sent_at,
            message.reply_to_id,
            Jsonb(list(message.references)),
            Jsonb([author_json(a) for a in message.recipients]),
            Jsonb(
                [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size, "url": a.url}
                    for a in message.attachments
                ]
            ),
            message.automated,
            message.private,
            Jsonb(dict(message.meta)),
            digest,
            message.thread_key,
        ],
    ).fetchone()
    assert row is not None
    message_row_id = int(row["id"])
    for key in keys:
        conn.execute(
            """INSERT INTO thread_keys (key, conversation_id) VALUES (%s, %s)
               ON CONFLICT (key) DO UPDATE SET conversation_id = EXCLUDED.conversation_id
               WHERE thread_keys.conversation_id <> EXCLUDED.conversation_id""",
            [key, conversation_id],
        )
    person = existing and (not message.automated or direction is Direction.OUTBOUND)
    status = _count_message(conn, conversation_id, message, message_row_id, direction, customer_id, person)
    record_events(conn, conversation_id, message, direction, status)
    result.added += 1
    result.conversations.add(conversation_id)
    result.seqs.append(
        record_change(conn, "message", account_id=account.id, conversation_id=conversation_id, actor=actor,
                      message_ids=[message_row_id], customer_ids=[customer_id] if customer_id else [],
                      payload=result.stamp)
    )  # fmt: skip


def _inbound(account: Account, message: Message) -> bool:
    own = message.author.key in account.own_keys or (
        message.author.kind.value == "email" and message.author.key.lower() in account.own_keys
    )
    return message.direction is Direction.INBOUND and not own


def lock_identities(conn: Conn, account: Account, messages: Sequence[Message]) -> None:
    """Create and lock, in one order, every identity the page will touch: two pages of different
    accounts that share customers then never lock them in opposite orders (no deadlock)."""
    authors = {
        (a.kind.value, identity_rules.normalise_key(a.kind, a.key)): a
        for m in messages
        for a in ((m.author,) if _inbound(account, m) else ()) + m.recipients[:1]
        if a.key
    }
    if not authors:
        return
    ordered = sorted(authors)
    conn.execute(
        """INSERT INTO identities (kind, key, handle, display_name)
           SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) ON CONFLICT (kind, key) DO NOTHING""",
        [[k for k, _ in ordered], [key for _, key in ordered], [authors[x].handle for x in ordered],
         [authors[x].display_name for x in ordered]],
    )  # fmt: skip
    conn.execute(
        """SELECT i.id FROM identities i JOIN unnest(%s::text[], %s::text[]) AS w(kind, key)
             ON i.kind = w.kind AND i.key = w.key ORDER BY i.kind, i.key FOR UPDATE OF i""",
        [[k for k, _ in ordered], [key for _, key in ordered]],
    )


def _identity(conn: Conn, author: Author) -> tuple[int, int | None]:
    """The identity of ``author`` (created with a new customer when unknown)."""
    key = identity_rules.normalise_key(author.kind, author.key)
    conn.execute(
        """INSERT INTO identities (kind, key, handle, display_name, followers, avatar_url)
           VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (kind, key) DO NOTHING""",
        [author.kind.value, key, author.handle, author.display_name, author.followers, author.avatar_url],
    )
    row = conn.execute(
        """SELECT id, customer_id, handle, display_name, followers, avatar_url FROM identities
           WHERE kind = %s AND key = %s FOR UPDATE""",
        [author.kind.value, key],
    ).fetchone()
    assert row is not None
    identity_id = int(row["id"])
    handle = author.handle or row["handle"]
    name = author.display_name or row["display_name"]
    followers = author.followers if author.followers is not None else row["followers"]
    avatar = author.avatar_url or row["avatar_url"]
    if (handle, name, followers, avatar) != (row["handle"], row["display_name"], row["followers"], row["avatar_url"]):
        conn.execute(
            "UPDATE identities SET handle = %s, display_name = %s, followers = %s, avatar_url = %s WHERE id = %s",
            [handle, name, followers, avatar, identity_id],
        )
    customer_id = row["customer_id"]
    if customer_id is None:
        shown = name or handle or key
        created = conn.execute(
            "INSERT INTO customers (display_name, name_key) VALUES (%s, %s) RETURNING id",
            [shown, identity_rules.comparable_name(shown)],
        ).fetchone()
        assert created is not None
        customer_id = int(created["id"])
        conn.execute("UPDATE identities SET customer_id = %s WHERE id = %s", [customer_id, identity_id])
    return identity_id, int(customer_id)


def _route(
    conn: Conn,
    account: Account,
    message: Message,
    keys: list[str],
    customer_id: int | None,
    direction: Direction,
    result: IngestResult,
    actor: str,
) -> tuple[int, bool]:
    """The conversation of ``message`` (locked), and whether it existed before."""
    candidates: list[routing.Candidate] = []
    if keys:
        for r in conn.execute(
            """SELECT c.id, c.status, c.created_at, c.noise FROM conversations c
               WHERE c.id IN (SELECT conversation_id FROM thread_keys WHERE key = ANY(%s))
               ORDER BY c.id FOR UPDATE OF c""",
            [keys],
        ).fetchall():
            candidates.append(routing.Candidate(int(r["id"]), Status(r["status"]), r["created_at"], bool(r["noise"])))
    if not candidates and customer_id is not None and routing.subject_fallback_allowed(message):
        wanted = routing.normalise_subject(message.subject)
        for r in conn.execute(
            """SELECT id, status, created_at, subject FROM conversations
               WHERE customer_id = %s AND channel = %s AND last_message_at >= %s AND status <> 'closed'
               ORDER BY id FOR UPDATE""",
            [customer_id, message.channel.value, message.sent_at - routing.SUBJECT_WINDOW],
        ).fetchall():
            if routing.normalise_subject(r["subject"]) == wanted:
                candidates.append(routing.Candidate(int(r["id"]), Status(r["status"]), r["created_at"]))
    route = routing.choose(candidates)
    if route.conversation_id is not None:
        for absorbed in route.absorb:
            merge_conversations(conn, route.conversation_id, absorbed, account.id, actor, result)
        return route.conversation_id, True
    status = Status.NEW if direction is Direction.INBOUND else Status.OPEN
    noise = message.automated and direction is Direction.INBOUND
    if noise:
        status = Status.CLOSED  # noise never opens a conversation; kept for search and history
    row = conn.execute(
        """INSERT INTO conversations (channel, account_id, surface, subject, status, priority, customer_id,
               created_at, last_message_at, noise)
           VALUES (%s, %s, %s, %s, %s, 'normal', %s, %s, %s, %s) RETURNING id""",
        [message.channel.value, account.id, message.surface.value, message.subject or first_line(message.text),
         status.value, customer_id, message.sent_at, message.sent_at, noise],
    ).fetchone()  # fmt: skip
    assert row is not None
    conversation_id = int(row["id"])
    result.new_conversations.add(conversation_id)
    return conversation_id, False


def merge_conversations(conn: Conn, target: int, absorbed: int, account_id: str, actor: str,
                        result: IngestResult) -> None:  # fmt: skip
    """Move everything of ``absorbed`` into ``target`` (a message showed they are one thread)."""
    moved = conn.execute("SELECT id FROM messages WHERE conversation_id = %s", [absorbed]).fetchall()
    for table in ("messages", "events", "thread_keys", "sla_log", "outbox"):
        conn.execute(
            psycopg.sql.SQL("UPDATE {} SET conversation_id = %s WHERE conversation_id = %s").format(
                psycopg.sql.Identifier(table)
            ),
            [target, absorbed],
        )
    conn.execute(
        """INSERT INTO conversation_tags (conversation_id, tag)
           SELECT %s, tag FROM conversation_tags WHERE conversation_id = %s ON CONFLICT DO NOTHING""",
        [target, absorbed],
    )
    conn.execute("UPDATE change_log SET conversation_id = %s WHERE conversation_id = %s", [target, absorbed])
    conn.execute("DELETE FROM conversations WHERE id = %s", [absorbed])
    conn.execute(
        """UPDATE conversations c SET
             message_count = agg.n, created_at = least(c.created_at, agg.first),
             last_message_at = greatest(c.last_message_at, agg.last), last_inbound_at = agg.last_in,
             last_message_id = agg.newest, updated_at = now()
           FROM (SELECT count(*) AS n, min(sent_at) AS first, max(sent_at) AS last, max(id) AS newest,
                        max(sent_at) FILTER (WHERE direction = 'in') AS last_in
                 FROM messages WHERE conversation_id = %(id)s) agg
           WHERE c.id = %(id)s""",
        {"id": target},
    )
    result.conversations.discard(absorbed)
    result.new_conversations.discard(absorbed)
    result.seqs.append(
        record_change(conn, "conversation_merged", account_id=account_id, conversation_id=target, actor=actor,
                      message_ids=[int(r["id"]) for r in moved], payload={**result.stamp, "absorbed": absorbed})
    )  # fmt: skip
    # The absorbed conversation is gone: a change of its own tells replicas to drop it (a pull
    # that names a conversation it cannot return means "no longer yours to see").
    result.seqs.append(
        record_change(conn, "conversation_removed", account_id=account_id, conversation_id=absorbed, actor=actor,
                      payload={**result.stamp, "merged_into": target})
    )  # fmt: skip


def _count_message(
    conn: Conn,
    conversation_id: int,
    message: Message,
    message_row_id: int,
    direction: Direction,
    customer_id: int | None,
    person: bool,
) -> str:
    row = conn.execute(
        """UPDATE conversations SET
             status = CASE WHEN %(person)s AND noise THEN 'new' ELSE status END,
             noise = CASE WHEN %(person)s THEN false ELSE noise END,
             preview = CASE WHEN %(when)s >= last_message_at OR message_count = 0 THEN %(preview)s ELSE preview END,
             message_count = message_count + 1,
             last_message_at = greatest(last_message_at, %(when)s),
             created_at = least(created_at, %(when)s),
             last_inbound_at = CASE WHEN %(inbound)s THEN greatest(last_inbound_at, %(when)s)
                                    ELSE last_inbound_at END,
             customer_id = coalesce(customer_id, %(customer)s),
             last_message_id = greatest(last_message_id, %(mid)s),
             updated_at = now()
           WHERE id = %(id)s RETURNING status""",
        {
            "person": person,
            "when": message.sent_at,
            "preview": first_line(message.text, 160),
            "inbound": direction is Direction.INBOUND,
            "customer": customer_id,
            "mid": message_row_id,
            "id": conversation_id,
        },
    ).fetchone()
    assert row is not None
    return str(row["status"])


def _event(conn: Conn, conversation_id: int, kind: EventKind, at: datetime, actor: str, value: str) -> None:
    conn.execute(
        "INSERT INTO events (conversation_id, kind, at, actor, value) VALUES (%s, %s, %s, %s, %s)",
        [conversation_id, kind.value, at, actor, value],
    )


def _set_status(conn: Conn, conversation_id: int, status: Status) -> None:
    conn.execute("UPDATE conversations SET status = %s WHERE id = %s", [status.value, conversation_id])


def record_events(conn: Conn, conversation_id: int, message: Message, direction: Direction, status: str) -> None:
    """A new message's events (``conversations.arrival.events_of``): the SLA engine replays them."""
    produced = arrival.events_of(message, direction, status)
    for kind, actor, value in produced.events:
        _event(conn, conversation_id, kind, message.sent_at, actor, value)
    if produced.opens:
        _set_status(conn, conversation_id, Status.OPEN)
