"""The SLA engine: targets, their state at an instant, and the log of their transitions.

A pure function of a conversation's events, the policy set and an injected instant (no clock).

* First reply: from the first inbound message to our first public reply (notes and automatic
  replies do not count). Next reply: each round runs from the first inbound message after the
  previous reply target was fulfilled to our next public reply.
* Resolution: from the first inbound message until solved; the clock stops while pending (or
  solved) and runs on, adding to the time already spent, when the conversation is reopened.
* Solving or closing also fulfils a waiting reply target (the agent decided no answer is due).
* A change of priority, tags or channel selects the policy again; targets not yet fulfilled are
  recomputed from their original start under the new policy.

Internally every instant is epoch seconds (float), for speed; results are UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from inbox.models import ConversationEvent, EventKind, Status
from inbox.sla.calendar import BusinessCalendar, epoch_seconds
from inbox.sla.policy import PolicySet, SlaPolicy


class TargetKind(StrEnum):
    FIRST_REPLY = "first_reply"
    NEXT_REPLY = "next_reply"
    RESOLUTION = "resolution"


class TargetState(StrEnum):
    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"
    PAUSED = "paused"
    MET = "met"


@dataclass(frozen=True, slots=True)
class SlaSubject:
    """A conversation's attributes when it was created; its events may change them."""

    conversation_id: int
    channel: str
    priority: str
    tags: frozenset[str]
    vip: bool


@dataclass(frozen=True, slots=True)
class TargetStatus:
    """One target at one instant. ``remaining_s``/``elapsed_s`` are business seconds;
    ``running`` is true while its clock runs (only then can :func:`countdown` move it)."""

    conversation_id: int
    policy: str
    target: TargetKind
    round: int
    state: TargetState
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    remaining_s: float
    elapsed_s: float
    met_at: datetime | None
    running: bool = False


@dataclass(frozen=True, slots=True)
class SlaLogEntry:
    """A transition (started, paused, resumed, warned, breached, fulfilled) of one target, with
    the business time it had used at that instant."""

    conversation_id: int
    at: datetime
    kind: str
    target: TargetKind
    round: int
    policy: str
    business_s: float | None


_TARGET_ORDER = {TargetKind.FIRST_REPLY: 0, TargetKind.NEXT_REPLY: 1, TargetKind.RESOLUTION: 2}
_RANK = {state: rank for rank, state in enumerate(("breached", "warning", "ok", "paused", "met"))}


def _goal(policy: SlaPolicy | None, kind: TargetKind) -> float | None:  # None: not measured
    return None if policy is None else policy.target_s(kind)


class _Target:
    """The clock of one target: closed running periods, the open one, and what was logged."""

    __slots__ = (
        "breached", "kind", "measured", "met_at", "met_dt", "met_policy",
        "round", "segments", "since", "start_dt", "warned",
    )  # fmt: skip

    def __init__(self, kind: TargetKind, number: int, at: float, at_dt: datetime) -> None:
        self.kind, self.round, self.start_dt = kind, number, at_dt
        self.segments: list[tuple[float, float]] = []
        self.since: float | None = at  # the clock runs since this instant
        self.met_at: float | None = None
        self.met_dt: datetime | None = None
        self.met_policy: SlaPolicy | None = None
        self.measured = self.warned = self.breached = False

    def used(self, cal: BusinessCalendar, now: float) -> float:
        return cal.used_ts(self.segments, self.since, now)

    def reach(self, cal: BusinessCalendar, amount: float) -> float | None:
        """When the clock reaches ``amount``; for a fulfilled target, as if its last period had
        kept running (so the deadline in force when it was fulfilled)."""
        if self.met_at is not None and self.segments:
            return cal.reach_ts(self.segments[:-1], self.segments[-1][0], amount)
        return cal.reach_ts(self.segments, self.since, amount)


