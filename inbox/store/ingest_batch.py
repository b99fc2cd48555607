"""The conversations an ingest batch touches, cached in memory and written back once, with an
undo journal for the message in flight (its savepoint may be rolled back)."""

from __future__ import annotations

from collections.abc import Sequence

from inbox.models import (
    Direction,
    EventKind,
    Message,
)
from inbox.store.conversation_rows import first_line
from inbox.store.database import Database

#: Provider ids looked up per query when a batch begins (well under SQLite's variable limit).
_LOOKUP_CHUNK = 500
#: A conversation row as the batch keeps it, in this order.
_CONV_COLUMNS = "status, noise, message_count, last_message_at, created_at, last_inbound_at, customer_id, preview"


class Batch:
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
        # What the batch knows without asking the store, both written when a message is stored
        # (its last step, when nothing can fail any more):
        # - the account's stored messages among the batch's, by provider id: (content hash,
        #   outbox id), read once when the batch begins (:meth:`look_up_stored`);
        # - thread key -> conversation for the keys of the messages it stored (each points at its
        #   message's conversation), emptied when a merge moves keys or a message is rolled back.
        self.stored: dict[str, tuple[str | None, str | None]] = {}
        self.keys: dict[str, int] = {}
        # Undo journal of the message in flight (its savepoint may be rolled back): each cached
        # row as it was before the message touched it (None: not cached), where its events
        # start, and the dirty rows and events as they were if it flushed them.
        self._saved: dict[int, list[object] | None] = {}
        self._events_at = 0
        self._flushed: tuple[set[int], list[tuple[int, str, str, str, str]]] | None = None

    def look_up_stored(self, account_id: str, provider_ids: Sequence[str]) -> None:
        """Which of ``provider_ids`` the account has stored: one query per few hundred messages
        rather than one per message (a sixth of the statements of an import)."""
        wanted = list(dict.fromkeys(provider_ids))
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            chunk = wanted[start : start + _LOOKUP_CHUNK]
            marks = ",".join("?" * len(chunk))
            for provider_id, digest, outbox_id in self.db.conn.execute(
                f"""SELECT provider_id, content_hash, outbox_id FROM messages
                    WHERE account_id = ? AND provider_id IN ({marks})""",
                [account_id, *chunk],
            ):
                self.stored[str(provider_id)] = (digest, outbox_id)

    def message_stored(self, provider_id: str, digest: str, keys: Sequence[str], conversation_id: int) -> None:
        """A message is stored under ``provider_id`` in ``conversation_id``, with its thread keys."""
        self.stored[provider_id] = (digest, None)
        for key in keys:
            self.keys[key] = conversation_id

    def begin(self) -> None:
        self._saved = {}
        self._events_at = len(self.events)
        self._flushed = None

    def end(self) -> None:
        self.begin()

    def undo(self) -> None:
        """Forget what the message in flight did to the cache (its savepoint was rolled back)."""
        self.keys.clear()
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
        """Drop these conversations' rows (merged: their keys move too, so every key is dropped)."""
        self.keys.clear()
        for cid in conversation_ids:
            self._keep(cid)
            self.rows.pop(cid, None)

    def count_message(
        self, cid: int, message: Message, direction: Direction, customer_id: int | None, when: str, person: bool
    ) -> str:
        """What ``count_message`` does in SQL, on the cached row; returns the status."""
        row = self.row(cid)
        status, noise, count, last, created, last_in, customer, preview = row
        if person:
            status = "new" if noise == 1 else status
            noise = 0
        if when >= str(last) or count == 0:
            preview = first_line(message.text, 160)
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
