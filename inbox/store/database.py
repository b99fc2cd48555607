"""Opening the store: file permissions, pragmas, migrations, and clear refusals."""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inbox.errors import StoreError
from inbox.store.schema import MIGRATIONS
from inbox.store.search_index import index_messages

TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def to_db_time(value: datetime) -> str:
    """A fixed-width UTC text that sorts like the instant it names."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to the store")
    return value.astimezone(UTC).strftime(TIME_FORMAT)


def from_db_time(text: str) -> datetime:
    """The instant of a ``to_db_time`` text (``fromisoformat`` is ~20x faster than strptime)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return datetime.strptime(text, TIME_FORMAT).replace(tzinfo=UTC)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


class Database:
    """The store's connection with the part of sqlite-utils' ``Database`` the store uses
    (``execute``, ``executescript``, ``atomic``, ``conn``), with the same semantics, so that a
    command that only reads never imports sqlite-utils (~75 ms of start-up with its plugin scan).
    The connection is in autocommit mode (``isolation_level=None``): a statement outside
    ``atomic()`` commits on its own."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        #: Run in every transaction just before its COMMIT (the store's search index is written
        #: there: ``inbox.store.search_index.index_messages``).
        self.before_commit: Callable[[sqlite3.Connection], None] | None = None
        conn.execute("PRAGMA recursive_triggers = on")  # as sqlite-utils' Database sets it

    def commit(self) -> None:
        """End the open transaction: what must be written before a COMMIT, then the COMMIT."""
        if self.before_commit is not None:
            self.before_commit(self.conn)
        self.conn.execute("COMMIT")

    def execute(self, sql: str, parameters: Sequence[Any] | Mapping[str, Any] | None = None) -> sqlite3.Cursor:
        return self.conn.execute(sql) if parameters is None else self.conn.execute(sql, parameters)

    def executescript(self, sql: str) -> sqlite3.Cursor:
        """Several statements; inside a transaction they stay in it (no implicit COMMIT)."""
        if not self.conn.in_transaction:
            return self.conn.executescript(sql)
        cursor = self.conn.cursor()
        statement = ""
        for line in sql.splitlines(keepends=True):
            statement += line
            if sqlite3.complete_statement(statement):
                cursor.execute(statement)
                statement = ""
        if statement.strip():
            cursor.execute(statement)
        return cursor

    @contextmanager
    def atomic(self) -> Iterator[Database]:
        """One transaction; nested blocks are savepoints (rolled back alone on an error)."""
        if self.conn.in_transaction:
            savepoint = f"inbox_{secrets.token_hex(8)}"
            self.conn.execute(f"SAVEPOINT {savepoint}")
            try:
                yield self
            except BaseException:
                if self.conn.in_transaction:  # a RAISE(ROLLBACK) may have ended everything
                    self.conn.execute(f"ROLLBACK TO SAVEPOINT {savepoint}")
                    self.conn.execute(f"RELEASE SAVEPOINT {savepoint}")
                raise
            self.conn.execute(f"RELEASE SAVEPOINT {savepoint}")
            return
        self.conn.execute("BEGIN")
        try:
            yield self
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise
        try:
            self.commit()
        except BaseException:
            if self.conn.in_transaction:
                self.conn.execute("ROLLBACK")
            raise


def _create_private(path: Path) -> None:
    """Create the database file readable by its user only, before SQLite opens it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o600)
        os.close(fd)


def connect(path: Path | str, *, readonly: bool = False) -> Database:
    """Open (creating and migrating if needed) the store at ``path``; ":memory:" for tests."""
    memory = str(path) == ":memory:"
    where = "memory" if memory else str(path)
    try:
        if not memory and not readonly:
            _create_private(Path(path))
        if readonly:
            conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False, isolation_level=None)
        else:
            conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=10)
        conn.execute("PRAGMA foreign_keys = ON")
        if not memory and not readonly:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA busy_timeout = 10000")
        # A 64 MB page cache (default 2 MB): at a million messages the FTS and index pages an
        # import or a search touches no longer fit in 2 MB. (No mmap: mapped pages of a 1.5 GB
        # file count in the app's resident memory.)
        conn.execute("PRAGMA cache_size = -65536")
        conn.execute("PRAGMA temp_store = MEMORY")
        db = Database(conn)
        applied = MIGRATIONS.applied_names(conn)
        _refuse_newer(applied, where)
        if not readonly and applied != MIGRATIONS.names:
            MIGRATIONS.apply(db)
        if not readonly:
            db.before_commit = index_messages
    except sqlite3.DatabaseError as exc:
        raise StoreError(explain(exc, where)) from exc
    except OSError as exc:
        raise StoreError(f"cannot open the store at {where}: {exc.strerror or exc}") from exc
    return db


def _refuse_newer(applied: list[str], where: str) -> None:
    unknown = sorted(set(applied) - set(MIGRATIONS.names))
    if unknown:
        raise StoreError(
            f"the store at {where} was written by a newer version of Inbox "
            f"(it has migration {unknown[-1]}); update Inbox to open it"
        )


def explain(exc: sqlite3.Error, where: str) -> str:
    """One line a user can act on, for the errors a store meets in real life."""
    text = str(exc)
    lowered = text.lower()
    if "disk is full" in lowered or "database or disk is full" in lowered:
        return f"the disk holding the store ({where}) is full: free some space; nothing stored was lost"
    if "readonly" in lowered or "read-only" in lowered:
        return f"the store at {where} is read-only: check the file's permissions; nothing stored was lost"
    if "not a database" in lowered or "malformed" in lowered:
        return f"the store at {where} is damaged ({text})"
    if "locked" in lowered:
        return f"the store at {where} is busy in another program ({text})"
    return f"store error at {where}: {text}"
