"""Ingest: the one entry point by which messages become rows, threaded and linked (import, demo
and sync all call ``ingest``). A batch is one transaction; each message in it is a savepoint, so a
message that cannot be stored is rolled back alone and reported as a ``Rejection`` naming it and
the field at fault, while a store failure (disk full, locked) rolls back the whole batch.

Idempotent: the key of a message is (account, provider id); an email whose Message-ID is already
stored with different content is kept under the id plus a content hash, so importing the same data
twice adds nothing and two different mails sharing an id are both kept.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from inbox.conversations import arrival, routing
from inbox.conversations import identity as identity_rules
from inbox.models import (
    Account,
    Author,
    Direction,
    EventKind,
    Message,
    Rejection,
    Status,
)
from inbox.store.database import Database, from_db_time, to_db_time


@dataclass
class IngestResult:
    added: int = 0
    duplicates: int = 0
    ignored: int = 0
    conversations: set[int] = field(default_factory=set)
    new_conversations: set[int] = field(default_factory=set)
    rejections: list[Rejection] = field(default_factory=list)

    def merge(self, other: IngestResult) -> None:
        self.added += other.added
        self.duplicates += other.duplicates
        self.ignored += other.ignored
        self.conversations |= other.conversations
        self.new_conversations |= other.new_conversations
        self.rejections.extend(other.rejections)


#: What one broken message raises inside ingest; anything else (disk full, locked) is the store's.
MESSAGE_FAULTS = (
    sqlite3.IntegrityError,
    sqlite3.InterfaceError,
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
    OverflowError,
)

#: Called with (outbox item id, provider id) when a message is one of our own replies coming back.
OwnReply = Callable[[str, str], None]


def ingest(
    db: Database, account: Account, messages: Sequence[Message], *, own_reply: OwnReply | None = None
) -> IngestResult:
    """Store ``messages`` of ``account`` in one transaction, each message in its own savepoint;
    returns what changed, with a rejection for each message that could not be stored."""
    result = IngestResult()
    with db.atomic():
        batch = _Batch(db)
        for message in messages:
            one = IngestResult()
            batch.begin()
            try:
                with db.atomic():
                    _ingest_one(db, account, message, one, batch, own_reply)
            except MESSAGE_FAULTS as exc:
                batch.undo()
                where = f"{account.id} message {str(message.provider_id)[:80]}"
                reason = " ".join(f"{type(exc).__name__}: {exc}".split())[:200]
                result.rejections.append(Rejection(where, f"not stored ({reason})"))
                continue
            result.merge(one)
        batch.end()
        batch.flush()
    return result


# status, noise, message_count, last_message_at, created_at, last_inbound_at, customer_id, preview
_CONV_COLUMNS = "status, noise, message_count, last_message_at, created_at, last_inbound_at, customer_id, preview"


class _Batch:
    """The conversations a batch touches, kept in memory and written back once at the end.

    A page of a Graph conversation or a maildir thread brings many messages of one conversation
    in one batch; one UPDATE each (with its index changes) was a third of the cost of ingesting.
    Events are inserted in order at the end. Everything is flushed before any query that reads
    conversations other than by id, and before a merge."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.rows: dict[int, list[object]] = {}
        self.dirty: set[int] = set()
        self.events: list[tuple[int, str, str, str, str]] = []
        # Undo journal of the message in flight (its savepoint may be rolled back): each cached
        # row as it was before the message touched it (None: not cached), where its events
        # start, and the dirty rows and events as they were if it flushed them.
        self._saved: dict[int, list[object] | None] = {}
        self._events_at = 0
        self._flushed: tuple[set[int], list[tuple[int, str, str, str, str]]] | None = None

    def begin(self) -> None:
        self._saved = {}
        self._events_at = len(self.events)
        self._flushed = None

    def end(self) -> None:
        self.begin()

    def undo(self) -> None:
        """Forget what the message in flight did to the cache (its savepoint was rolled back)."""
        if self._flushed is not None:  # the rollback undid the flush: those rows are dirty again
            self.dirty, self.events = self._flushed
        del self.events[self._events_at :]
        for cid, old in self._saved.items():
            if old is None:
                self.rows.pop(cid, None)
                self.dirty.discard(cid)
            else:
                self.rows[cid] = old
        self.begin()

    def _keep(self, conversation_id: int) -> None:
        if conversation_id not in self._saved:
            current = self.rows.get(conversation_id)
            self._saved[conversation_id] = None if current is None else list(current)

    def created(self, conversation_id: int, row: list[object]) -> None:
        self._keep(conversation_id)
        self.rows[conversation_id] = row

    def row(self, conversation_id: int) -> list[object]:
        self._keep(conversation_id)
        found = self.rows.get(conversation_id)
        if found is None:
            loaded = self.db.conn.execute(
                f"SELECT {_CONV_COLUMNS} FROM conversations WHERE id = ?", [conversation_id]
            ).fetchone()
            found = self.rows[conversation_id] = list(loaded)
        return found

    def flush(self) -> None:
        conn = self.db.conn
        if self._flushed is None and (self.dirty or self.events):
            self._flushed = (set(self.dirty), list(self.events))
        if self.dirty:
            conn.executemany(
                """UPDATE conversations SET status = ?, noise = ?, message_count = ?, last_message_at = ?,
                     created_at = ?, last_inbound_at = ?, customer_id = ?, preview = ? WHERE id = ?""",
                [(*self.rows[cid], cid) for cid in sorted(self.dirty)],
            )
            self.dirty.clear()
        if self.events:
            conn.executemany(
                "INSERT INTO events (conversation_id, kind, at, actor, value) VALUES (?,?,?,?,?)", self.events
            )
            self.events.clear()

    def forget(self, *conversation_ids: int) -> None:
        for cid in conversation_ids:
            self._keep(cid)
            self.rows.pop(cid, None)

    def count_message(
        self, cid: int, message: Message, direction: Direction, customer_id: int | None, when: str, person: bool
    ) -> str:
        """What ``_update_conversation`` does in SQL, on the cached row; returns the status."""
        row = self.row(cid)
        status, noise, count, last, created, last_in, customer, preview = row
        if person:
            status = "new" if noise == 1 else status
            noise = 0
        if when >= str(last) or count == 0:
            preview = _first_line(message.text, 160)
        if direction is Direction.INBOUND:
            last_in = max(str(last_in or ""), when)
        row[:] = [
            status,
            noise,
            int(str(count)) + 1,
            max(str(last), when),
            min(str(created), when),
            last_in,
            customer if customer is not None else customer_id,
            preview,
        ]
        self.dirty.add(cid)
        return str(status)

    def set_status(self, cid: int, status: str) -> None:
        self.row(cid)[0] = status
        self.dirty.add(cid)

    def event(self, cid: int, kind: EventKind, when: str, actor: str, value: str) -> None:
        self.events.append((cid, kind.value, when, actor, value))


