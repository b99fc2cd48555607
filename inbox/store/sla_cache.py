"""The inputs of the SLA engine and its cached results: each conversation's events, which cached
states may be stale, the SLA logs and cached deadlines written back in one transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, NamedTuple

from inbox.models import ConversationEvent, EventKind
from inbox.store.database import Database, from_db_time, to_db_time
from inbox.store.drafts import SettingRepository

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


class SlaCache(SettingRepository):
    """SLA inputs, staleness, logs and cache (a part of :class:`inbox.store.repository.Store`)."""

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