class _Replay:
    """Replays events in order, keeping every target and (optionally) the transition log."""

    def __init__(self, subject: SlaSubject, policies: PolicySet, keep_log: bool) -> None:
        self.subject, self.policies = subject, policies
        self.channel, self.priority, self.vip = subject.channel, subject.priority, subject.vip
        self.tags = set(subject.tags)
        self.policy = policies.select(self.channel, self.priority, subject.tags, self.vip)
        self.status, self.closed = Status.OPEN, False
        self.first: _Target | None = None
        self.rounds: list[_Target] = []
        self.resolution: _Target | None = None
        self.log: list[SlaLogEntry] | None = [] if keep_log else None

    def active(self) -> list[_Target]:
        """First reply, the latest next-reply round and resolution, those that have started."""
        latest = self.rounds[-1] if self.rounds else None
        return [t for t in (self.first, latest, self.resolution) if t is not None]

    def note(self, kind: str, t: float, target: _Target) -> None:
        """Log a transition of a measured target under the policy now in force."""
        policy = self.policy
        if self.log is not None and target.measured and policy is not None:
            used = target.used(policy.calendar, t) if kind != "started" else 0.0
            self.log.append(
                SlaLogEntry(self.subject.conversation_id, datetime.fromtimestamp(t, UTC), kind,
                            target.kind, target.round, policy.name, used)
            )  # fmt: skip

    def advance(self, t: float) -> None:
        """Log the warning and breach instants that running clocks passed up to ``t``."""
        for target in self.active():
            if target.since is not None:
                self.check(target, t, changed=False)

    def check(self, target: _Target, t: float, changed: bool) -> None:
        """Flag and log the warning and breach ``target`` has passed at ``t``: logged at the
        instant it passed them, or at ``t`` when a policy change made them passed."""
        policy = self.policy
        goal = _goal(policy, target.kind)
        if policy is None or goal is None or not target.measured:
            return
        threshold = policy.warn_threshold(goal)
        warn = target.reach(policy.calendar, threshold) if threshold is not None else None
        due = target.reach(policy.calendar, goal)
        floor = t if changed or target.since is None else target.since  # not logged before
        if warn is not None and warn <= t and not target.warned:
            self.note("warned", max(warn, floor), target)
        if due is not None and due < t and not target.breached:
            self.note("breached", max(due, floor), target)
        target.warned = warn is not None and warn <= t
        target.breached = due is not None and due < t  # a breach is the deadline passed

    def start(self, kind: TargetKind, number: int, t: float, dt: datetime) -> _Target:
        target = _Target(kind, number, t, dt)
        target.measured = _goal(self.policy, kind) is not None
        self.note("started", t, target)
        return target

    def fulfil(self, target: _Target | None, t: float, dt: datetime) -> None:
        if target is None or target.met_at is not None:
            return
        if target.since is not None:
            target.segments.append((target.since, t))
            target.since = None
        target.met_at, target.met_dt, target.met_policy = t, dt, self.policy
        self.note("fulfilled", t, target)

    def run_clock(self, target: _Target | None, running: bool, t: float) -> None:
        """Pause (``running`` false) or resume the resolution clock."""
        if target is None or self.closed:
            return
        if running and target.since is None:
            if target.met_at is not None and target.met_policy is not self.policy:
                target.met_at = None
                self.recheck(target, t)  # solved under another policy: measure it afresh
            target.since, target.met_at, target.met_dt, target.met_policy = t, None, None, None
            kind = "resumed"
        elif not running and target.since is not None and target.met_at is None:
            target.segments.append((target.since, t))
            target.since = None
            kind = "paused"
        else:
            return
        self.note(kind, t, target)

    def reselect(self, t: float) -> None:
        policy = self.policies.select(self.channel, self.priority, frozenset(self.tags), self.vip)
        if policy is not self.policy:
            self.policy = policy
            for target in self.active():
                if target.met_at is None:
                    self.recheck(target, t)

    def recheck(self, target: _Target, t: float) -> None:
        """After a policy change, measure ``target`` from its original start under the new
        policy; a warning or breach it already passed is logged now, at ``t``."""
        was_measured = target.measured
        target.measured = _goal(self.policy, target.kind) is not None
        if target.measured and not was_measured:
            self.note("started", t, target)
        self.check(target, t, changed=True)

    def apply(self, ev: ConversationEvent, t: float, dt: datetime) -> None:
        kind = ev.kind
        if self.closed:
            return
        if kind is EventKind.MESSAGE_IN:
            if self.resolution is None:
                self.first = self.start(TargetKind.FIRST_REPLY, 1, t, dt)
                self.resolution = self.start(TargetKind.RESOLUTION, 1, t, dt)
            elif (
                self.first is not None
                and self.first.met_at is not None
                and (not self.rounds or self.rounds[-1].met_at is not None)
            ):
                self.rounds.append(self.start(TargetKind.NEXT_REPLY, len(self.rounds) + 1, t, dt))
            if self.status is Status.PENDING or self.status is Status.SOLVED:
                self.status = Status.OPEN
                self.run_clock(self.resolution, True, t)
        elif kind is EventKind.REPLY:
            if self.first is not None and self.first.met_at is None:
                self.fulfil(self.first, t, dt)
            elif self.rounds:
                self.fulfil(self.rounds[-1], t, dt)
        elif kind is EventKind.STATUS:
            self.set_status(ev.value, t, dt)
        elif kind is EventKind.PRIORITY:
            self.priority = ev.value
            self.reselect(t)
        elif kind is EventKind.CHANNEL:
            self.channel = ev.value
            self.reselect(t)
        elif kind is EventKind.TAG_ADDED:
            self.tags.add(ev.value.strip().lower())
            self.reselect(t)
        elif kind is EventKind.TAG_REMOVED:
            self.tags.discard(ev.value.strip().lower())
            self.reselect(t)

    def set_status(self, value: str, t: float, dt: datetime) -> None:
        try:
            status = Status(value)
        except ValueError:
            return  # an unknown status changes nothing
        self.status = status
        if status is Status.PENDING:
            self.run_clock(self.resolution, False, t)
        elif status is Status.SOLVED or status is Status.CLOSED:
            for target in self.active():
                self.fulfil(target, t, dt)
            self.closed = status is Status.CLOSED
        else:
            self.run_clock(self.resolution, True, t)


