"""Server jobs, each run by exactly one process under a ``job_leases`` row, with the core code the
solo app runs on the desktop:

* ``sla``: every open conversation whose cached SLA state can be wrong (a new event, a passed
  warning or breach instant, never computed) is replayed with :func:`inbox.sla.engine.assess` under the
  policies in force (``server_settings.sla_policies``, else the shipped defaults); its deadline,
  state and SLA log are written, with a ``conversation`` change when what agents see moved.
* ``triage``: customer messages get a language and a sentiment (:mod:`inbox.triage.sentiment_textblob`),
  then :func:`inbox.triage.rules.evaluate` scores every open conversation and sets the priorities no
  agent set (with a ``priority`` event by "triage").
* ``crisis``: :func:`inbox.triage.crisis.detect` over the scored public messages; a burst raises one
  alert per window (``alerts`` row, change for admins).

Each pass writes in one transaction that first checks the job's lease (``FOR KEY SHARE``), so a
process that lost the lease has its write refused.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import DictRow
from psycopg.types.json import Jsonb

from inbox.models import ConversationEvent, EventKind, Priority
from inbox.server import ingest
from inbox.server.channel_store import Pool
from inbox.server.leases import Lease, LeaseLost, guard
from inbox.sla import engine as sla
from inbox.sla.policy import POLICY_SETTING, PolicySet, default_policies, load_policies
from inbox.triage import crisis
from inbox.triage import rules as triage

log = logging.getLogger(__name__)

Conn = psycopg.Connection[DictRow]
TRIAGE_ACTOR = triage.TRIAGE_ACTOR
SLA_BATCH = 500
WRITE_BATCH = 50  # rows per write transaction: short, so desktops' pulls are never held back for long
SCORE_BATCH = 200
_CUSTOMER_MESSAGE = "m.direction = 'in' AND NOT m.private AND NOT m.automated"


def _setting(conn: Conn, key: str) -> str:
    row = conn.execute("SELECT value FROM server_settings WHERE key = %s", [key]).fetchone()
    return "" if row is None else str(row["value"])


def policies(conn: Conn) -> PolicySet:
    from inbox.sla.holidays import country_holidays

    text = _setting(conn, POLICY_SETTING)
    if text:
        return load_policies(text, "server sla_policies", country_holidays)
    return default_policies(country_holidays)


# -- SLA -----------------------------------------------------------------------------------------


def sla_pass(pool: Pool, lease: Lease, now: datetime) -> int:
    """Recompute the SLA cache of the stale open conversations; returns how many.

    The inputs are read and replayed outside any transaction, and the results written in one
    short transaction under the lease: a long transaction would hold back every desktop's pull
    (pulls stop at the oldest running transaction). A conversation that received an event
    meanwhile keeps an older ``sla_event_id`` and is simply stale again at the next pass."""
    with pool.connection() as conn:
        stale = conn.execute(
            """SELECT c.id, c.channel, c.account_id, coalesce(cu.vip, false) AS vip, c.sla_due_at, c.sla_state
               FROM conversations c LEFT JOIN customers cu ON cu.id = c.customer_id
               WHERE c.status <> 'closed' AND NOT c.noise AND (
                   c.sla_at IS NULL OR c.sla_next_at <= %s
                   OR c.sla_event_id IS DISTINCT FROM (SELECT max(e.id) FROM events e WHERE e.conversation_id = c.id))
               ORDER BY c.id LIMIT %s""",
            [now, SLA_BATCH],
        ).fetchall()
        if not stale:
            return 0
        ids = [int(r["id"]) for r in stale]
        events: dict[int, list[tuple[int, ConversationEvent]]] = {cid: [] for cid in ids}
        for e in conn.execute(
            "SELECT id, conversation_id, kind, at, actor, value FROM events WHERE conversation_id = ANY(%s) "
            "ORDER BY at, id",
            [ids],
        ).fetchall():
            event = ConversationEvent(int(e["conversation_id"]), EventKind(e["kind"]), e["at"], e["actor"], e["value"])
            events[int(e["conversation_id"])].append((int(e["id"]), event))
        rules = policies(conn)
    results = []
    for row in stale:
        cid = int(row["id"])
        evs = [e for _i, e in events[cid]]
        last_event_id = max((i for i, _e in events[cid]), default=None)
        subject = sla.SlaSubject(cid, row["channel"], Priority.NORMAL.value, frozenset(), bool(row["vip"]))
        statuses, entries = sla.assess(subject, evs, rules, now)
        # As the desktop's refresh (inbox/workspace.refresh_sla): the most urgent running
        # target is the queue's deadline; the cache holds until its next warning or breach.
        live = sorted((s for s in statuses if s.state is not sla.TargetState.MET), key=sla.urgency_key)
        due = live[0].due_at if live else None
        state = live[0].state.value if live else "met" if statuses else None
        later = [e.at for e in evs if e.at > now]
        upcoming = [w for w in (sla.next_transition(statuses), min(later, default=None)) if w]
        results.append((row, due, state, min(upcoming) if upcoming else None, last_event_id, entries))
    for start in range(0, len(results), WRITE_BATCH):
        _write_sla(pool, lease, now, results[start : start + WRITE_BATCH])
    return len(results)


def _write_sla(pool: Pool, lease: Lease, now: datetime, results: list[Any]) -> None:
    with pool.connection() as conn, conn.transaction():
        guard(conn, lease)
        seqs: list[int] = []
        for row, due, state, next_at, last_event_id, entries in results:
            cid = int(row["id"])
            conn.execute(
                """UPDATE conversations SET sla_due_at = %s, sla_state = %s, sla_at = %s, sla_next_at = %s,
                       sla_event_id = %s WHERE id = %s""",
                [due, state, now, next_at, last_event_id, cid],
            )
            conn.execute("DELETE FROM sla_log WHERE conversation_id = %s", [cid])
            with conn.cursor() as cur:
                cur.executemany(
                    """INSERT INTO sla_log (conversation_id, at, kind, target, round, policy, business_s)
                       VALUES (%s, %s, %s, %s, %s, %s, %s)""",
                    [(cid, e.at, e.kind, e.target.value, e.round, e.policy, e.business_s) for e in entries],
                )
            if (due, state) != (row["sla_due_at"], row["sla_state"]):
                seqs.append(
                    ingest.record_change(conn, "conversation", account_id=row["account_id"], conversation_id=cid,
                                         actor="sla", payload={"sla_state": state})
                )  # fmt: skip
        ingest.notify_changes(conn, seqs)


# -- sentiment and triage ---------------------------------------------------------------------------


def score_pass(pool: Pool, lease: Lease, analyse: Callable[[str], tuple[str, float]]) -> int:
    """Give up to SCORE_BATCH unscored customer messages a language and a sentiment."""
    with pool.connection() as conn:
        rows = conn.execute(
            f"""SELECT m.id, m.text, coalesce(m.subject, '') AS subject FROM messages m
                WHERE {_CUSTOMER_MESSAGE} AND m.sentiment IS NULL ORDER BY m.id DESC LIMIT %s""",
            [SCORE_BATCH],
        ).fetchall()
    results: list[tuple[str, float, int]] = []
    for r in rows:  # outside any transaction: scoring is the slow part
        text = r["text"] or r["subject"]
        try:
            lang, value = analyse(text) if text.strip() else ("", 0.0)
        except Exception:  # one unreadable message never blocks the others
            lang, value = "", 0.0
        results.append((lang, max(-1.0, min(1.0, float(value))), int(r["id"])))
    if results:
        with pool.connection() as conn, conn.transaction():
            guard(conn, lease)
            with conn.cursor() as cur:
                cur.executemany("UPDATE messages SET lang = %s, sentiment = %s WHERE id = %s", results)
    return len(results)


def triage_inputs(conn: Conn, now: datetime) -> list[triage.TriageInput]:
    rows = conn.execute(
        f"""SELECT c.id, c.priority_source, coalesce(cu.vip, false) AS vip, latest.sentiment, latest.surface,
                  (SELECT max(i.followers) FROM messages m JOIN identities i ON i.id = m.identity_id
                     WHERE m.conversation_id = c.id AND m.direction = 'in') AS followers,
                  (SELECT min(m.sent_at) FROM messages m WHERE m.conversation_id = c.id AND {_CUSTOMER_MESSAGE}
                     AND m.sent_at > coalesce((SELECT max(o.sent_at) FROM messages o WHERE o.conversation_id = c.id
                        AND o.direction = 'out' AND NOT o.private AND NOT o.automated), '-infinity')) AS unanswered,
                  (SELECT e.actor FROM events e WHERE e.conversation_id = c.id AND e.kind = 'priority'
                     ORDER BY e.at DESC, e.id DESC LIMIT 1) AS priority_actor
           FROM conversations c LEFT JOIN customers cu ON cu.id = c.customer_id
           LEFT JOIN LATERAL (SELECT m.sentiment, m.surface FROM messages m
                              WHERE m.conversation_id = c.id AND {_CUSTOMER_MESSAGE}
                              ORDER BY m.sent_at DESC, m.id DESC LIMIT 1) latest ON true
           WHERE c.status IN ('new', 'open', 'pending') AND NOT c.noise ORDER BY c.id"""
    ).fetchall()
    out = []
    for r in rows:
        waiting = (now - r["unanswered"]).total_seconds() if r["unanswered"] else 0.0
        by_agent = r["priority_source"] == "agent" or (
            r["priority_actor"] is not None and r["priority_actor"] != TRIAGE_ACTOR
        )
        out.append(
            triage.TriageInput(int(r["id"]), r["sentiment"], r["surface"] in ("mention", "comment"), r["followers"],
                               bool(r["vip"]), max(0.0, waiting), by_agent)
        )  # fmt: skip
    return out


def triage_pass(pool: Pool, lease: Lease, now: datetime) -> int:
    """Score every open conversation; set the priorities no agent set. Returns how many changed.
    Read and evaluated outside any transaction; only what changes is written, in a short one."""
    with pool.connection() as conn:
        rules = triage.load_rules(_setting(conn, "triage_rules") or triage.DEFAULT_RULES, "server triage_rules")
        inputs = triage_inputs(conn, now)
        current = {
            int(r["id"]): r
            for r in conn.execute(
                "SELECT id, priority, priority_source, score, account_id FROM conversations WHERE id = ANY(%s)",
                [[i.conversation_id for i in inputs]],
            ).fetchall()
        }
    results = [triage.evaluate(item, rules) for item in inputs]
    moved = [
        res for res in results
        if res.conversation_id in current and (
            current[res.conversation_id]["score"] is None
            or abs(float(current[res.conversation_id]["score"]) - res.score) > 1e-6
            or current[res.conversation_id]["priority"] != res.priority.value)
    ]  # fmt: skip
    if not moved:
        return 0
    changed = 0
    for start in range(0, len(moved), WRITE_BATCH):
        changed += _write_triage(pool, lease, now, moved[start : start + WRITE_BATCH])
    return changed


def _write_triage(pool: Pool, lease: Lease, now: datetime, moved: list[triage.TriageResult]) -> int:
    changed = 0
    with pool.connection() as conn, conn.transaction():
        guard(conn, lease)
        seqs: list[int] = []
        for res in moved:
            # Re-read under the row lock: an agent may have set the priority meanwhile.
            row = conn.execute(
                "SELECT priority, priority_source, account_id FROM conversations WHERE id = %s FOR UPDATE",
                [res.conversation_id],
            ).fetchone()
            if row is None:
                continue
            conn.execute("UPDATE conversations SET score = %s WHERE id = %s", [res.score, res.conversation_id])
            if not res.replaces_priority(row["priority"], row["priority_source"]):
                continue
            conn.execute(
                "UPDATE conversations SET priority = %s, priority_source = 'auto', updated_at = now() WHERE id = %s",
                [res.priority.value, res.conversation_id],
            )
            conn.execute(
                "INSERT INTO events (conversation_id, kind, at, actor, value) VALUES (%s, 'priority', %s, %s, %s)",
                [res.conversation_id, now, TRIAGE_ACTOR, res.priority.value],
            )
            seqs.append(
                ingest.record_change(conn, "conversation", account_id=row["account_id"],
                                     conversation_id=res.conversation_id, actor=TRIAGE_ACTOR,
                                     payload={"priority": res.priority.value, "reasons": list(res.reasons)})
            )  # fmt: skip
            changed += 1
        ingest.notify_changes(conn, seqs)
    return changed


# -- crisis --------------------------------------------------------------------------------------------


def crisis_pass(pool: Pool, lease: Lease, now: datetime, rules: crisis.CrisisRules | None = None) -> int | None:
    """Raise a crisis alert when the window ending ``now`` is a burst and none is open for it."""
    rules = rules or crisis.CrisisRules()
    since = now - timedelta(days=rules.baseline_days) - rules.window
    with pool.connection() as conn:  # read outside any transaction: pulls are not held back
        signals = [
            crisis.Signal(int(r["id"]), r["sent_at"], float(r["sentiment"]), bool(r["public"]))
            for r in conn.execute(
                f"""SELECT m.id, m.sent_at, m.sentiment, m.surface IN ('mention', 'comment') AS public
                    FROM messages m WHERE {_CUSTOMER_MESSAGE} AND m.sentiment IS NOT NULL AND m.sent_at >= %s
                    ORDER BY m.sent_at""",
                [since],
            ).fetchall()
        ]
    found = crisis.detect(signals, now, rules)
    if found is None:
        return None
    with pool.connection() as conn, conn.transaction():
        guard(conn, lease)
        if conn.execute(
            "SELECT 1 FROM alerts WHERE kind = 'crisis' AND at > %s", [now - rules.window]
        ).fetchone():
            return None
        row = conn.execute(
            "INSERT INTO alerts (kind, at, detail) VALUES ('crisis', %s, %s) RETURNING id", [now, Jsonb(found.detail())]
        ).fetchone()
        assert row is not None
        seq = ingest.record_change(conn, "alert", account_id=None, actor="crisis",
                                   payload={"alert_id": int(row["id"]), "kind": "crisis"})  # fmt: skip
        ingest.notify_changes(conn, [seq])
        log.warning("crisis alert %s: %d negative public messages in the last window", row["id"], found.negative)
        return int(row["id"])


# -- running --------------------------------------------------------------------------------------------


def _analyse() -> Callable[[str], tuple[str, float]]:
    from inbox.triage.sentiment_textblob import analyse

    return analyse


def run_pass(name: str, pool: Pool, lease: Lease, now: datetime) -> Any:
    """One pass of job ``name`` (blocking; run in a worker thread)."""
    if name == "sla":
        return sla_pass(pool, lease, now)
    if name == "triage":
        analyse = _analyse()
        for _ in range(5):
            if score_pass(pool, lease, analyse) < SCORE_BATCH:
                break
        return triage_pass(pool, lease, now)
    if name == "crisis":
        return crisis_pass(pool, lease, now)
    raise ValueError(f"unknown job {name}")


JOBS = ("sla", "triage", "crisis")


async def run_job(name: str, pool: Pool, lease_of: Callable[[], Lease | None], interval: float) -> None:
    """Run job ``name`` every ``interval`` seconds while this process holds its lease."""
    while True:
        lease = lease_of()
        if lease is None or not lease.valid_locally():
            return
        try:
            await asyncio.to_thread(run_pass, name, pool, lease, datetime.now(UTC))
        except LeaseLost:
            log.warning("job %s: lease epoch %d lost, stopping", name, lease.epoch)
            return
        except psycopg.errors.TransactionRollback:  # a deadlock or serialization failure: next round
            log.info("job %s: pass rolled back, retried next round", name)
        except Exception:  # a bug in one pass must not stop the job
            log.exception("job %s: pass failed", name)
        await asyncio.sleep(interval)
