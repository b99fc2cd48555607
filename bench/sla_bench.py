"""Benchmark of the SLA engine: deadline arithmetic, full evaluation and the 1 s countdown tick.

Run: ``.venv/bin/python bench/sla_bench.py``. Compares against pandas' CustomBusinessHour when
pandas is installed (it is not a dependency of the app; the bench runs without it).
"""

from __future__ import annotations

import importlib
import random
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from inbox.models import ConversationEvent, EventKind
from inbox.sla.engine import SlaSubject, TargetStatus, countdown, evaluate
from inbox.sla.policy import default_policies

N_DEADLINES = 20_000
N_CONVERSATIONS = 10_000
HOLIDAYS = [date(2026, 12, 25), date(2027, 1, 1), date(2027, 12, 25), date(2028, 1, 1)]
TARGET_HOURS = (1, 2, 4, 8, 16, 24)  # whole hours: CustomBusinessHour adds whole hours only


def _best(run: Callable[[], Any], repeat: int = 5) -> float:
    """Best wall time of ``repeat`` runs, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best


def _starts(rng: random.Random, count: int) -> list[datetime]:
    origin = datetime(2026, 1, 1, tzinfo=UTC)
    return [origin + timedelta(seconds=rng.randrange(3 * 365 * 86400)) for _ in range(count)]


def _conversations(rng: random.Random, count: int, now: datetime) -> list[tuple[SlaSubject, list[ConversationEvent]]]:
    found = []
    for cid in range(count):
        channel = rng.choice(["email", "webform", "twitter", "facebook"])
        subject = SlaSubject(cid, channel, rng.choice(["low", "normal", "high"]), frozenset(), False)
        t = now - timedelta(minutes=rng.randrange(1, 5 * 24 * 60))
        events = [ConversationEvent(cid, EventKind.MESSAGE_IN, t)]
        for _ in range(rng.randrange(0, 7)):
            t += timedelta(minutes=rng.randrange(1, 180))
            if t >= now:
                break
            kind = rng.choice(
                [EventKind.REPLY, EventKind.MESSAGE_IN, EventKind.NOTE, EventKind.STATUS] + [EventKind.PRIORITY]
            )
            value = {
                EventKind.STATUS: rng.choice(["pending", "open"]),
                EventKind.PRIORITY: "urgent",
            }
            events.append(ConversationEvent(cid, kind, t, value=value.get(kind, "")))
        found.append((subject, events))
    return found


def main() -> None:
    rng = random.Random(20270328)
    policies = default_policies()
    office = policies.policies[-1].calendar  # Europe/Paris, split shifts, no holidays
    calendar = type(office)(office.name, office.tz, office.weekly, frozenset(HOLIDAYS))
    starts = _starts(rng, N_DEADLINES)
    hours = [rng.choice(TARGET_HOURS) for _ in starts]
    calendar.add(starts[0], 3600)  # build the interval table once, outside the timing
    pairs = list(zip(starts, hours, strict=True))
    ours = _best(lambda: [calendar.add(s, h * 3600.0) for s, h in pairs])
    rows: list[tuple[str, str]] = [
        ("deadline, BusinessCalendar.add (µs)", f"{ours / N_DEADLINES * 1e6:.2f}"),
    ]
    stamps = [(s.timestamp(), h * 3600.0) for s, h in pairs]
    ours_ts = _best(lambda: [calendar.add_ts(s, h) for s, h in stamps])
    rows.append(("deadline, BusinessCalendar.add_ts (µs)", f"{ours_ts / N_DEADLINES * 1e6:.2f}"))
    rows.extend(_pandas_rows(calendar, pairs))

    now = datetime(2027, 3, 29, 9, 0, tzinfo=UTC)
    conversations = _conversations(rng, N_CONVERSATIONS, now)
    full = _best(lambda: [evaluate(s, e, policies, now) for s, e in conversations], repeat=3)
    rows.append((f"evaluate {N_CONVERSATIONS:,} conversations (ms)", f"{full * 1e3:.1f}"))
    statuses = [st for s, e in conversations for st in evaluate(s, e, policies, now)]
    tick_statuses = statuses[:N_CONVERSATIONS]
    tick = now + timedelta(seconds=1)
    cals = {p.name: p.calendar for p in policies.policies}
    tick_time = _best(lambda: _tick(tick_statuses, cals, tick))
    rows.append((f"countdown tick, {len(tick_statuses):,} statuses (ms)", f"{tick_time * 1e3:.1f}"))
    _print(rows)


def _tick(statuses: list[TargetStatus], cals: dict[str, Any], now: datetime) -> None:
    for status in statuses:
        countdown(status, cals[status.policy], now)


def _pandas_rows(calendar: Any, pairs: list[tuple[datetime, int]]) -> list[tuple[str, str]]:
    try:
        pd: Any = importlib.import_module("pandas")
    except ImportError:
        return [("deadline, pandas CustomBusinessHour (µs)", "pandas not installed")]
    offsets = {
        h: pd.offsets.CustomBusinessHour(
            n=h,
            start=["09:00", "13:30"],
            end=["12:30", "18:00"],
            weekmask="Mon Tue Wed Thu Fri",
            holidays=HOLIDAYS,
        )
        for h in TARGET_HOURS
    }
    zone = calendar.tz.key
    local = [(pd.Timestamp(s).tz_convert(zone), h) for s, h in pairs]
    results: list[Any] = []
    spent = _best(lambda: results.__setitem__(slice(None), [t + offsets[h] for t, h in local]))
    same = equivalent = 0
    for r, (s, h) in zip(results, pairs, strict=True):
        theirs, ours = r.tz_convert("UTC").to_pydatetime(), calendar.add(s, h * 3600.0)
        same += theirs == ours
        # pandas moves a deadline that falls at closing time to the next opening: the same
        # business instant (no business time between them).
        equivalent += calendar.between(ours, theirs) == 0
    return [
        ("deadline, pandas CustomBusinessHour (µs)", f"{spent / len(pairs) * 1e6:.2f}"),
        ("pandas deadline == ours (same instant)", f"{same / len(pairs):.1%}"),
        ("pandas deadline == ours (same business time)", f"{equivalent / len(pairs):.1%}"),
    ]


def _print(rows: list[tuple[str, str]]) -> None:
    width = max(len(name) for name, _ in rows)
    print(f"{'measure'.ljust(width)}  value")
    print(f"{'-' * width}  {'-' * 12}")
    for name, value in rows:
        print(f"{name.ljust(width)}  {value}")


if __name__ == "__main__":
    main()
