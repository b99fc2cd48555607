"""The repository: the one interface the rest of the app uses to read and change the store.

Everything it takes and gives is a core dataclass. Every change to a conversation (status, tags,
priority, assignment) is written together with an event carrying its instant and author, so the
SLA engine, reports and a future team server can replay it. Calls are serialised by a lock, so
the UI's worker threads and the sync service can share one store.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

from inbox.errors import InputError, StoreError
from inbox.models import (
    Account,
    Attachment,
    AttachmentFile,
    Channel,
    Conversation,
    ConversationEvent,
    Direction,
    Draft,
    EventKind,
    Message,
    OutboxItem,
    OutboxState,
    Priority,
    QueueFilter,
    QueueSort,
    Rejection,
    SearchHit,
    Status,
    StoredMessage,
    Surface,
)
from inbox.store import attachments, imported_files, outbox_store
from inbox.store import ingest as ingest_module
from inbox.store import search as search_module
from inbox.store.customers import CustomerRepository
from inbox.store.database import Database, connect, explain, from_db_time, to_db_time
from inbox.store.search import fts_query

T = TypeVar("T")


#: Setting: the newest event every open conversation's cached SLA state reflects.
SLA_EVENT_MARK = "sla.event_mark"
#: Past this many events since the mark, reading each conversation's newest event is cheaper.
_MARK_SCAN_LIMIT = 50_000


class SlaInput(NamedTuple):
    """What a conversation's SLA is computed from."""

    channel: str
    vip: bool
    events: list[ConversationEvent]
    last_event_id: int


class SlaCacheRow(NamedTuple):
    """A conversation's cached SLA: the most urgent running deadline and its state for the
    queue, and what makes it valid (``at`` until ``next_at``, no event after ``event_id``)."""

    conversation_id: int
    due_at: str | None
    state: str | None
    at: str
    next_at: str | None
    event_id: int


