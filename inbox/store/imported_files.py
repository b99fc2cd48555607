"""The mail files an import stored (path, size, modification time, how many messages), so that
importing an unchanged maildir again reads none of them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from inbox.store.database import Database
from inbox.store.search_index import TOP as _TOP  # sorts after any text: a prefix range on the primary key


@dataclass(frozen=True, slots=True)
class ImportedFile:
    """A file as it was when its messages were stored."""

    path: str
    size: int
    mtime_ns: int
    messages: int = 0


def known(db: Database, account_id: str, root: str) -> dict[str, ImportedFile]:
    """Files under the folder ``root`` already imported for ``account_id``, by path."""
    prefix = root.rstrip("/") + "/"
    rows = db.conn.execute(
        """SELECT path, size, mtime_ns, messages FROM imported_files
           WHERE account_id = ? AND path >= ? AND path < ?""",
        [account_id, prefix, prefix + _TOP],
    )
    return {str(r[0]): ImportedFile(str(r[0]), int(r[1]), int(r[2]), int(r[3])) for r in rows}


def record(db: Database, account_id: str, files: Iterable[ImportedFile]) -> None:
    db.conn.executemany(
        "INSERT OR REPLACE INTO imported_files (account_id, path, size, mtime_ns, messages) VALUES (?,?,?,?,?)",
        [(account_id, f.path, f.size, f.mtime_ns, f.messages) for f in files],
    )
