"""Moving every stored instant by the same amount, in one transaction: a workspace built at one
instant (the demo) reads, when opened later, as of the moment it is opened, SLA cache and log
included, so its countdowns are the ones it was built with."""

from __future__ import annotations

from datetime import timedelta

from inbox.store.database import Database, from_db_time, to_db_time
from inbox.store.repository import Store


def instant_columns(db: Database) -> list[tuple[str, str, list[str]]]:
    """(table, column, key columns) of every stored instant: the columns named ``at`` or ``*_at``
    of our tables (the migrations' own bookkeeping and full-text shadow tables excluded)."""
    found: list[tuple[str, str, list[str]]] = []
    tables = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_%' ESCAPE '\\'"
        " AND name NOT LIKE 'sqlite%' AND sql NOT LIKE 'CREATE VIRTUAL%'"
    ).fetchall()
    for (table,) in tables:
        info = db.execute(f'PRAGMA table_info("{table}")').fetchall()  # cid, name, type, notnull, default, pk
        keys = [str(r[1]) for r in sorted(info, key=lambda r: r[5]) if r[5]] or ["rowid"]
        found.extend((table, str(r[1]), keys) for r in info if r[1] == "at" or str(r[1]).endswith("_at"))
    return found


def shift_instants(store: Store, delta: timedelta, settings: dict[str, str] | None = None) -> int:
    """Add ``delta`` to every stored instant and save ``settings``, all or nothing; returns how
    many values moved."""

    def write(db: Database) -> int:
        moved = 0
        for table, column, keys in instant_columns(db):
            names = [k if k == "rowid" else f'"{k}"' for k in keys]
            rows = db.execute(f'SELECT {", ".join(names)}, "{column}" FROM "{table}" WHERE "{column}" IS NOT NULL').fetchall()
            where = " AND ".join(f"{name} = ?" for name in names)
            db.conn.executemany(
                f'UPDATE "{table}" SET "{column}" = ? WHERE {where}',
                [(to_db_time(from_db_time(row[-1]) + delta), *row[:-1]) for row in rows],
            )
            moved += len(rows)
        for key, value in (settings or {}).items():
            db.execute("INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)", [key, value])
        return moved

    return store._write(write)