def _scalar(db: Database, sql: str, params: Sequence[object]) -> object:
    row = db.conn.execute(sql, list(params)).fetchone()
    return None if row is None else row[0]


def _ingest_one(
    db: Database,
    account: Account,
    message: Message,
    result: IngestResult,
    batch: _Batch,
    own_reply: OwnReply | None = None,
) -> None:
    provider_id = message.provider_id
    row = db.conn.execute(
        "SELECT content_hash, outbox_id FROM messages WHERE account_id = ? AND provider_id = ?",
        [account.id, provider_id],
    ).fetchone()
    if row is not None and row[1] is not None:
        # One of our own replies coming back: a duplicate, and proof that it went out.
        if own_reply is not None:
            own_reply(str(row[1]), provider_id)
        result.duplicates += 1
        return
    if arrival.not_kept(message):
        result.ignored += 1
        return
    direction = arrival.direction_of(account, message)
    digest = arrival.content_hash(message)
    if row is not None:
        if row[0] != digest and message.meta.get("edited") == "1":
            # The customer edited their message: keep one message with the latest text.
            db.conn.execute(
                "UPDATE messages SET text = ?, content_hash = ?, meta = ? WHERE account_id = ? AND provider_id = ?",
                [message.text, digest, json.dumps(dict(message.meta)), account.id, provider_id],
            )
            result.duplicates += 1
            return
        if row[0] == digest or message.channel.value != "email":
            result.duplicates += 1
            return
        provider_id = f"{provider_id}#{digest[:12]}"
        if _scalar(db, "SELECT 1 FROM messages WHERE account_id = ? AND provider_id = ?", [account.id, provider_id]):
            result.duplicates += 1
            return

    if direction is Direction.INBOUND and not message.author.key:
        identity_id, customer_id = None, None  # the payload withheld the author: link nothing
    elif direction is Direction.INBOUND:
        identity_id, customer_id = _identity(db, message.author, create_customer=True)
    else:
        identity_id = None
        customer_id = None
        if message.recipients:
            _rid, customer_id = _identity(db, message.recipients[0], create_customer=True)

    keys = routing.thread_keys(account.id, message)
    conversation_id, owners, existing = _route(db, account, message, keys, customer_id, direction, result, batch)
    when = to_db_time(message.sent_at)
    insert_message(
        db, account.id, conversation_id, message, direction,
        provider_id=provider_id, identity_id=identity_id, digest=digest,
    )  # fmt: skip
    conn = db.conn
    # Keys already pointing at this conversation (or at one just merged into it) stay as they are.
    fresh = [(key, conversation_id) for key in keys if owners.get(key) != conversation_id]
    if fresh:
        conn.executemany("INSERT OR REPLACE INTO thread_keys (key, conversation_id) VALUES (?, ?)", fresh)
    person = existing and (not message.automated or direction is Direction.OUTBOUND)
    status = batch.count_message(conversation_id, message, direction, customer_id, when, person)
    _batch_events(batch, conversation_id, message, direction, when, status)
    if direction is Direction.INBOUND and identity_id is not None and customer_id is not None:
        _suggest_links(db, identity_id, customer_id, message.text)
    result.added += 1
    result.conversations.add(conversation_id)


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
) -> int:
    """The one INSERT of a message row (an arriving message here, a reply or note written by the
    agent in ``outbox_store``); ``provider_id`` when it is not the message's own (a second mail
    under a reused Message-ID). Returns the row id."""
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
            to_db_time(message.sent_at),
            message.reply_to_id,
            json.dumps(list(message.references)),
            json.dumps([_author_json(a) for a in message.recipients]),
            json.dumps(
                [
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size, "url": a.url}
                    for a in message.attachments
                ]
            ),
            int(message.automated),
            int(message.private),
            json.dumps(dict(message.meta)),
            digest if digest is not None else arrival.content_hash(message),
            message.thread_key,
            outbox_id,
        ],
    )
    return int(cur.lastrowid or 0)


