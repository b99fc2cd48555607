"""The base every part of :class:`inbox.store.repository.Store` builds on: the connection, the
lock that serialises calls from the UI's worker threads and the sync service, and the three ways
to reach the database (``_guard`` for a raw connection, ``_rows`` to read, ``_write`` for one
transaction). Database errors leave it as :class:`~inbox.errors.StoreError`.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from inbox.errors import StoreError
from inbox.store.database import Database, explain

T = TypeVar("T")


class StoreBase:
    """One SQLite database behind a re-entrant lock."""

    def __init__(self, db: Database, where: str = "memory") -> None:
        self.db = db
        self.where = where
        self.lock = threading.RLock()

    @property
    def files_dir(self) -> Path | None:
        """Where attachment files are kept: beside the store file (none for an in-memory store)."""
        return None if self.where in (":memory:", "memory") else Path(self.where).parent / "attachments"

    def close(self) -> None:
        with self.lock:
            self.db.conn.close()

    def integrity_check(self) -> str:
        rows = self._rows("PRAGMA integrity_check")
        return str(rows[0][0])

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
                db.commit()
            except BaseException:
                if db.conn.in_transaction:
                    db.conn.execute("ROLLBACK")
                raise
            return result
