"""Profile pictures kept beside the store, so the customer panel shows them offline too."""

from __future__ import annotations

import hashlib
from pathlib import Path

from inbox.store.repository import Store


def avatar_dir(store: Store) -> Path | None:
    files = store.files_dir
    return None if files is None else files.parent / "avatars"


def cache_path(store: Store, url: str) -> Path | None:
    folder = avatar_dir(store)
    return None if folder is None else folder / hashlib.sha256(url.encode()).hexdigest()


def missing(store: Store, limit: int = 20) -> list[str]:
    """Picture addresses of identities whose picture is not cached yet (most recent first)."""
    rows = store._rows(
        "SELECT DISTINCT avatar_url FROM identities WHERE avatar_url LIKE 'http%' ORDER BY id DESC LIMIT ?",
        [limit * 5],
    )
    urls = [str(r["avatar_url"]) for r in rows]
    return [u for u in urls if (p := cache_path(store, u)) is not None and not p.exists()][:limit]


def for_customer(store: Store, customer_id: int) -> Path | None:
    """The cached picture of one of the customer's identities (the one with most followers)."""
    rows = store._rows(
        """SELECT avatar_url FROM identities WHERE customer_id = ? AND avatar_url IS NOT NULL
           ORDER BY COALESCE(followers, 0) DESC""",
        [customer_id],
    )
    for row in rows:
        path = cache_path(store, str(row["avatar_url"]))
        if path is not None and path.exists():
            return path
    return None
