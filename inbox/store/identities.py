"""Who wrote a message: the identity row of its author, the customer it belongs to (a new one
for a new author) and the link suggestions its text or name gives (an address or number another
customer has, the same full name)."""

from __future__ import annotations

import re
from datetime import datetime

from inbox.conversations import identity as identity_rules
from inbox.models import (
    Author,
)
from inbox.store.database import Database, to_db_time


def identity_of(db: Database, author: Author, *, create_customer: bool) -> tuple[int, int | None]:
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
            customer_id = new_customer(db, name or handle or key)
            db.conn.execute("UPDATE identities SET customer_id = ? WHERE id = ?", [customer_id, identity_id])
        return identity_id, None if customer_id is None else int(customer_id)
    customer_id = new_customer(db, author.display_name or author.handle or key) if create_customer else None
    cursor = db.conn.execute(
        """INSERT INTO identities (kind, key, handle, display_name, customer_id, followers, avatar_url)
           VALUES (?,?,?,?,?,?,?)""",
        [author.kind.value, key, author.handle, author.display_name, customer_id, author.followers, author.avatar_url],
    )
    identity_id = int(cursor.lastrowid or 0)
    if customer_id is not None:
        suggest_by_name(db, identity_id, customer_id, author.display_name)
    return identity_id, customer_id


def new_customer(db: Database, name: str) -> int:
    from datetime import UTC

    cursor = db.conn.execute(
        "INSERT INTO customers (display_name, name_key, created_at) VALUES (?, ?, ?)",
        [name, identity_rules.comparable_name(name), to_db_time(datetime.now(UTC))],
    )
    return int(cursor.lastrowid or 0)


_DIGIT = re.compile(r"\d")


def suggest_links(db: Database, identity_id: int, customer_id: int, text: str) -> None:
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


def suggest_by_name(db: Database, identity_id: int, customer_id: int, name: str) -> None:
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
