"""The SLA engine replayed on conversation events, with hand-computed instants.

Paris times are CET (UTC+1) in November and January; every literal below is UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbox.models import ConversationEvent, EventKind
from inbox.sla.engine import (
    SlaSubject,
    TargetKind,
    TargetState,
    TargetStatus,
    countdown,
    evaluate,
    next_transition,
    sla_log,
    urgency_key,
)
from inbox.sla.policy import PolicySet, load_policies

H = 3600.0
PARIS_HOURS = (
    'hours = { mon = ["09:00-12:30", "13:30-18:00"], tue = ["09:00-12:30", "13:30-18:00"], '
    'wed = ["09:00-12:30", "13:30-18:00"], thu = ["09:00-12:30", "13:30-18:00"], '
    'fri = ["09:00-12:30", "13:30-18:00"] }'
)
POLICIES = load_policies(
    f"""
[[calendar]]
name = "paris"
timezone = "Europe/Paris"
{PARIS_HOURS}
holidays = ["2026-12-25", "2027-01-01"]

[[policy]]
name = "urgent"
when = {{ priority = ["urgent"] }}
first_reply = "1h"
next_reply = "2h"
resolution = "8h"
warn_before = "15m"

[[policy]]
name = "social"
when = {{ channel = ["twitter", "facebook"] }}
calendar = "24x7"
first_reply = "30m"
next_reply = "1h"
resolution = "24h"
warn_at = 0.75

[[policy]]
name = "email"
when = {{ channel = ["email", "webform"] }}
calendar = "paris"
first_reply = "4h"
next_reply = "8h"
resolution = "16h"
warn_at = 0.75