def _replay(
    subject: SlaSubject,
    events: Sequence[ConversationEvent],
    policies: PolicySet,
    at: float,
    log: bool,
) -> _Replay:
    replay = _Replay(subject, policies, log)
    timed = []
    ordered, last = True, float("-inf")
    for ev in events:
        dt = ev.at
        if dt.tzinfo is not UTC:  # naive is taken as UTC; other zones are converted
            dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
        t = dt.timestamp()
        if t <= at:
            timed.append((t, dt, ev))
            ordered, last = ordered and t >= last, t
    if not ordered:
        timed.sort(key=lambda item: item[0])  # stable: same-instant events keep their order
    for t, dt, ev in timed:
        if log:
            replay.advance(t)
        replay.apply(ev, t, dt)
    if log:
        replay.advance(at)
    return replay


def _state(
    now: float, due: float | None, warn: float | None, running: bool, met: bool
) -> TargetState:
    if met:
        return TargetState.MET
    if due is not None and now > due:
        return TargetState.BREACHED  # the deadline has passed
    if not running:
        return TargetState.PAUSED
    return TargetState.WARNING if warn is not None and now >= warn else TargetState.OK


def _dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


def evaluate(
    subject: SlaSubject, events: Sequence[ConversationEvent], policies: PolicySet, at: datetime
) -> list[TargetStatus]:
    """Each target at ``at`` (events after it are ignored): first reply, the current or last
    next-reply round, and resolution, for the targets the applying policy measures."""
    now = epoch_seconds(at)
    return _statuses(subject, _replay(subject, events, policies, now, log=False), now)


def sla_log(
    subject: SlaSubject, events: Sequence[ConversationEvent], policies: PolicySet, at: datetime
) -> list[SlaLogEntry]:
    """Every transition up to ``at``, including warning and breach instants that passed."""
    replay = _replay(subject, events, policies, epoch_seconds(at), log=True)
    return sorted(replay.log or [], key=lambda entry: entry.at)


def assess(
    subject: SlaSubject, events: Sequence[ConversationEvent], policies: PolicySet, at: datetime
) -> tuple[list[TargetStatus], list[SlaLogEntry]]:
    """``evaluate`` and ``sla_log`` from one replay of the events (what a refresh needs)."""
    now = epoch_seconds(at)
    replay = _replay(subject, events, policies, now, log=True)
    return _statuses(subject, replay, now), sorted(replay.log or [], key=lambda entry: entry.at)


def _statuses(subject: SlaSubject, replay: _Replay, now: float) -> list[TargetStatus]:
    rows: list[TargetStatus] = []
    for target in replay.active():
        policy = target.met_policy if target.met_at is not None else replay.policy
        goal = _goal(policy, target.kind)
        if policy is None or goal is None:
            continue
        cal = policy.calendar
        threshold = policy.warn_threshold(goal)
        due = target.reach(cal, goal)
        warn = target.reach(cal, threshold) if threshold is not None else None
        used = target.used(cal, now)
        running = target.since is not None
        state = _state(now, due, warn, running, target.met_at is not None)
        rows.append(
            TargetStatus(
                subject.conversation_id, policy.name, target.kind, target.round, state,
                target.start_dt, _dt(due), _dt(warn), goal - used, used, target.met_dt, running,
            )
        )  # fmt: skip
    return rows


def countdown(status: TargetStatus, calendar: BusinessCalendar, now: datetime) -> TargetStatus:
    """``status`` moved on to ``now`` without replaying events (valid until the next event).

    ``calendar`` is the calendar of ``status.policy``. Stopped clocks are returned unchanged."""
    due = status.due_at
    if not status.running or due is None:
        return status
    now_ts, due_ts = now.timestamp(), due.timestamp()
    goal = status.elapsed_s + status.remaining_s
    remaining = calendar.between_ts(now_ts, due_ts)
    warn = status.warn_at
    state = _state(now_ts, due_ts, warn.timestamp() if warn is not None else None, True, False)
    return TargetStatus(
        status.conversation_id, status.policy, status.target, status.round, state,
        status.started_at, due, warn, remaining, goal - remaining, None, True,
    )  # fmt: skip


def urgency_key(status: TargetStatus) -> tuple[int, float, int, int]:
    """Sort key: breached first (most overdue first), then warning and ok by deadline, then
    paused, then met."""
    state = status.state
    if state is TargetState.BREACHED or state is TargetState.PAUSED:
        value = status.remaining_s
    elif state is TargetState.MET:
        value = status.met_at.timestamp() if status.met_at is not None else 0.0
    else:
        value = status.due_at.timestamp() if status.due_at is not None else float("inf")
    return (_RANK[state], value, status.conversation_id, _TARGET_ORDER[status.target])


def next_transition(statuses: Sequence[TargetStatus]) -> datetime | None:
    """The next instant one of these running targets changes state (warning or breach)."""
    upcoming = [
        status.warn_at if status.state is TargetState.OK and status.warn_at else status.due_at
        for status in statuses
        if status.running and status.state in (TargetState.OK, TargetState.WARNING)
    ]
    return min((when for when in upcoming if when is not None), default=None)
