"""Reports for the team lead, computed from the SLA log and the conversation events.

Pure functions: the store hands over the SLA log (what the SLA engine logged, so the numbers
agree with the countdowns agents saw) and each conversation's events. Definitions:

* received: conversations whose first customer message falls in the period;
  solved: conversations solved or closed in the period (once each).
* A target (first reply, each next-reply round, resolution) belongs to the period it started in.
  It is *breached* if the log has a breach for it, *met* if fulfilled without one, else *open*;
  compliance % = met / (met + breached).
* First-reply time: round 1 of the first-reply target fulfilled by a reply (a conversation solved
  without an answer meets its target but has no reply time). Resolution time: up to the last
  time it was solved. Wall time is the clock on the wall; business time is the SLA clock.
* Median is the middle value (the mean of the two middle ones); p90 is the nearest rank
  (the ceil(0.9 n)-th smallest).
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from inbox.models import ConversationEvent, EventKind, Status
from inbox.sla.engine import SlaLogEntry, TargetKind

GROUPINGS = ("channel", "policy", "agent", "day")
TARGETS = tuple(t.value for t in TargetKind)
_DONE = (Status.SOLVED.value, Status.CLOSED.value)


@dataclass(frozen=True, slots=True)
class ReportConversation:
    """A conversation as reports need it: its channel, current assignee and events in order."""

    id: int
    channel: str
    assignee: str
    events: tuple[ConversationEvent, ...]


@dataclass(frozen=True, slots=True)
class Durations:
    count: int
    median_s: float | None
    p90_s: float | None
    median_business_s: float | None
    p90_business_s: float | None
    values_s: tuple[float, ...] = field(default=(), repr=False)  # wall times, for histograms


@dataclass(frozen=True, slots=True)
class Compliance:
    met: int = 0
    breached: int = 0
    open: int = 0

    @property
    def pct(self) -> float | None:
        done = self.met + self.breached
        return round(100.0 * self.met / done, 1) if done else None


@dataclass(frozen=True, slots=True)
class ReportRow:
    key: str
    received: int
    solved: int
    first_reply: Durations
    resolution: Durations
    compliance: Mapping[str, Compliance]


@dataclass(frozen=True, slots=True)
class Report:
    by: str
    since: datetime
    until: datetime
    rows: tuple[ReportRow, ...]
    total: ReportRow


def median(values: Sequence[float]) -> float | None:
    return float(statistics.median(values)) if values else None


def p90(values: Sequence[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)])


@dataclass(slots=True)
class _Target:
    conversation_id: int
    kind: str
    round: int
    started: datetime
    policy: str = ""
    breached: bool = False
    end: datetime | None = None  # when last fulfilled (None: running again, or never)
    business_s: float | None = None


def _targets(entries: Iterable[SlaLogEntry]) -> list[_Target]:
    found: dict[tuple[int, str, int], _Target] = {}
    for e in sorted(entries, key=lambda e: e.at):
        key = (e.conversation_id, e.target.value, e.round)
        t = found.get(key)
        if t is None:
            t = found[key] = _Target(e.conversation_id, e.target.value, e.round, e.at)
        t.policy = e.policy
        if e.kind == "breached":
            t.breached = True
        if e.kind == "fulfilled":
            t.end, t.business_s = e.at, e.business_s
        elif e.kind in ("resumed", "started") and t.end is not None:
            t.end = t.business_s = None
    return list(found.values())


def _assignee_at(conv: ReportConversation, at: datetime) -> str:
    value: str | None = None
    for ev in conv.events:
        if ev.kind is EventKind.ASSIGNED and ev.at <= at:
            value = ev.value
    if value is None:  # no recorded assignment: the current one
        value = conv.assignee
    return value or "(unassigned)"


def _replied_at(conv: ReportConversation, at: datetime) -> bool:
    return any(
        e.kind is EventKind.REPLY and abs((e.at - at).total_seconds()) < 0.01 for e in conv.events
    )


def _durations(pairs: Sequence[tuple[float, float | None]]) -> Durations:
    wall = [w for w, _ in pairs]
    business = [b for _, b in pairs if b is not None]
    return Durations(
        len(pairs), median(wall), p90(wall), median(business), p90(business), tuple(wall)
    )


def build_report(
    conversations: Sequence[ReportConversation],
    entries: Sequence[SlaLogEntry],
    since: datetime,
    until: datetime,
    by: str = "channel",
) -> Report:
    """The report for ``[since, until)`` grouped ``by`` channel, policy, agent or day."""
    if by not in GROUPINGS:
        raise ValueError(f"by must be one of {', '.join(GROUPINGS)}")
    convs = {c.id: c for c in conversations}
    targets = [
        t for t in _targets(entries) if since <= t.started < until and t.conversation_id in convs
    ]
    conv_policy: dict[int, str] = {}
    for t in sorted(targets, key=lambda t: (t.kind != TargetKind.FIRST_REPLY.value, t.round)):
        conv_policy.setdefault(t.conversation_id, t.policy)

    def key(conv: ReportConversation, at: datetime, policy: str | None = None) -> str:
        if by == "channel":
            return conv.channel
        if by == "policy":
            return policy or conv_policy.get(conv.id, "(no policy)")
        if by == "agent":
            return _assignee_at(conv, at)
        return at.date().isoformat()

    received: dict[str, set[int]] = defaultdict(set)
    solved: dict[str, set[int]] = defaultdict(set)
    for conv in conversations:
        first_in = next((e.at for e in conv.events if e.kind is EventKind.MESSAGE_IN), None)
        if first_in is not None and since <= first_in < until:
            received[key(conv, first_in)].add(conv.id)
        done = [
            e.at
            for e in conv.events
            if e.kind is EventKind.STATUS and e.value in _DONE and since <= e.at < until
        ]
        if done:
            solved[key(conv, done[-1])].add(conv.id)
    first: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
    resolution: dict[str, list[tuple[float, float | None]]] = defaultdict(list)
    compliance: dict[str, dict[str, list[int]]] = defaultdict(
        lambda: {t: [0, 0, 0] for t in TARGETS}
    )
    for t in targets:
        conv = convs[t.conversation_id]
        k = key(conv, t.started if by == "day" else (t.end or until), t.policy)
        slot = 1 if t.breached else 0 if t.end is not None else 2
        compliance[k][t.kind][slot] += 1
        if t.end is None:
            continue
        pair = ((t.end - t.started).total_seconds(), t.business_s)
        if t.kind == TargetKind.FIRST_REPLY.value and t.round == 1 and _replied_at(conv, t.end):
            first[k].append(pair)
        elif t.kind == TargetKind.RESOLUTION.value:
            resolution[k].append(pair)

    def row(name: str, keys: Sequence[str]) -> ReportRow:
        comp = {
            target: Compliance(
                *(sum(compliance[k][target][i] for k in keys if k in compliance) for i in range(3))
            )
            for target in TARGETS
        }
        return ReportRow(
            name,
            len(set().union(*(received.get(k, set()) for k in keys))),
            len(set().union(*(solved.get(k, set()) for k in keys))),
            _durations([p for k in keys for p in first.get(k, [])]),
            _durations([p for k in keys for p in resolution.get(k, [])]),
            comp,
        )

    names = sorted(set(received) | set(solved) | set(compliance))
    return Report(by, since, until, tuple(row(n, [n]) for n in names), row("total", names))


CSV_COLUMNS = (
    ["key", "received", "solved"]
    + [f"{d}_{s}" for d in ("first_reply", "resolution")
       for s in ("count", "median_s", "p90_s", "median_business_s", "p90_business_s")]
    + [f"{t}_{s}" for t in TARGETS for s in ("met", "breached", "open", "pct")]
)  # fmt: skip


def row_values(row: ReportRow) -> list[object]:
    """The CSV cells of one row, in :data:`CSV_COLUMNS` order (seconds rounded to 0.1 s)."""

    def r(v: float | None) -> object:
        return "" if v is None else round(v, 1)

    cells: list[object] = [row.key, row.received, row.solved]
    for d in (row.first_reply, row.resolution):
        cells += [d.count, r(d.median_s), r(d.p90_s), r(d.median_business_s), r(d.p90_business_s)]
    for t in TARGETS:
        c = row.compliance[t]
        cells += [c.met, c.breached, c.open, r(c.pct)]
    return cells


def to_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in (*report.rows, report.total):
        writer.writerow(row_values(row))
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class MonthlyRow:
    month: str  # YYYY-MM (UTC)
    channel: str
    received: int
    handled: int  # answered publicly or solved in the month


def monthly(conversations: Sequence[ReportConversation]) -> list[MonthlyRow]:
    """Conversations received and handled per channel per month: the transparency figure."""
    received: dict[tuple[str, str], set[int]] = defaultdict(set)
    handled: dict[tuple[str, str], set[int]] = defaultdict(set)
    for conv in conversations:
        first_in = next((e.at for e in conv.events if e.kind is EventKind.MESSAGE_IN), None)
        if first_in is not None:
            received[(first_in.strftime("%Y-%m"), conv.channel)].add(conv.id)
        for e in conv.events:
            if e.kind is EventKind.REPLY or (e.kind is EventKind.STATUS and e.value in _DONE):
                handled[(e.at.strftime("%Y-%m"), conv.channel)].add(conv.id)
    keys = sorted(set(received) | set(handled))
    return [
        MonthlyRow(m, ch, len(received.get((m, ch), ())), len(handled.get((m, ch), ())))
        for m, ch in keys
    ]


def histogram(
    values: Iterable[float], edges_s: Sequence[float], labels: Sequence[str]
) -> list[tuple[str, int]]:
    """Counts of ``values`` below each edge (and a last bucket for the rest)."""
    counts = [0] * (len(edges_s) + 1)
    for v in values:
        counts[next((i for i, e in enumerate(edges_s) if v < e), len(edges_s))] += 1
    return list(zip(labels, counts, strict=True))


FIRST_REPLY_EDGES = (15 * 60.0, 3600.0, 4 * 3600.0, 24 * 3600.0)
FIRST_REPLY_LABELS = ("<15m", "<1h", "<4h", "<24h", "24h+")


def duration_text(seconds: float | None) -> str:
    """ "12m", "3h05", or "-" when there is no value."""
    if seconds is None:
        return "-"
    minutes = round(seconds / 60)
    return f"{minutes // 60}h{minutes % 60:02d}" if minutes >= 60 else f"{minutes}m"


def display_row(row: ReportRow) -> list[str]:
    """A row for people: times as wall / business, compliance as met/breached and %."""
    d = duration_text
    fr, rs = row.first_reply, row.resolution
    cells = [row.key, str(row.received), str(row.solved)]
    cells += [
        f"{d(fr.median_s)} / {d(fr.median_business_s)}",
        f"{d(fr.p90_s)} / {d(fr.p90_business_s)}",
    ]
    cells += [
        f"{d(rs.median_s)} / {d(rs.median_business_s)}",
        f"{d(rs.p90_s)} / {d(rs.p90_business_s)}",
    ]
    for t in TARGETS:
        c = row.compliance[t]
        cells.append(f"{c.met}/{c.breached} {'-' if c.pct is None else f'{c.pct:g}%'}")
    return cells


DISPLAY_HEADERS = ("Received", "Solved", "First reply median", "First reply p90", "Resolution median",
                   "Resolution p90", "First reply SLA", "Next reply SLA", "Resolution SLA")  # fmt: skip


def waiting_open(events: Sequence[ConversationEvent], at: datetime) -> bool:
    """Whether the conversation was waiting on us at ``at`` (new or open: not pending, solved
    or closed), replaying its events up to then."""
    waiting = False
    for ev in events:
        if ev.at > at:
            break
        if ev.kind is EventKind.MESSAGE_IN:
            waiting = True  # a customer message opens, or reopens a pending or solved one
        elif ev.kind is EventKind.STATUS:
            if ev.value == Status.CLOSED.value:
                return False  # closed for good: a new message starts another conversation
            waiting = ev.value in (Status.NEW.value, Status.OPEN.value)
    return waiting


def backlog(
    events_by_conversation: Mapping[int, Sequence[ConversationEvent]],
    now: datetime,
    hours: int,
    step_h: int = 1,
) -> list[tuple[datetime, int]]:
    """How many conversations were waiting on us at each step over the last ``hours``."""
    instants = [now - timedelta(hours=h) for h in range(hours, -1, -step_h)]
    return [
        (t, sum(1 for evs in events_by_conversation.values() if waiting_open(evs, t)))
        for t in instants
    ]


def bucket_counts(
    instants: Iterable[tuple[str, datetime]],
    since: datetime,
    until: datetime,
    step: timedelta,
    keys: Iterable[str] = (),
) -> dict[str, list[tuple[datetime, int]]]:
    """Counts per key (e.g. channel) per bucket of ``step`` from ``since`` to ``until``."""
    n = max(1, math.ceil((until - since) / step))
    starts = [since + step * i for i in range(n)]
    out: dict[str, list[int]] = defaultdict(lambda: [0] * n)
    for k in keys:
        out[k]  # every key listed gets a series, even an empty one
    for k, at in instants:
        if since <= at < until:
            out[k][int((at - since) / step)] += 1
    return {k: list(zip(starts, v, strict=True)) for k, v in sorted(out.items())}


@dataclass(frozen=True, slots=True)
class RiskItem:
    """A conversation whose most urgent SLA target is at risk (warning) or breached."""

    conversation_id: int
    channel: str
    subject: str
    customer: str
    assignee: str
    state: str
    due_at: datetime | None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the team lead's dashboard shows live."""

    at: datetime
    open_by_channel: Mapping[str, Mapping[str, int]]  # channel -> status -> count
    at_risk: tuple[RiskItem, ...]
    breached: tuple[RiskItem, ...]
    oldest_unanswered: tuple[tuple[str, int, datetime], ...]  # channel, conversation, since
    agent_loads: tuple[tuple[str, int, int | None], ...]  # agent, open conversations, max load
    backlog: tuple[tuple[datetime, int], ...]  # conversations waiting on us, each hour
    volume: Mapping[str, Sequence[tuple[datetime, int]]]  # customer messages per channel per bucket