def _author_json(author: Author) -> dict[str, object]:
    return {"kind": author.kind.value, "key": author.key, "handle": author.handle, "name": author.display_name}


def _identity(db: Database, author: Author, *, create_customer: bool) -> tuple[int, int | None]:
    key = identity_rules.normalise_key(author.kind, author.key)
    row = db.conn.execute(
        "SELECT id, customer_id, handle, display_name, followers, avatar_url FROM identities WHERE kind = ? AND key = ?",
        [author.kind.value, key],
    ).fetchone()
    if row is not None:
        identity_id, customer_id = int(row[0]), row[1]
        if author.avatar_url and author.avatar_url != row[5]:
            db.conn.execute("UPDATE identities SET avatar_url = ? WHERE id = ?", [author.avatar_url, identity_id])
        handle = author.handle or row[2]
        name = author.display_name or row[3]
        followers = author.followers if author.followers is not None else row[4]
        if (handle, name, followers) != (row[2], row[3], row[4]):
            db.conn.execute(
                "UPDATE identities SET handle = ?, display_name = ?, followers = ? WHERE id = ?",
                [handle, name, followers, identity_id],
            )
        if customer_id is None and create_customer:
            customer_id = _new_customer(db, name or handle or key)
            db.conn.execute("UPDATE identities SET customer_id = ? WHERE id = ?", [customer_id, identity_id])
        return identity_id, None if customer_id is None else int(customer_id)
    customer_id = _new_customer(db, author.display_name or author.handle or key) if create_customer else None
    cursor = db.conn.execute(
        """INSERT INTO identities (kind, key, handle, display_name, customer_id, followers, avatar_url)
           VALUES (?,?,?,?,?,?,?)""",
        [author.kind.value, key, author.handle, author.display_name, customer_id, author.followers, author.avatar_url],
    )
    identity_id = int(cursor.lastrowid or 0)
    if customer_id is not None:
        _suggest_by_name(db, identity_id, customer_id, author.display_name)
    return identity_id, customer_id


def _new_customer(db: Database, name: str) -> int:
    from datetime import UTC

    cursor = db.conn.execute(
        "INSERT INTO customers (display_name, name_key, created_at) VALUES (?, ?, ?)",
        [name, identity_rules.comparable_name(name), to_db_time(datetime.now(UTC))],
    )
    return int(cursor.lastrowid or 0)


