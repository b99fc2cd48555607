"""The SLA engine: targets, their state at an instant, and the log of their transitions.

A pure function of a conversation's events, the policy set and an injected instant; it never
reads the clock. Rules:

* First reply starts at the first inbound message and is fulfilled by our first public reply
  (notes and automatic replies do not count).
* Next reply: a round starts at the first inbound message after the previous reply target was
  fulfilled, and ends at our next public reply. Every round is kept in the log.
* Resolution starts at the first inbound message and is fulfilled when the conversation is solved;
  the clock stops while pending (or solved) and runs again when the conversation is reopened,
  adding to the business time already spent.
* Solving (or closing) a conversation also fulfils a reply target that is waiting: the agent has
  decided no answer is needed.
* A change of priority, tags or channel selects the policy again; targets not yet fulfilled are
  recomputed from their original start under the new policy.

Internally every instant is epoch seconds (float), for speed; results are UTC datetimes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from operator import attrgetter

from inbox.business_hours import BusinessCalendar
from inbox.models import ConversationEvent, EventKind, Status
from inbox.sla_policy import PolicySet, SlaPolicy


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
    """A transition: started, paused, resumed, warned, breached or fulfilled.

    ``business_s`` is the business time the target had used at that instant."""

    conversation_id: int
    at: datetime
    kind: str
    target: TargetKind
    round: int
    policy: str
    business_s: float | None


_TARGET_ORDER = {TargetKind.FIRST_REPLY: 0, TargetKind.NEXT_REPLY: 1, TargetKind.RESOLUTION: 2}
_RANK = {state: rank for rank, state in enumerate(("breached", "warning", "ok", "paused", "met"))}
_REOPENING = frozenset({Status.PENDING, Status.SOLVED})
_GOAL = {kind: attrgetter(f"{kind.value}_s") for kind in TargetKind}


def _goal(policy: SlaPolicy | None, kind: TargetKind) -> float | None:
    """The target of ``kind`` in business seconds, ``None`` when not measured."""
    return None if policy is None else _GOAL[kind](policy)


class _Target:
    """The clock of one target: closed running periods, the open one, and what was logged."""

    __slots__ = (
        "breached", "kind", "measured", "met_at", "met_dt", "met_policy",
        "round", "segments", "since", "start_dt", "started", "warned",
    )  # fmt: skip

    def __init__(self, kind: TargetKind, number: int, at: float, at_dt: datetime) -> None:
        self.kind, self.round, self.started, self.start_dt = kind, number, at, at_dt
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
        self.status = Status.OPEN
        self.closed = False
        self.first: _Target | None = None
        self.rounds: list[_Target] = []
        self.resolution: _Target | None = None
        self.log: list[SlaLogEntry] | None = [] if keep_log else None

    def active(self) -> list[_Target]:
        found = [self.first] if self.first is not None else []
        if self.rounds:
            found.append(self.rounds[-1])
        if self.resolution is not None:
            found.append(self.resolution)
        return found

    def note(self, kind: str, t: float, target: _Target) -> None:
        """Log a transition of a measured target under the policy now in force."""
        policy = self.policy
        if self.log is not None and target.measured and policy is not None:
            used = target.used(policy.calendar, t) if kind != "started" else 0.0
            at = datetime.fromtimestamp(t, UTC)
            entry = SlaLogEntry(
                self.subject.conversation_id, at, kind, target.kind, target.round, policy.name, used
            )
            self.log.append(entry)

    def advance(self, t: float) -> None:
        """Log the warning and breach instants passed by running clocks up to ``t``.

        A target warns at its warn instant and is breached once its deadline has passed."""
        policy = self.policy
        if policy is None:
            return
        for target in self.active():
            if target.since is None or not target.measured:
                continue
            goal = _goal(policy, target.kind)
            if goal is None:
                continue
            threshold = policy.warn_threshold(goal)
            if threshold is not None and not target.warned:
                when = target.reach(policy.calendar, threshold)
                if when is not None and when <= t:
                    target.warned = True
                    self.note("warned", when, target)
            if not target.breached:
                when = target.reach(policy.calendar, goal)
                if when is not None and when < t:
                    target.breached = True
                    self.note("breached", when, target)

    def start(self, kind: TargetKind, number: int, t: float, dt: datetime) -> _Target:
        target = _Target(kind, number, t, dt)
        policy = self.policy
        target.measured = _goal(policy, kind) is not None
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
        if policy is self.policy:
            return
        self.policy = policy
        for target in self.active():
            if target.met_at is not None:
                continue
            goal = _goal(policy, target.kind)
            if policy is None or goal is None:
                target.measured = False
                continue
            if not target.measured:
                target.measured = True
                self.note("started", t, target)
            cal = policy.calendar
            threshold = policy.warn_threshold(goal)
            warn = target.reach(cal, threshold) if threshold is not None else None
            due = target.reach(cal, goal)
            was_warned, was_breached = target.warned, target.breached
            target.warned = warn is not None and warn <= t
            target.breached = due is not None and due < t
            if target.warned and not was_warned:
                self.note("warned", t, target)
            if target.breached and not was_breached:
                self.note("breached", t, target)

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
            if self.status in _REOPENING:
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
        elif kind is EventKind.TAG_ADDED or kind is EventKind.TAG_REMOVED:
            tag = ev.value.strip().lower()
            if kind is EventKind.TAG_ADDED:
                self.tags.add(tag)
            else:
                self.tags.discard(tag)
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
            self.fulfil(self.first, t, dt)
            self.fulfil(self.rounds[-1] if self.rounds else None, t, dt)
            self.fulfil(self.resolution, t, dt)
            self.closed = status is Status.CLOSED
        else:
            self.run_clock(self.resolution, True, t)


def _replay(
    subject: SlaSubject,
    events: Sequence[ConversationEvent],
    policies: PolicySet,
    at: float,
    keep_log: bool,
) -> _Replay:
    replay = _Replay(subject, policies, keep_log)
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
        if keep_log:
            replay.advance(t)
        replay.apply(ev, t, dt)
    if keep_log:
        replay.advance(at)
    return replay


def _instant(at: datetime) -> float:
    if at.tzinfo is None:
        raise ValueError("the evaluation instant must be timezone-aware")
    return at.timestamp()


def _dt(t: float | None) -> datetime | None:
    return None if t is None else datetime.fromtimestamp(t, UTC)


def evaluate(
    subject: SlaSubject, events: Sequence[ConversationEvent], policies: PolicySet, at: datetime
) -> list[TargetStatus]:
    """Each target at ``at`` (events after it are ignored): first reply, the current or last
    next-reply round, and resolution, for the targets the applying policy measures."""
    now = _instant(at)
    replay = _replay(subject, events, policies, now, keep_log=False)
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
        if target.met_at is not None:
            state = TargetState.MET
        elif due is not None and now > due:
            state = TargetState.BREACHED
        elif not running:
            state = TargetState.PAUSED
        elif warn is not None and now >= warn:
            state = TargetState.WARNING
        else:
            state = TargetState.OK
        rows.append(
            TargetStatus(
                subject.conversation_id, policy.name, target.kind, target.round, state,
                target.start_dt, _dt(due), _dt(warn), goal - used, used, target.met_dt, running,
            )
        )  # fmt: skip
    return rows


def sla_log(
    subject: SlaSubject, events: Sequence[ConversationEvent], policies: PolicySet, at: datetime
) -> list[SlaLogEntry]:
    """Every transition up to ``at``, including warning and breach instants that passed."""
    replay = _replay(subject, events, policies, _instant(at), keep_log=True)
    assert replay.log is not None
    return sorted(replay.log, key=lambda entry: entry.at)


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
    if now_ts > due_ts:
        state = TargetState.BREACHED
    elif warn is not None and now >= warn:
        state = TargetState.WARNING
    else:
        state = TargetState.OK
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
    found: datetime | None = None
    for status in statuses:
        if not status.running or status.due_at is None:
            continue
        if status.state is TargetState.OK:
            candidate = status.warn_at if status.warn_at is not None else status.due_at
            candidate = min(candidate, status.due_at)
        elif status.state is TargetState.WARNING:
            candidate = status.due_at
        else:
            continue
        if found is None or candidate < found:
            found = candidate
    return found
