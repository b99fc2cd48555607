"""What an agent does all day, timed on the ingested store: views, search, opening, SLA."""

from __future__ import annotations

import random
import statistics
import subprocess
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench.corpus_text import QUERIES
from bench.generate import ANCHOR, HEAVY_EMAIL
from inbox.app.workspace import policies, refresh_sla, statuses_at
from inbox.models import IdentityKind, QueueFilter, QueueSort, Status
from inbox.sla import engine as sla
from inbox.store.database import to_db_time
from inbox.store.repository import Store
from inbox.ui.views import ACTIVE, channel_views, standard_views, tag_view

AGENTS = ("camille", "noah", "sam")
TAGS = ("billing", "delivery", "refund", "warranty")


def settle_workspace(store: Store) -> dict[str, int]:
    """Give the imported workspace a life: what is older than ~5 weeks is closed, some recent
    conversations are solved or pending, some assigned and tagged; each change with its event."""
    cutoff = to_db_time(ANCHOR - timedelta(days=36))
    rng = random.Random(7)

    def write(db: Any) -> None:
        conn = db.conn
        conn.execute(
            """INSERT INTO events (conversation_id, kind, at, actor, value)
               SELECT id, 'status', last_message_at, 'camille', 'closed' FROM conversations
               WHERE last_message_at < ? AND status != 'closed'""",
            [cutoff],
        )
        conn.execute("UPDATE conversations SET status = 'closed' WHERE last_message_at < ?", [cutoff])
        recent = [int(r[0]) for r in conn.execute("SELECT id FROM conversations WHERE status != 'closed'")]
        changes, assigned, tagged = [], [], []
        for cid in recent:
            roll = rng.random()
            if roll < 0.12:
                changes.append((cid, "solved"))
            elif roll < 0.25:
                changes.append((cid, "pending"))
            if rng.random() < 0.4:
                assigned.append((rng.choice(AGENTS), cid))
        for (cid,) in conn.execute("SELECT id FROM conversations"):
            if rng.random() < 0.2:
                tagged.append((int(cid), rng.choice(TAGS)))
        at = to_db_time(ANCHOR - timedelta(hours=1))
        conn.executemany("UPDATE conversations SET status = ? WHERE id = ?", [(s, c) for c, s in changes])
        conn.executemany(
            "INSERT INTO events (conversation_id, kind, at, actor, value) VALUES (?, 'status', ?, 'camille', ?)",
            [(c, at, s) for c, s in changes],
        )
        conn.executemany("UPDATE conversations SET assignee = ? WHERE id = ?", assigned)
        conn.executemany(
            "INSERT INTO events (conversation_id, kind, at, actor, value) VALUES (?, 'assigned', ?, 'camille', ?)",
            [(c, at, a) for a, c in assigned],
        )
        conn.executemany("INSERT OR IGNORE INTO conversation_tags (conversation_id, tag) VALUES (?, ?)", tagged)

    store._write(write)
    rows = store._rows("SELECT status, COUNT(*) AS n FROM conversations GROUP BY status")
    store.db.conn.execute("ANALYZE")
    return {str(r["status"]): int(r["n"]) for r in rows}


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50, p95 and max in milliseconds."""
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "p50_ms": statistics.median(ordered) * 1e3,
        "p95_ms": p95 * 1e3,
        "max_ms": ordered[-1] * 1e3,
        "n": len(ordered),
    }


def search(store: Store, rounds: int = 5) -> dict[str, Any]:
    samples: list[float] = []
    hits: dict[str, int] = {}
    for _ in range(rounds):
        for query in QUERIES:
            samples.append(timed(lambda q=query: store.search(q)))  # type: ignore[misc]
            samples.append(timed(lambda q=query: store.search_conversation_ids(q)))  # type: ignore[misc]
    for query in QUERIES:
        hits[query] = len(store.search_conversation_ids(query))
    return {**percentiles(samples), "conversations_found": hits}


def notmuch_search(env: dict[str, str], rounds: int = 3) -> dict[str, Any]:
    samples: list[float] = []
    spawn = [
        timed(lambda: subprocess.run(["notmuch", "--version"], capture_output=True, check=False)) for _ in range(5)
    ]
    for _ in range(rounds):
        for query in QUERIES:
            args = ["notmuch", "search", "--limit=50", "--output=threads", query]
            samples.append(timed(lambda a=args: subprocess.run(a, env=env, capture_output=True, check=False)))  # type: ignore[misc]
    return {**percentiles(samples), "process_start_ms": statistics.median(spawn) * 1e3}


def queue_filters(store: Store) -> list[tuple[str, QueueFilter]]:
    """The views of the sidebar, each sort of "All open", and a channel and a tag filter."""
    found = [(v.key, v.filter) for v in standard_views("camille") + channel_views()]
    found += [(f"tag:{tag}", tag_view(tag).filter) for tag in TAGS]
    found += [(f"open by {sort.value}", QueueFilter(statuses=ACTIVE, sort=sort)) for sort in QueueSort]
    found.append(("all, newest", QueueFilter(statuses=frozenset(Status), sort=QueueSort.NEWEST)))
    return found


def queue(store: Store, rounds: int = 5) -> dict[str, Any]:
    samples: list[float] = []
    worst: dict[str, float] = {}
    for _ in range(rounds):
        for key, flt in queue_filters(store):
            spent = timed(lambda f=flt: (store.queue(f, limit=200), store.count(f)))  # type: ignore[misc]
            samples.append(spent)
            worst[key] = max(worst.get(key, 0.0), spent * 1e3)
    slowest = sorted(worst.items(), key=lambda kv: -kv[1])[:4]
    return {**percentiles(samples), "slowest": slowest}


def open_conversations(store: Store, count: int = 300) -> dict[str, Any]:
    ids = [int(r["id"]) for r in store._rows("SELECT id FROM conversations")]
    rng = random.Random(11)
    picked = rng.sample(ids, min(count, len(ids)))
    samples = [timed(lambda c=cid: (store.conversation(c), store.messages(c))) for cid in picked]  # type: ignore[misc]
    return percentiles(samples)


def customer_history(store: Store) -> dict[str, Any]:
    """The customer panel's history of the customer with ~1,000 messages: the customer, their
    identities, their conversations, and every message of those conversations."""
    ident = store.identity(IdentityKind.EMAIL, HEAVY_EMAIL)
    if ident is None or ident.customer_id is None:
        return {"error": "heavy customer not found"}
    customer_id = ident.customer_id
    counted = [0]

    def history() -> None:
        store.customer(customer_id)
        store.identities(customer_id)
        convs = store.customer_conversations(customer_id)
        counted[0] = sum(len(store.messages(c.id)) for c in convs)

    samples = [timed(history) for _ in range(5)]
    return {**percentiles(samples), "messages": counted[0]}


def sla_figures(store: Store, wanted: int) -> dict[str, Any]:
    """The SLA engine as the app runs it on every open conversation (about ``wanted`` of them):
    replaying all (what new policies cost), the refresh of every tick when nothing changed, and
    the refresh a minute later after 1% of them got a new event (status changes, as replies and
    triage make). ``statuses_at`` (the ``inbox sla`` command) replays ``wanted`` of them."""
    open_ids = store.open_conversation_ids()
    ids = open_ids[:wanted]
    full = [timed(lambda: refresh_sla(store, ANCHOR, force=True)) for _ in range(2)]
    steady = [timed(lambda: refresh_sla(store, ANCHOR)) for _ in range(5)]
    rng = random.Random(5)
    later = ANCHOR + timedelta(minutes=1)
    touched = rng.sample(open_ids, max(1, len(open_ids) // 100))
    for cid in touched:
        store.set_status(cid, Status.PENDING, later, "camille")
    replayed = [0]

    def after_activity() -> None:
        replayed[0] = refresh_sla(store, later)

    activity = timed(after_activity)
    states = [timed(lambda: statuses_at(store, ANCHOR, ids)) for _ in range(3)]
    visible_ids = [c.id for c in store.queue(QueueFilter(statuses=ACTIVE), limit=40)]
    visible = statuses_at(store, ANCHOR, visible_ids)
    calendars = {p.name: p.calendar for p in policies(store).policies}
    now = ANCHOR + timedelta(seconds=1)

    def tick() -> None:
        for status in visible:
            sla.countdown(status, calendars[status.policy], now)

    ticks = [timed(tick) for _ in range(200)]
    return {
        "conversations": len(open_ids),
        "replayed_by_statuses_at": len(ids),
        "full_replay_ms": min(full) * 1e3,
        "refresh_sla_ms": min(steady) * 1e3,
        "after_activity_ms": activity * 1e3,
        "after_activity_replayed": replayed[0],
        "statuses_at_ms": min(states) * 1e3,
        "tick": {**percentiles(ticks), "statuses": len(visible)},
    }


def db_size(path: Path, messages: int) -> dict[str, float]:
    total = sum(Path(f"{path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{path}{s}").exists())
    return {"bytes": total, "bytes_per_message": total / max(1, messages)}


def agent_queries(store: Store, each: int = 4) -> dict[str, list[str]]:
    """What agents type besides words, picked from the store (fixed seed): customers' addresses,
    names, X handles, CRM numbers and conversation numbers."""
    rng = random.Random(19)

    def pick(sql: str) -> list[str]:
        values = [str(r[0]) for r in store._rows(sql) if r[0]]
        return rng.sample(values, min(each, len(values)))

    give_crm_numbers(store)
    return {
        "words": list(QUERIES),
        "address": pick("SELECT key FROM identities WHERE kind = 'email' ORDER BY id LIMIT 5000"),
        "name": pick("SELECT display_name FROM customers ORDER BY id LIMIT 5000"),
        "handle": pick("SELECT handle FROM identities WHERE kind = 'twitter' AND handle != '' ORDER BY id LIMIT 5000"),
        "customer number": pick("SELECT crm_number FROM customers WHERE crm_number IS NOT NULL ORDER BY id LIMIT 5000"),
        "conversation number": [f"#{v}" for v in pick("SELECT id FROM conversations ORDER BY id")],
    }


def give_crm_numbers(store: Store) -> None:
    """Customers as a CRM import leaves them: one customer number each (the generated workspace
    has no CRM file)."""
    store._write(lambda db: db.execute("UPDATE customers SET crm_number = 'C-' || (100000 + id) WHERE crm_number IS NULL"))


def search_by_kind(store: Store, rounds: int = 5) -> dict[str, Any]:
    """``Store.search`` and ``search_conversation_ids`` for each kind of query; p50/p95 of each
    kind and of all, and how many conversations the identifier queries found (never 0)."""
    queries = agent_queries(store)
    out: dict[str, Any] = {}
    every: list[float] = []
    for kind, typed in queries.items():
        samples: list[float] = []
        for _ in range(rounds):
            for query in typed:
                samples.append(timed(lambda q=query: store.search(q)))  # type: ignore[misc]
                samples.append(timed(lambda q=query: store.search_conversation_ids(q)))  # type: ignore[misc]
        every += samples
        found = [len(store.search_conversation_ids(q)) for q in typed]
        out[kind] = {**percentiles(samples), "found_min": min(found) if found else 0}
    out["all"] = percentiles(every)
    return out