def _route(
    db: Database,
    account: Account,
    message: Message,
    keys: list[str],
    customer_id: int | None,
    direction: Direction,
    result: IngestResult,
    batch: _Batch,
) -> tuple[int, dict[str, int], bool]:
    """The conversation of ``message``, which of its keys are stored for which conversation (after
    any merge), and whether the conversation existed before."""
    candidates: list[routing.Candidate] = []
    owners: dict[str, int] = {}
    if keys:
        marks = ",".join("?" * len(keys))
        seen: set[int] = set()
        for key, cid, status, created, noise in db.conn.execute(
            f"""SELECT k.key, c.id, c.status, c.created_at, c.noise FROM thread_keys k
                JOIN conversations c ON c.id = k.conversation_id WHERE k.key IN ({marks})""",
            keys,
        ).fetchall():
            owners[key] = int(cid)
            if cid not in seen:
                seen.add(cid)
                cached = batch.rows.get(int(cid))
                if cached is not None:  # changed earlier in this batch, not written yet
                    status, noise, created = cached[0], cached[1], cached[4]
                candidates.append(routing.Candidate(int(cid), Status(status), from_db_time(str(created)), bool(noise)))
    if not candidates and customer_id is not None and routing.subject_fallback_allowed(message):
        batch.flush()
        wanted = routing.normalise_subject(message.subject)
        since = to_db_time(message.sent_at - routing.SUBJECT_WINDOW)
        for cid, status, created, subject in db.conn.execute(
            """SELECT id, status, created_at, subject FROM conversations
               WHERE customer_id = ? AND channel = ? AND last_message_at >= ? AND status != 'closed'""",
            [customer_id, message.channel.value, since],
        ).fetchall():
            if routing.normalise_subject(subject) == wanted:
                candidates.append(routing.Candidate(int(cid), Status(status), from_db_time(created)))
    route = routing.choose(candidates)
    if route.conversation_id is not None:
        target = route.conversation_id
        if route.absorb:
            batch.flush()
            batch.forget(target, *route.absorb)
        for absorbed in route.absorb:
            merge_conversations(db, target, absorbed)
        merged = set(route.absorb)
        owners = {key: (target if cid in merged else cid) for key, cid in owners.items()}
        return target, owners, True
    status = Status.NEW if direction is Direction.INBOUND else Status.OPEN
    noise = message.automated and direction is Direction.INBOUND
    if noise:
        status = Status.CLOSED  # noise never opens a conversation; kept for search and history
    subject = message.subject or _first_line(message.text)
    when = to_db_time(message.sent_at)
    cursor = db.conn.execute(
        """INSERT INTO conversations (channel, account_id, surface, subject, status, priority,
               customer_id, created_at, last_message_at, noise)
           VALUES (?,?,?,?,?,?,?,?,?,?)""",
        [
            message.channel.value,
            account.id,
            message.surface.value,
            subject,
            status.value,
            "normal",
            customer_id,
            when,
            when,
            int(noise),
        ],
    )
    conversation_id = int(cursor.lastrowid or 0)
    batch.created(conversation_id, [status.value, int(noise), 0, when, when, None, customer_id, ""])
    result.new_conversations.add(conversation_id)
    return conversation_id, owners, False


def _first_line(text: str, limit: int = 120) -> str:
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


def _update_conversation(
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
    preview = _first_line(message.text, 160)
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


def _record_events(
    db: Database,
    conversation_id: int,
    message: Message,
    direction: Direction,
    when: str,
    status: str | None = None,
) -> None:
    if status is None:
        status = str(_scalar(db, "SELECT status FROM conversations WHERE id = ?", [conversation_id]))
    produced = arrival.events_of(message, direction, status)
    for kind, actor, value in produced.events:
        _event(db, conversation_id, kind, when, actor, value)
    if produced.opens:
        db.conn.execute("UPDATE conversations SET status = 'open' WHERE id = ?", [conversation_id])


def _batch_events(batch: _Batch, cid: int, message: Message, direction: Direction, when: str, status: str) -> None:
    """What ``_record_events`` does, into the batch."""
    produced = arrival.events_of(message, direction, status)
    for kind, actor, value in produced.events:
        batch.event(cid, kind, when, actor, value)
    if produced.opens:
        batch.set_status(cid, Status.OPEN.value)


def _event(db: Database, conversation_id: int, kind: EventKind, when: str, actor: str, value: str) -> None:
    db.conn.execute(
        "INSERT INTO events (conversation_id, kind, at, actor, value) VALUES (?,?,?,?,?)",
        [conversation_id, kind.value, when, actor, value],
    )


_DIGIT = re.compile(r"\d")


def _suggest_links(db: Database, identity_id: int, customer_id: int, text: str) -> None:
    # A text without "@" or a digit holds no address or phone number (contact_points finds
    # digits with the same \d); a regex search instead of a per-character loop: 5% of ingest.
    if "@" not in text and not _DIGIT.search(text):
        return
    for point in identity_rules.contact_points(text):
        row = db.conn.execute(
            "SELECT customer_id FROM identities WHERE kind = ? AND key = ? AND customer_id IS NOT NULL",
            [point.kind.value, point.key],
        ).fetchone()
        if row is not None and int(row[0]) != customer_id:
            db.conn.execute(
                "INSERT OR IGNORE INTO link_suggestions (identity_id, customer_id, reason) VALUES (?,?,?)",
                [identity_id, int(row[0]), point.reason],
            )


def _suggest_by_name(db: Database, identity_id: int, customer_id: int, name: str) -> None:
    key = identity_rules.comparable_name(name)
    if len(key.split()) < 2:
        return
    for (other,) in db.conn.execute(
        "SELECT id FROM customers WHERE name_key = ? AND id != ? LIMIT 5", [key, customer_id]
    ).fetchall():
        db.conn.execute(
            "INSERT OR IGNORE INTO link_suggestions (identity_id, customer_id, reason) VALUES (?,?,?)",
            [identity_id, int(other), f"same name: {name}"],
        )
