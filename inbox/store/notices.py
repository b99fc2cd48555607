"""Notifications raised once each: which SLA warnings and breaches are new since last shown."""

from __future__ import annotations

from datetime import datetime

from inbox.store.database import Database, from_db_time, to_db_time
from inbox.store.repository import Store


def unseen_sla_transitions(store: Store, since: datetime, until: datetime) -> list[tuple[str, int, str, str, datetime]]:
    """(key, conversation_id, target, kind, at) of warnings/breaches in [since, until] never notified,
    marking them notified in the same transaction, so each is raised once."""

    def write(db: Database) -> list[tuple[str, int, str, str, datetime]]:
        rows = db.execute(
            """SELECT l.conversation_id, l.target, l.round, l.kind, l.at FROM sla_log l
               JOIN conversations c ON c.id = l.conversation_id
               WHERE l.kind IN ('warned', 'breached') AND l.at >= ? AND l.at <= ? AND c.status != 'closed'
               ORDER BY l.at""",
            [to_db_time(since), to_db_time(until)],
        ).fetchall()
        fresh: list[tuple[str, int, str, str, datetime]] = []
        for cid, target, rnd, kind, at in rows:
            key = f"sla:{cid}:{target}:{rnd}:{kind}"
            cur = db.execute(
                "INSERT OR IGNORE INTO notifications_sent (key, at) VALUES (?, ?)", [key, to_db_time(until)]
            )
            if cur.rowcount:
                fresh.append((key, int(cid), str(target), str(kind), from_db_time(at)))
        return fresh

    return store._write(write)


def last_inbound_at(store: Store, conversation_id: int) -> datetime | None:
    """When the customer last wrote in a conversation (Messenger's 24-hour window starts there)."""
    rows = store._rows("SELECT last_inbound_at FROM conversations WHERE id = ?", [conversation_id])
    return from_db_time(rows[0]["last_inbound_at"]) if rows and rows[0]["last_inbound_at"] else None