[[policy]]
name = "late-warning"
when = {{ tags = ["late"] }}
calendar = "paris"
first_reply = "2h"
warn_before = "30m"
""",
    "test.toml",
)
EMAIL = SlaSubject(7, "email", "normal", frozenset(), False)
TWEET = SlaSubject(8, "twitter", "normal", frozenset(), False)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def ev(kind: EventKind, at: datetime, value: str = "") -> ConversationEvent:
    return ConversationEvent(conversation_id=7, kind=kind, at=at, value=value)


def rows(
    subject: SlaSubject, events: list[ConversationEvent], at: datetime
) -> dict[TargetKind, TargetStatus]:
    return {s.target: s for s in evaluate(subject, events, POLICIES, at)}


def log(
    subject: SlaSubject, events: list[ConversationEvent], at: datetime
) -> list[tuple[datetime, str, str, int, str, float | None]]:
    return [
        (e.at, e.kind, e.target.value, e.round, e.policy, e.business_s)
        for e in sla_log(subject, events, POLICIES, at)
    ]


FRIDAY_1630 = [ev(EventKind.MESSAGE_IN, utc(2026, 11, 13, 15, 30))]  # Fri 16:30 CET


def test_friday_1630_first_reply_is_due_monday_1130() -> None:
    first = rows(EMAIL, FRIDAY_1630, utc(2026, 11, 13, 17, 0))[TargetKind.FIRST_REPLY]
    assert first.policy == "email" and first.state is TargetState.OK
    assert first.due_at == utc(2026, 11, 16, 10, 30)  # Monday 11:30 CET
    assert first.warn_at == utc(2026, 11, 16, 9, 30)  # 3 of 4 h: Monday 10:30 CET
    assert (first.elapsed_s, first.remaining_s) == (1.5 * H, 2.5 * H)
    at_warn = rows(EMAIL, FRIDAY_1630, utc(2026, 11, 16, 9, 45))[TargetKind.FIRST_REPLY]
    assert at_warn.state is TargetState.WARNING
    late = rows(EMAIL, FRIDAY_1630, utc(2026, 11, 16, 10, 31))[TargetKind.FIRST_REPLY]
    assert late.state is TargetState.BREACHED and late.remaining_s == -60.0
    assert log(EMAIL, FRIDAY_1630, utc(2026, 11, 16, 12, 0)) == [
        (utc(2026, 11, 13, 15, 30), "started", "first_reply", 1, "email", 0.0),
        (utc(2026, 11, 13, 15, 30), "started", "resolution", 1, "email", 0.0),
        (utc(2026, 11, 16, 9, 30), "warned", "first_reply", 1, "email", 3 * H),
        (utc(2026, 11, 16, 10, 30), "breached", "first_reply", 1, "email", 4 * H),
    ]


def test_notes_and_auto_replies_do_not_fulfil_a_reply_target() -> None:
    events = [
        *FRIDAY_1630,
        ev(EventKind.AUTO_REPLY, utc(2026, 11, 13, 15, 31)),
        ev(EventKind.NOTE, utc(2026, 11, 13, 16, 0)),
    ]
    first = rows(EMAIL, events, utc(2026, 11, 16, 8, 30))[TargetKind.FIRST_REPLY]
    assert first.state is TargetState.OK and first.met_at is None
    events.append(ev(EventKind.REPLY, utc(2026, 11, 16, 9, 0)))  # Monday 10:00 CET
    first = rows(EMAIL, events, utc(2026, 11, 16, 12, 0))[TargetKind.FIRST_REPLY]
    assert first.state is TargetState.MET and first.met_at == utc(2026, 11, 16, 9, 0)
    assert first.elapsed_s == 2.5 * H and first.remaining_s == 1.5 * H


def test_a_warning_before_the_deadline_counts_business_time() -> None:
    subject = SlaSubject(7, "unknown", "normal", frozenset({"late"}), False)
    first = rows(subject, FRIDAY_1630, utc(2026, 11, 13, 16, 0))[TargetKind.FIRST_REPLY]
    # 2 h target: 1.5 h on Friday, 0.5 h on Monday; 30 min before it is Friday's close.
    assert first.due_at == utc(2026, 11, 16, 8, 30)
    assert first.warn_at == utc(2026, 11, 13, 17, 0)


PENDING = [
    ev(EventKind.MESSAGE_IN, utc(2026, 11, 16, 8, 0)),  # Monday 09:00 CET
    ev(EventKind.REPLY, utc(2026, 11, 16, 9, 0)),
    ev(EventKind.STATUS, utc(2026, 11, 16, 10, 0), "pending"),  # 2 business hours used
    ev(EventKind.MESSAGE_IN, utc(2026, 11, 17, 13, 0)),  # Tuesday 14:00 CET: reopens
    ev(EventKind.STATUS, utc(2026, 11, 17, 13, 0), "open"),  # what the store also records
]


def test_resolution_pauses_while_pending_and_resumes_on_a_customer_message() -> None:
    paused = rows(EMAIL, PENDING, utc(2026, 11, 17, 12, 0))[TargetKind.RESOLUTION]
    assert paused.state is TargetState.PAUSED and not paused.running
    assert (paused.elapsed_s, paused.remaining_s, paused.due_at) == (2 * H, 14 * H, None)
    assert countdown(paused, POLICIES.policies[2].calendar, utc(2026, 11, 20)) == paused
    resumed = rows(EMAIL, PENDING, utc(2026, 11, 17, 15, 0))[TargetKind.RESOLUTION]
    assert resumed.state is TargetState.OK
    assert (resumed.elapsed_s, resumed.remaining_s) == (4 * H, 12 * H)
    # 14 h left at Tuesday 14:00 CET: 4 h Tuesday, 8 h Wednesday, 2 h Thursday -> 11:00 CET.
    assert resumed.due_at == utc(2026, 11, 19, 10, 0)
    assert log(EMAIL, PENDING, utc(2026, 11, 17, 15, 0)) == [
        (utc(2026, 11, 16, 8, 0), "started", "first_reply", 1, "email", 0.0),
        (utc(2026, 11, 16, 8, 0), "started", "resolution", 1, "email", 0.0),
        (utc(2026, 11, 16, 9, 0), "fulfilled", "first_reply", 1, "email", 1 * H),
        (utc(2026, 11, 16, 10, 0), "paused", "resolution", 1, "email", 2 * H),
        (utc(2026, 11, 17, 13, 0), "started", "next_reply", 1, "email", 0.0),
        (utc(2026, 11, 17, 13, 0), "resumed", "resolution", 1, "email", 2 * H),
    ]


SOLVED = [
    ev(EventKind.MESSAGE_IN, utc(2027, 1, 4, 10, 0)),
    ev(EventKind.REPLY, utc(2027, 1, 4, 10, 10)),
    ev(EventKind.STATUS, utc(2027, 1, 4, 11, 0), "solved"),
    ev(EventKind.MESSAGE_IN, utc(2027, 1, 5, 10, 0)),  # the customer writes again
]


def test_solved_then_reopened_continues_the_resolution_clock() -> None:
    solved = rows(TWEET, SOLVED, utc(2027, 1, 4, 12, 0))[TargetKind.RESOLUTION]
    assert solved.state is TargetState.MET and solved.met_at == utc(2027, 1, 4, 11, 0)
    assert solved.elapsed_s == 1 * H
    reopened = rows(TWEET, SOLVED, utc(2027, 1, 5, 12, 0))
    resolution = reopened[TargetKind.RESOLUTION]
    assert resolution.state is TargetState.OK and resolution.met_at is None
    assert (resolution.elapsed_s, resolution.remaining_s) == (3 * H, 21 * H)
    assert resolution.due_at == utc(2027, 1, 6, 9, 0)  # 23 h left at the reopening
    assert resolution.warn_at == utc(2027, 1, 6, 3, 0)  # 18 h used
    second = reopened[TargetKind.NEXT_REPLY]
    assert second.state is TargetState.BREACHED and second.due_at == utc(2027, 1, 5, 11, 0)
    entries = log(TWEET, SOLVED, utc(2027, 1, 5, 12, 0))
    assert (utc(2027, 1, 4, 11, 0), "fulfilled", "resolution", 1, "social", 1 * H) in entries
    assert (utc(2027, 1, 5, 10, 0), "resumed", "resolution", 1, "social", 1 * H) in entries


def test_solving_fulfils_a_waiting_reply_and_closing_is_final() -> None:
    events = [
        ev(EventKind.MESSAGE_IN, utc(2027, 1, 4, 10, 0)),
        ev(EventKind.STATUS, utc(2027, 1, 4, 10, 20), "closed"),
        ev(EventKind.MESSAGE_IN, utc(2027, 1, 4, 11, 0)),
    ]
    got = rows(TWEET, events, utc(2027, 1, 4, 12, 0))
    assert set(got) == {TargetKind.FIRST_REPLY, TargetKind.RESOLUTION}
    assert all(s.state is TargetState.MET for s in got.values())
    assert got[TargetKind.FIRST_REPLY].elapsed_s == 20 * 60


PRIORITY_CHANGE = [
    *FRIDAY_1630,
    ev(EventKind.PRIORITY, utc(2026, 11, 13, 16, 0), "urgent"),
]


def test_a_priority_change_switches_policy_from_the_original_start() -> None:
    first = rows(EMAIL, PRIORITY_CHANGE, utc(2026, 11, 13, 16, 20))[TargetKind.FIRST_REPLY]
    assert first.policy == "urgent" and first.started_at == utc(2026, 11, 13, 15, 30)
    assert first.due_at == utc(2026, 11, 13, 16, 30)  # 1 h round the clock from 15:30
    assert first.warn_at == utc(2026, 11, 13, 16, 15)
    assert first.state is TargetState.WARNING and first.remaining_s == 600.0
    resolution = rows(EMAIL, PRIORITY_CHANGE, utc(2026, 11, 13, 16, 40))[TargetKind.RESOLUTION]
    assert resolution.due_at == utc(2026, 11, 13, 23, 30)
    assert log(EMAIL, PRIORITY_CHANGE, utc(2026, 11, 13, 16, 40)) == [
        (utc(2026, 11, 13, 15, 30), "started", "first_reply", 1, "email", 0.0),
        (utc(2026, 11, 13, 15, 30), "started", "resolution", 1, "email", 0.0),
        (utc(2026, 11, 13, 16, 15), "warned", "first_reply", 1, "urgent", 45 * 60),
        (utc(2026, 11, 13, 16, 30), "breached", "first_reply", 1, "urgent", 1 * H),
    ]


def test_a_late_priority_change_is_breached_at_once() -> None:
    events = [*FRIDAY_1630, ev(EventKind.TAG_ADDED, utc(2026, 11, 13, 16, 10), "x")]
    events.append(ev(EventKind.PRIORITY, utc(2026, 11, 13, 17, 0), "urgent"))
    first = rows(EMAIL, events, utc(2026, 11, 13, 17, 0))[TargetKind.FIRST_REPLY]
    assert first.state is TargetState.BREACHED and first.due_at == utc(2026, 11, 13, 16, 30)
    entries = log(EMAIL, events, utc(2026, 11, 13, 17, 0))
    assert entries[-2:] == [
        (utc(2026, 11, 13, 17, 0), "warned", "first_reply", 1, "urgent", 1.5 * H),
        (utc(2026, 11, 13, 17, 0), "breached", "first_reply", 1, "urgent", 1.5 * H),
    ]


ROUNDS = [
    ev(EventKind.MESSAGE_IN, utc(2027, 1, 4, 10, 0)),
    ev(EventKind.REPLY, utc(2027, 1, 4, 10, 5)),
    ev(EventKind.MESSAGE_IN, utc(2027, 1, 4, 11, 0)),  # round 1
    ev(EventKind.MESSAGE_IN, utc(2027, 1, 4, 11, 10)),  # same round
    ev(EventKind.NOTE, utc(2027, 1, 4, 11, 20)),
    ev(EventKind.REPLY, utc(2027, 1, 4, 11, 30)),
    ev(EventKind.MESSAGE_IN, utc(2027, 1, 4, 12, 0)),  # round 2, answered late
    ev(EventKind.REPLY, utc(2027, 1, 4, 13, 30)),
    ev(EventKind.MESSAGE_IN, utc(2027, 1, 4, 14, 0)),  # round 3
]


def test_next_reply_rounds_are_each_recorded() -> None:
    current = rows(TWEET, ROUNDS, utc(2027, 1, 4, 14, 20))[TargetKind.NEXT_REPLY]
    assert current.round == 3 and current.state is TargetState.OK
    assert current.due_at == utc(2027, 1, 4, 15, 0)
    rounds = [e for e in log(TWEET, ROUNDS, utc(2027, 1, 4, 14, 20)) if e[2] == "next_reply"]
    assert rounds == [
        (utc(2027, 1, 4, 11, 0), "started", "next_reply", 1, "social", 0.0),
        (utc(2027, 1, 4, 11, 30), "fulfilled", "next_reply", 1, "social", 30 * 60),
        (utc(2027, 1, 4, 12, 0), "started", "next_reply", 2, "social", 0.0),
        (utc(2027, 1, 4, 12, 45), "warned", "next_reply", 2, "social", 45 * 60),
        (utc(2027, 1, 4, 13, 0), "breached", "next_reply", 2, "social", 1 * H),
        (utc(2027, 1, 4, 13, 30), "fulfilled", "next_reply", 2, "social", 1.5 * H),
        (utc(2027, 1, 4, 14, 0), "started", "next_reply", 3, "social", 0.0),
    ]


def test_events_after_the_instant_are_ignored_and_no_inbound_means_no_target() -> None:
    assert rows(TWEET, ROUNDS, utc(2027, 1, 4, 9, 0)) == {}
    only_ours = [ev(EventKind.REPLY, utc(2027, 1, 4, 9, 0))]
    assert rows(TWEET, only_ours, utc(2027, 1, 4, 12, 0)) == {}
    nobody = SlaSubject(9, "unknown", "normal", frozenset(), False)
    assert rows(nobody, FRIDAY_1630, utc(2026, 11, 14)) == {}
    assert evaluate(EMAIL, FRIDAY_1630, PolicySet(()), utc(2026, 11, 14)) == []


@pytest.mark.parametrize("minutes", [0, 1, 29, 60, 61, 2 * 24 * 60, 3 * 24 * 60 + 7])
def test_countdown_agrees_with_a_full_evaluation(minutes: int) -> None:
    events = [*FRIDAY_1630, ev(EventKind.REPLY, utc(2026, 11, 13, 16, 0))]
    events.append(ev(EventKind.MESSAGE_IN, utc(2026, 11, 13, 16, 30)))
    start = utc(2026, 11, 13, 16, 45)
    later = start + timedelta(minutes=minutes)
    calendar = POLICIES.policies[2].calendar
    for before, after in zip(
        evaluate(EMAIL, events, POLICIES, start),
        evaluate(EMAIL, events, POLICIES, later),
        strict=True,
    ):
        ticked = countdown(before, calendar, later)
        assert (ticked.state, ticked.due_at, ticked.warn_at) == (
            after.state,
            after.due_at,
            after.warn_at,
        )
        assert ticked.remaining_s == pytest.approx(after.remaining_s, abs=1e-6)
        assert ticked.elapsed_s == pytest.approx(after.elapsed_s, abs=1e-6)


def test_urgency_order_and_next_transition() -> None:
    at = utc(2026, 11, 16, 10, 0)  # Monday 11:00 CET
    late = SlaSubject(1, "twitter", "normal", frozenset(), False)  # 30 min: long overdue
    email = SlaSubject(2, "email", "normal", frozenset(), False)  # warning since 10:30 CET
    fresh = SlaSubject(3, "email", "normal", frozenset(), False)
    statuses = [
        *evaluate(fresh, [ev(EventKind.MESSAGE_IN, utc(2026, 11, 16, 9, 30))], POLICIES, at),
        *evaluate(email, FRIDAY_1630, POLICIES, at),
        *evaluate(late, [ev(EventKind.MESSAGE_IN, utc(2026, 11, 16, 8, 0))], POLICIES, at),
    ]
    ordered = [(s.conversation_id, s.target.value, s.state.value) for s in sorted(
        statuses, key=urgency_key
    )]  # fmt: skip
    assert ordered == [
        (1, "first_reply", "breached"),
        (2, "first_reply", "warning"),
        (3, "first_reply", "ok"),
        (1, "resolution", "ok"),
        (2, "resolution", "ok"),
        (3, "resolution", "ok"),
    ]
    # The earliest change: conversation 3's first reply warns after 3 business hours
    # (10:30 CET + 3 h -> 14:30 CET, across lunch), conversation 2 breaches at 11:30 CET.
    assert next_transition(statuses) == utc(2026, 11, 16, 10, 30)


def test_reopened_after_a_policy_change_while_solved_is_measured_afresh() -> None:
    events = [
        *FRIDAY_1630,
        ev(EventKind.STATUS, utc(2026, 11, 13, 16, 0), "solved"),  # 0.5 business hours
        ev(EventKind.PRIORITY, utc(2026, 11, 14, 9, 0), "urgent"),
        ev(EventKind.MESSAGE_IN, utc(2026, 11, 16, 9, 0)),  # reopens under "urgent"
    ]
    resolution = rows(EMAIL, events, utc(2026, 11, 16, 9, 30))[TargetKind.RESOLUTION]
    # Urgent is 8 h round the clock: 30 min used before solving, then 7.5 h from the reopening.
    assert resolution.policy == "urgent" and resolution.due_at == utc(2026, 11, 16, 16, 30)
    assert resolution.elapsed_s == 1 * H
    entries = [e for e in log(EMAIL, events, utc(2026, 11, 16, 9, 30)) if e[2] == "resolution"]
    assert entries[-1] == (utc(2026, 11, 16, 9, 0), "resumed", "resolution", 1, "urgent", 0.5 * H)
    assert [e[0] for e in entries] == sorted(e[0] for e in entries)


EVENT_CHOICES = st.sampled_from(
    [
        (EventKind.MESSAGE_IN, ""),
        (EventKind.REPLY, ""),
        (EventKind.NOTE, ""),
        (EventKind.AUTO_REPLY, ""),
        (EventKind.STATUS, "pending"),
        (EventKind.STATUS, "open"),
        (EventKind.STATUS, "solved"),
        (EventKind.STATUS, "bogus"),
        (EventKind.PRIORITY, "urgent"),
        (EventKind.PRIORITY, "normal"),
        (EventKind.TAG_ADDED, "late"),
        (EventKind.TAG_REMOVED, "late"),
        (EventKind.CHANNEL, "twitter"),
        (EventKind.CHANNEL, "email"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    steps=st.lists(st.tuples(st.integers(0, 3000), EVENT_CHOICES), max_size=14),
    look=st.integers(0, 20000),
)
def test_states_agree_with_the_log(
    steps: list[tuple[int, tuple[EventKind, str]]], look: int
) -> None:
    start = utc(2026, 11, 12, 7, 0)
    events, t = [], start
    for gap, (kind, value) in steps:
        t += timedelta(minutes=gap)
        events.append(ev(kind, t, value))
    at = start + timedelta(minutes=look)
    entries = sla_log(EMAIL, events, POLICIES, at)
    assert [e.at for e in entries] == sorted(e.at for e in entries)
    assert all(e.at <= at for e in entries)
    for status in evaluate(EMAIL, events, POLICIES, at):
        mine = [e.kind for e in entries if (e.target, e.round) == (status.target, status.round)]
        assert mine and mine[0] == "started"
        expected = {
            TargetState.BREACHED: "breached",
            TargetState.WARNING: "warned",
            TargetState.MET: "fulfilled",
            TargetState.PAUSED: "paused",
        }.get(status.state)
        if expected is not None:
            assert expected in mine, (status, mine)
        if status.state is TargetState.MET:
            assert mine[-1] == "fulfilled"
        assert status.elapsed_s + status.remaining_s > 0
