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
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from inbox.conversations import arrival, routing
from inbox.models import (
    Account,
    Direction,
    Message,
    Rejection,
    Status,
)
from inbox.store.conversation_rows import (
    first_line,
    insert_message,
    merge_conversations,
    scalar,
)
from inbox.store.database import Database, from_db_time, to_db_time
from inbox.store.identities import identity_of, suggest_links
from inbox.store.ingest_batch import Batch


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
    db: Database,
    account: Account,
    messages: Sequence[Message],
    *,
    own_reply: OwnReply | None = None,
    isolated: bool = True,
) -> IngestResult:
    """Store ``messages`` of ``account`` in one transaction; returns what changed, with a rejection
    for each message that could not be stored (``isolated``: each message in a savepoint of its
    own, rolled back alone when it fails).

    ``isolated=False`` stores the batch in the caller's transaction with no savepoint at all and
    lets a broken message's error (:data:`MESSAGE_FAULTS`) out: the caller rolls back and stores
    the batch again isolated. Any open savepoint makes SQLite keep a statement journal for every
    write and FTS5 write out its pending terms, which halved the import's speed (2,400 instead of
    4,900 messages/s), so the common case, where no message is broken, runs without one."""
    if not isolated:
        if db.conn.in_transaction:
            return _store(db, account, messages, own_reply, isolated=False)
        with db.atomic():
            return _store(db, account, messages, own_reply, isolated=False)
    with db.atomic():
        return _store(db, account, messages, own_reply, isolated=True)


def is_message_fault(exc: BaseException) -> bool:
    """Whether an error out of a non-isolated ingest came from one broken message (the store may
    have wrapped SQLite's error, keeping it as the cause)."""
    return isinstance(exc, MESSAGE_FAULTS) or isinstance(exc.__cause__, MESSAGE_FAULTS)


def _store(
    db: Database, account: Account, messages: Sequence[Message], own_reply: OwnReply | None, *, isolated: bool
) -> IngestResult:
    result = IngestResult()
    batch = Batch(db)
    batch.look_up_stored(account.id, [message.provider_id for message in messages])
    for message in messages:
        if not isolated:
            _ingest_one(db, account, message, result, batch, own_reply)
            continue
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


def _ingest_one(
    db: Database,
    account: Account,
    message: Message,
    result: IngestResult,
    batch: Batch,
    own_reply: OwnReply | None = None,
) -> None:
    """Store one message; the batch learns of it last, when nothing can fail any more."""
    provider_id = message.provider_id
    row = batch.stored.get(provider_id)
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
            batch.stored[provider_id] = (digest, row[1])
            result.duplicates += 1
            return
        if row[0] == digest or message.channel.value != "email":
            result.duplicates += 1
            return
        provider_id = f"{provider_id}#{digest[:12]}"
        if scalar(db, "SELECT 1 FROM messages WHERE account_id = ? AND provider_id = ?", [account.id, provider_id]):
            result.duplicates += 1
            return

    if direction is Direction.INBOUND and not message.author.key:
        identity_id, customer_id = None, None  # the payload withheld the author: link nothing
    elif direction is Direction.INBOUND:
        identity_id, customer_id = identity_of(db, message.author, create_customer=True)
    else:
        identity_id = None
        customer_id = None
        if message.recipients:
            _rid, customer_id = identity_of(db, message.recipients[0], create_customer=True)

    keys = routing.thread_keys(account.id, message)
    when = to_db_time(message.sent_at)
    conversation_id, owners, existing = _route(db, account, message, keys, customer_id, direction, when, result, batch)
    insert_message(
        db, account.id, conversation_id, message, direction,
        provider_id=provider_id, identity_id=identity_id, digest=digest, sent_at=when,
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
        suggest_links(db, identity_id, customer_id, message.text)
    result.added += 1
    result.conversations.add(conversation_id)
    batch.message_stored(provider_id, digest, keys, conversation_id)


def _route(
    db: Database,
    account: Account,
    message: Message,
    keys: list[str],
    customer_id: int | None,
    direction: Direction,
    when: str,
    result: IngestResult,
    batch: Batch,
) -> tuple[int, dict[str, int], bool]:
    """The conversation of ``message`` (sent ``when``, as stored), which of its keys are stored for
    which conversation (after any merge), and whether the conversation existed before."""
    owners: dict[str, int] = {}
    found: dict[int, tuple[object, object, object]] = {}  # conversation: status, noise, created
    if keys:
        # Keys this batch stored already point at a conversation whose row it holds: only the
        # others are looked up (a reply's references are mostly its thread's earlier messages,
        # stored moments before: 1 key of 8.7 asked instead of all, at 2.5 us a key).
        known = batch.keys
        asked = [key for key in keys if key not in known]
        if any(known[key] not in batch.rows for key in keys if key in known):
            asked = keys  # a conversation the batch no longer holds: ask the store for every key
        else:
            owners = {key: known[key] for key in keys if key in known}
        if asked:
            marks = ",".join("?" * len(asked))
            for key, cid, status, created, noise in db.conn.execute(
                f"""SELECT k.key, c.id, c.status, c.created_at, c.noise FROM thread_keys k
                    JOIN conversations c ON c.id = k.conversation_id WHERE k.key IN ({marks})""",
                asked,
            ).fetchall():
                owners[key] = int(cid)
                found[int(cid)] = (status, noise, created)
    candidates: list[routing.Candidate] = []
    for cid in dict.fromkeys(owners.values()):
        cached = batch.rows.get(cid)
        if cached is not None:  # changed earlier in this batch, not written yet
            status, noise, created = cached[0], cached[1], cached[4]
        else:
            status, noise, created = found[cid]
        candidates.append(routing.Candidate(cid, Status(str(status)), from_db_time(str(created)), bool(noise)))
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
    subject = message.subject or first_line(message.text)
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


def _batch_events(batch: Batch, cid: int, message: Message, direction: Direction, when: str, status: str) -> None:
    """What ``record_events`` does, into the batch."""
    produced = arrival.events_of(message, direction, status)
    for kind, actor, value in produced.events:
        batch.event(cid, kind, when, actor, value)
    if produced.opens:
        batch.set_status(cid, Status.OPEN.value)