class Store(CustomerRepository):
    """The local SQLite store (offline cache and, in single-agent mode, the source of truth)."""

    def __init__(self, db: Database, where: str = "memory") -> None:
        self.db = db
        self.where = where
        self.lock = threading.RLock()

    @property
    def files_dir(self) -> Path | None:
        """Where attachment files are kept: beside the store file (none for an in-memory store)."""
        return None if self.where in (":memory:", "memory") else Path(self.where).parent / "attachments"

    def attachment_files(self, message_id: int) -> list[AttachmentFile]:
        rows = self._rows("SELECT * FROM attachment_files WHERE message_id = ? ORDER BY id", [message_id])
        if self.files_dir is None:
            return []
        return attachments.files_of([dict(r) for r in rows], self.files_dir)

    @classmethod
    def open(cls, path: Path | str) -> Store:
        return cls(connect(path), str(path))

    def close(self) -> None:
        with self.lock:
            self.db.conn.close()

    @contextmanager
    def _guard(self) -> Iterator[Database]:
        with self.lock:
            try:
                yield self.db
            except sqlite3.Error as exc:
                raise StoreError(explain(exc, self.where)) from exc

    def _rows(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> list[sqlite3.Row]:
        with self._guard() as db:
            cur = db.conn.cursor()
            cur.row_factory = sqlite3.Row
            return list(cur.execute(sql, params))

    def _write(self, fn: Callable[[Database], T]) -> T:
        with self._guard() as db:
            if db.conn.in_transaction:
                with db.atomic():  # a savepoint inside the caller's transaction
                    return fn(db)
            # Take the write lock before reading: waiting for it honours the busy timeout,
            # where a read transaction upgraded to a write fails at once if another connection
            # committed meanwhile (SQLITE_BUSY_SNAPSHOT in WAL mode).
            db.conn.execute("BEGIN IMMEDIATE")
            try:
                result = fn(db)
                db.conn.execute("COMMIT")
            except BaseException:
                if db.conn.in_transaction:
                    db.conn.execute("ROLLBACK")
                raise
            return result

    # -- accounts -----------------------------------------------------------------------------

    def save_account(self, account: Account) -> None:
        from datetime import UTC

        def write(db: Database) -> None:
            db.execute(
                """INSERT INTO accounts (id, channel, name, own_keys, settings, created_at)
                   VALUES (?,?,?,?,?,?)
                   ON CONFLICT(id) DO UPDATE SET name = excluded.name, own_keys = excluded.own_keys,
                     settings = excluded.settings""",
                [
                    account.id,
                    account.channel.value,
                    account.name,
                    json.dumps(sorted(account.own_keys)),
                    json.dumps(dict(account.settings)),
                    to_db_time(datetime.now(UTC)),
                ],
            )

        self._write(write)

    def remove_account(self, account_id: str, *, wipe: bool = False) -> None:
        """Forget an account; with ``wipe`` its conversations and messages go too."""

        def write(db: Database) -> None:
            if wipe:
                ids = [r[0] for r in db.execute("SELECT id FROM conversations WHERE account_id = ?", [account_id])]
                for cid in ids:
                    db.execute("DELETE FROM messages WHERE conversation_id = ?", [cid])
                    db.execute("DELETE FROM outbox WHERE conversation_id = ?", [cid])
                    db.execute("DELETE FROM conversations WHERE id = ?", [cid])
                db.execute("DELETE FROM messages WHERE account_id = ?", [account_id])
                db.execute("DELETE FROM accounts WHERE id = ?", [account_id])
            else:
                db.execute("UPDATE accounts SET state = 'removed' WHERE id = ?", [account_id])

        self._write(write)

    def accounts(self, include_removed: bool = False) -> list[Account]:
        rows = self._rows("SELECT * FROM accounts ORDER BY id")
        return [_account(r) for r in rows if include_removed or r["state"] != "removed"]

    def account(self, account_id: str) -> Account | None:
        rows = self._rows("SELECT * FROM accounts WHERE id = ?", [account_id])
        return _account(rows[0]) if rows else None

    def account_state(self, account_id: str) -> tuple[str, str]:
        rows = self._rows("SELECT state, state_reason FROM accounts WHERE id = ?", [account_id])
        return (rows[0]["state"], rows[0]["state_reason"]) if rows else ("unknown", "")

    def set_account_state(self, account_id: str, state: str, reason: str = "") -> None:
        self._write(
            lambda db: db.execute(
                "UPDATE accounts SET state = ?, state_reason = ? WHERE id = ?", [state, reason, account_id]
            )
        )

    def add_rejections(self, account_id: str, count: int, last: str) -> None:
        """Count ``count`` more rejected items on the account; ``last`` is the latest reason."""
        self._write(
            lambda db: db.execute(
                "UPDATE accounts SET rejected = rejected + ?, last_rejection = ? WHERE id = ?",
                [count, last, account_id],
            )
        )

    def account_rejections(self, account_id: str) -> tuple[int, str]:
        """How many items the account's fetches rejected so far, and the last reason."""
        rows = self._rows("SELECT rejected, last_rejection FROM accounts WHERE id = ?", [account_id])
        return (int(rows[0]["rejected"]), rows[0]["last_rejection"]) if rows else (0, "")

    def cursor(self, account_id: str) -> str | None:
        rows = self._rows("SELECT cursor FROM accounts WHERE id = ?", [account_id])
        return rows[0]["cursor"] if rows else None

    def ensure_account(self, account_id: str, channel: Channel, name: str | None = None) -> Account:
        existing = self.account(account_id)
        if existing is not None:
            return existing
        account = Account(id=account_id, channel=channel, name=name or account_id)
        self.save_account(account)
        return account

    # -- ingest -------------------------------------------------------------------------------

    def ingest(
        self, account: Account, messages: Sequence[Message], *, cursor: str | None = None
    ) -> ingest_module.IngestResult:
        """Store a batch (and the account's new cursor) in one transaction."""

        def write(db: Database) -> ingest_module.IngestResult:
            result = ingest_module.ingest(db, account, messages)
            attachments.save_files(db, account.id, messages, self.files_dir)
            if cursor is not None:
                db.execute("UPDATE accounts SET cursor = ? WHERE id = ?", [cursor, account.id])
            return result

        return self._write(write)

    def ingest_files(
        self, account: Account, messages: Sequence[Message], files: Sequence[imported_files.ImportedFile]
    ) -> ingest_module.IngestResult:
        """Store the messages of some imported files and record the files, in one transaction:
        a crash loses (and the next import takes again) exactly the files in flight."""

        def write(db: Database) -> ingest_module.IngestResult:
            result = ingest_module.ingest(db, account, messages)
            attachments.save_files(db, account.id, messages, self.files_dir)
            imported_files.record(db, account.id, files)
            return result

        return self._write(write)

    def known_imported_files(self, account_id: str, root: Path) -> dict[str, imported_files.ImportedFile]:
        """Files under the folder ``root`` whose messages are stored for ``account_id``, by path."""
        with self._guard() as db:
            return imported_files.known(db, account_id, str(root))

    # -- queue and conversations --------------------------------------------------------------

    def queue(self, flt: QueueFilter, *, limit: int = 200, offset: int = 0) -> list[Conversation]:
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
        # The page's ids first (sorting only needs the conversations table), then the names, tags
        # and sentiment of those rows alone.
        ids = [
            int(r["id"])
            for r in self._rows(
                f"SELECT c.id FROM conversations c WHERE {where} ORDER BY {order}, c.id LIMIT ? OFFSET ?",
                [*params, limit, offset],
            )
        ]
        if not ids:
            return []
        rows = self._rows(
            f"""SELECT c.*, COALESCE(cu.display_name, '') AS customer_name,
                  (SELECT group_concat(tag, ',') FROM conversation_tags t WHERE t.conversation_id = c.id) AS tag_list,
                  {_LATEST_SENTIMENT} AS latest_sentiment
                FROM conversations c LEFT JOIN customers cu ON cu.id = c.customer_id
                WHERE c.id IN ({",".join(str(i) for i in ids)})"""
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

    # -- changes, each with its event ---------------------------------------------------------

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
            ingest_module._event(db, conversation_id, kind, to_db_time(at), actor, value or "")

        self._write(write)

    def add_tag(self, conversation_id: int, tag: str, at: datetime, actor: str) -> None:
        tag = tag.strip()
        if not tag:
            raise InputError("tag", "a tag cannot be empty")
        self.conversation(conversation_id)

        def write(db: Database) -> None:
            cur = db.execute(
                "INSERT OR IGNORE INTO conversation_tags (conversation_id, tag) VALUES (?, ?)", [conversation_id, tag]
            )
            if cur.rowcount:
                ingest_module._event(db, conversation_id, EventKind.TAG_ADDED, to_db_time(at), actor, tag)

        self._write(write)

    def remove_tag(self, conversation_id: int, tag: str, at: datetime, actor: str) -> None:
        def write(db: Database) -> None:
            cur = db.execute(
                "DELETE FROM conversation_tags WHERE conversation_id = ? AND tag = ?", [conversation_id, tag]
            )
            if cur.rowcount:
                ingest_module._event(db, conversation_id, EventKind.TAG_REMOVED, to_db_time(at), actor, tag)

        self._write(write)

    def agent_names(self) -> list[str]:
        """Agents configured in the workspace and anyone already assigned a conversation."""
        rows = self._rows(
            """SELECT name FROM agents WHERE active = 1
               UNION SELECT DISTINCT assignee FROM conversations WHERE assignee IS NOT NULL ORDER BY 1"""
        )
        return [str(r[0]) for r in rows]

    def tags(self) -> list[tuple[str, int]]:
        rows = self._rows(
            """SELECT t.tag, COUNT(*) AS n FROM conversation_tags t JOIN conversations c ON c.id = t.conversation_id
               WHERE c.status != 'closed' GROUP BY t.tag ORDER BY n DESC, t.tag"""
        )
        return [(r["tag"], int(r["n"])) for r in rows]

    def sla_inputs(self, conversation_ids: Sequence[int] | None = None) -> dict[int, SlaInput]:
        """For each conversation (default: every one not closed): channel, VIP, events in order,
        and the id of its newest event (what a cached SLA state was computed from)."""
        if conversation_ids is None:
            where = "c.status != 'closed'"
        else:
            where = f"c.id IN ({','.join(str(int(i)) for i in conversation_ids) or '-1'})"
        out: dict[int, SlaInput] = {}
        for r in self._rows(
            f"""SELECT c.id, c.channel, COALESCE(cu.vip, 0) AS vip FROM conversations c
                LEFT JOIN customers cu ON cu.id = c.customer_id WHERE {where}"""
        ):
            out[int(r["id"])] = SlaInput(r["channel"], bool(r["vip"]), [], 0)
        if not out:
            return out
        last: dict[int, int] = {}
        for r in self._rows(
            f"""SELECT e.id, e.conversation_id, e.kind, e.at, e.actor, e.value FROM events e
                JOIN conversations c ON c.id = e.conversation_id WHERE {where} ORDER BY e.conversation_id, e.at, e.id"""
        ):
            cid = int(r["conversation_id"])
            entry = out.get(cid)
            if entry is not None:
                entry.events.append(ConversationEvent(cid, EventKind(r["kind"]), from_db_time(r["at"]), r["actor"], r["value"]))
                last[cid] = max(last.get(cid, 0), int(r["id"]))
        return {cid: entry._replace(last_event_id=last.get(cid, 0)) for cid, entry in out.items()}

    def sla_stale(self, now: datetime, conversation_ids: Sequence[int] | None = None) -> tuple[list[int], int | None]:
        """The conversations (default: every one not closed) whose cached SLA state may be wrong
        at ``now``: never computed, computed for a later instant, a warning or breach instant
        passed since, or an event (reply, status, priority, tag...) newer than the computation.
        Also returns the newest event id when it is past the stored mark: the mark to store after
        refreshing every conversation (events up to it are then reflected in every open
        conversation's cache, so later calls only look at the events after it)."""
        if conversation_ids is None:
            where, indexed = "status IN ('new', 'open', 'pending', 'solved')", "INDEXED BY conversations_sla"
        else:
            where, indexed = f"id IN ({','.join(str(int(i)) for i in conversation_ids) or '-1'})", ""
        mark = int(self.setting(SLA_EVENT_MARK) or 0)
        with self._guard() as db:
            newest = int(db.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])
            recent: dict[int, int] = {}
            if newest - mark <= _MARK_SCAN_LIMIT and (conversation_ids is None or len(conversation_ids) > 2000):
                # The events since the mark, by the primary key: usually a handful.
                for cid, event_id in db.execute("SELECT conversation_id, id FROM events WHERE id > ? ORDER BY id", [mark]):
                    recent[cid] = event_id
            else:  # a few conversations, or no recent mark: each conversation's newest event
                for cid, event_id in db.execute(
                    f"""SELECT conversation_id, MAX(id) FROM events WHERE conversation_id IN
                        (SELECT id FROM conversations {indexed} WHERE {where}) GROUP BY conversation_id"""
                ):
                    recent[cid] = event_id
            # INDEXED BY: with most conversations closed, the statistics make SQLite scan them all.
            rows = db.execute(
                f"SELECT id, sla_at, sla_next_at, sla_event_id FROM conversations {indexed} WHERE {where}"
            ).fetchall()
        at = to_db_time(now)
        stale = [
            cid
            for cid, computed, next_at, seen in rows
            if seen is None
            or computed is None
            or computed > at
            or (next_at is not None and next_at <= at)
            or recent.get(cid, 0) > seen
        ]
        stale.sort()
        return stale, (newest if newest > mark else None)

    def replace_sla_logs(
        self,
        logs: Mapping[int, Sequence[tuple[str, str, str, int, str, float | None]]],
        cache: Sequence[SlaCacheRow],
        event_mark: int | None = None,
    ) -> None:
        """Replace the SLA logs of many conversations and their cached deadlines, in one
        transaction; ``event_mark``: every open conversation now reflects the events up to it."""

        def write(db: Database) -> None:
            ids = list(logs)
            for start in range(0, len(ids), 500):
                chunk = ",".join(str(int(i)) for i in ids[start : start + 500])
                db.execute(f"DELETE FROM sla_log WHERE conversation_id IN ({chunk})")
            db.conn.executemany(
                "INSERT INTO sla_log (conversation_id, at, kind, target, round, policy, business_s) VALUES (?,?,?,?,?,?,?)",
                [(cid, *entry) for cid, entries in logs.items() for entry in entries],
            )
            db.conn.executemany(
                """UPDATE conversations SET sla_due_at = ?, sla_state = ?, sla_at = ?, sla_next_at = ?,
                   sla_event_id = ? WHERE id = ?""",
                [(row.due_at, row.state, row.at, row.next_at, row.event_id, row.conversation_id) for row in cache],
            )
            if event_mark is not None:
                db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [SLA_EVENT_MARK, str(event_mark)])

        self._write(write)

    def sla_log_rows(self, since: datetime | None = None, until: datetime | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM sla_log WHERE 1"
        params: list[Any] = []
        if since is not None:
            sql += " AND at >= ?"
            params.append(to_db_time(since))
        if until is not None:
            sql += " AND at < ?"
            params.append(to_db_time(until))
        return [dict(r) for r in self._rows(sql + " ORDER BY at, id", params)]

    # -- search ---------------------------------------------------------------------------------

    def search(self, query: str, *, limit: int = 50) -> list[SearchHit]:
        """Conversations the query names (number, customer number, address, handle, name; newest
        message of each), then messages whose words match, without repeating a message."""
        with self._guard() as db:
            rows = search_module.newest_messages(db.conn, search_module.named_conversations(db.conn, query, limit))
        match = fts_query(query)
        if match is not None and len(rows) < limit:
            with self._guard() as db:
                rows += search_module.word_hits(db.conn, match, limit)
        hits: dict[int, SearchHit] = {}
        for r in rows:
            hits.setdefault(
                int(r["id"]),
                SearchHit(
                    int(r["id"]),
                    int(r["conversation_id"]),
                    Channel(r["channel"]),
                    r["author_name"],
                    r["subject"],
                    r["snip"] or "",
                    from_db_time(r["sent_at"]),
                ),
            )
        return list(hits.values())[:limit]

    def search_conversation_ids(self, query: str, *, limit: int = 2000) -> tuple[int, ...]:
        with self._guard() as db:
            found = dict.fromkeys(search_module.named_conversations(db.conn, query, limit))
        match = fts_query(query)
        if match is not None and len(found) < limit:
            with self._guard() as db:
                found.update(dict.fromkeys(search_module.word_conversations(db.conn, match, limit)))
        return tuple(found)[:limit]

    # -- drafts and settings ----------------------------------------------------------------------

    def save_draft(self, conversation_id: int, text: str, at: datetime) -> None:
        def write(db: Database) -> None:
            if text.strip():
                db.execute(
                    "INSERT OR REPLACE INTO drafts (conversation_id, text, updated_at) VALUES (?,?,?)",
                    [conversation_id, text, to_db_time(at)],
                )
            else:
                db.execute("DELETE FROM drafts WHERE conversation_id = ?", [conversation_id])

        self._write(write)

    def draft(self, conversation_id: int) -> str:
        rows = self._rows("SELECT text FROM drafts WHERE conversation_id = ?", [conversation_id])
        return rows[0]["text"] if rows else ""

    def setting(self, key: str, default: str = "") -> str:
        rows = self._rows("SELECT value FROM settings WHERE key = ?", [key])
        return rows[0]["value"] if rows else default

    def set_setting(self, key: str, value: str) -> None:
        self._write(lambda db: db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [key, value]))

    def integrity_check(self) -> str:
        rows = self._rows("PRAGMA integrity_check")
        return str(rows[0][0])

    # -- outbox (sync helper) -------------------------------------------------------------------
    # Thin delegates to inbox.store.outbox_store, which holds the SQL.

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

    def ingest_fetched(
        self, account: Account, messages: Sequence[Message], *, cursor: str | None, now: datetime
    ) -> tuple[ingest_module.IngestResult, list[Rejection]]:
        """A fetched page and its cursor in one transaction; broken messages are rejected alone."""
        def write(db: Database) -> tuple[ingest_module.IngestResult, list[Rejection]]:
            result = outbox_store.ingest_fetched(db, account, messages, cursor, now)
            attachments.save_files(db, account.id, messages, self.files_dir)
            return result

        return self._write(write)


TRIAGE_ACTOR = "triage"
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


def _account(r: sqlite3.Row) -> Account:
    return Account(
        id=r["id"],
        channel=Channel(r["channel"]),
        name=r["name"],
        own_keys=frozenset(json.loads(r["own_keys"])),
        settings=json.loads(r["settings"]),
    )


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
