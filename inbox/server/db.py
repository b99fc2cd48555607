"""The PostgreSQL side of the server: the connection pool and the versioned migrations.

Migrations are the ``migrations/NNNN_name.sql`` files beside this module, applied in order, each
in its own transaction that first takes ``pg_advisory_xact_lock`` and records itself in
``schema_version``; two processes starting at once therefore apply each migration exactly once
(the second waits, then sees it recorded). A database that records a version this code does not
know was migrated by a newer Inbox and is refused.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from inbox.errors import InboxError

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
#: The advisory lock key of the migration transaction (any constant both processes agree on).
MIGRATION_LOCK = 0x1B0C_5E12

Conn = psycopg.AsyncConnection[DictRow]


def dsn_from_env() -> str:
    dsn = os.environ.get("INBOX_DSN", "")
    if not dsn:
        raise InboxError("no database: pass --dsn or set INBOX_DSN (or run `inbox serve --dev`)")
    return dsn


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(folder: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The migrations shipped with this code, in order; a gap or a duplicate number is a bug."""
    found: list[Migration] = []
    for path in sorted(folder.glob("*.sql")):
        m = _NAME.match(path.name)
        if m is None:
            raise InboxError(f"migration file {path.name} is not named NNNN_name.sql")
        found.append(Migration(int(m.group(1)), m.group(2), path.read_text(encoding="utf-8")))
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise InboxError(f"migration {migration.version:04d}_{migration.name} is out of sequence")
    return found


async def migrate(dsn: str, folder: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the pending migrations; returns the names applied by this call."""
    known = migrations(folder)
    applied: list[str] = []
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        for migration in known:
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
                await conn.execute(
                    """CREATE TABLE IF NOT EXISTS schema_version (
                           version integer PRIMARY KEY,
                           name text NOT NULL,
                           applied_at timestamptz NOT NULL DEFAULT now())"""
                )
                cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
                row = await cur.fetchone()
                current = int(row[0]) if row else 0
                if current > len(known):
                    raise InboxError(
                        f"the database is at schema version {current}, newer than this Inbox knows "
                        f"({len(known)}): upgrade Inbox"
                    )
                if migration.version <= current:
                    continue
                await conn.execute(migration.sql.encode())
                await conn.execute(
                    "INSERT INTO schema_version (version, name) VALUES (%s, %s)", [migration.version, migration.name]
                )
                applied.append(f"{migration.version:04d}_{migration.name}")
                log.info("applied migration %04d_%s", migration.version, migration.name)
        if not known:
            return applied
        cur = await conn.execute("SELECT coalesce(max(version), 0) FROM schema_version")
        row = await cur.fetchone()
        if row and int(row[0]) > len(known):
            raise InboxError(f"the database is at schema version {row[0]}, newer than this Inbox knows: upgrade Inbox")
    return applied


async def schema_version(conn: Conn) -> int:
    cur = await conn.execute("SELECT coalesce(max(version), 0) AS version FROM schema_version")
    row = await cur.fetchone()
    return int(row["version"]) if row else 0


class Database:
    """The process's pool of connections; every request borrows one for one transaction."""

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10) -> None:
        self.dsn = dsn
        self.pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            dsn,
            min_size=min_size,
            max_size=max_size,
            open=False,
            kwargs={"row_factory": dict_row, "autocommit": True, "application_name": "inbox-serve"},
            connection_class=psycopg.AsyncConnection[DictRow],
        )

    async def open(self) -> None:
        await self.pool.open(wait=True)

    async def close(self) -> None:
        await self.pool.close()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Conn]:
        """A connection inside one transaction: committed when the block ends, rolled back if it raises."""
        async with self.pool.connection() as conn, conn.transaction():
            yield conn

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[Conn]:
        """A connection in autocommit mode, for single-statement reads."""
        async with self.pool.connection() as conn:
            yield conn
