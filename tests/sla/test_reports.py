"""Report figures checked against numbers worked out by hand on a small SLA log."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from inbox.models import ConversationEvent, EventKind
from inbox.sla.engine import SlaLogEntry, TargetKind
from inbox.sla.reports import (
    Compliance,
    ReportConversation,
    backlog,
    build_report,
    display_row,
    histogram,
    median,
    monthly,
    p90,
    to_csv,
    waiting_open,
)

T0 = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
FR, RS = TargetKind.FIRST_REPLY, TargetKind.RESOLUTION


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def ev(cid: int, kind: EventKind, minutes: float, value: str = "") -> ConversationEvent:
    return ConversationEvent(cid, kind, at(minutes), "x", value)


def log(cid: int, kind: str, target: TargetKind, minutes: float, business: float | None = 0.0,
        policy: str = "standard", rnd: int = 1) -> SlaLogEntry:  # fmt: skip
    return SlaLogEntry(cid, at(minutes), kind, target, rnd, policy, business)


# 1 email, Alice: replied after 30 min, solved after 2 h.
# 2 X, Bob: first reply due in 1 h, breached, replied after 3 h; still open.
# 3 email: solved after 10 min without a reply (meets its target, has no reply time).
# 4 email: replied after 1 h (10 business minutes), solved, reopened, solved again at 4 h.
# 5 email: from the week before, outside the period.
CONVERSATIONS = [
    ReportConversation(1, "email", "alice", (
        ev(1, EventKind.MESSAGE_IN, 0), ev(1, EventKind.ASSIGNED, 5, "alice"), ev(1, EventKind.REPLY, 30),
        ev(1, EventKind.STATUS, 120, "solved"))),
    ReportConversation(2, "twitter", "bob", (
        ev(2, EventKind.MESSAGE_IN, 60), ev(2, EventKind.ASSIGNED, 61, "bob"), ev(2, EventKind.REPLY, 180))),
    ReportConversation(3, "email", "", (ev(3, EventKind.MESSAGE_IN, 240), ev(3, EventKind.STATUS, 250, "solved"))),
    ReportConversation(4, "email", "", (
        ev(4, EventKind.MESSAGE_IN, 300), ev(4, EventKind.REPLY, 360), ev(4, EventKind.STATUS, 420, "solved"),
        ev(4, EventKind.MESSAGE_IN, 480), ev(4, EventKind.STATUS, 540, "solved"))),
    ReportConversation(5, "email", "", (ev(5, EventKind.MESSAGE_IN, -7 * 1440), ev(5, EventKind.REPLY, -7 * 1440 + 5))),
]  # fmt: skip
ENTRIES = [
    log(1, "started", FR, 0), log(1, "started", RS, 0), log(1, "fulfilled", FR, 30, 1800),
    log(1, "fulfilled", RS, 120, 7200),
    log(2, "started", FR, 60, policy="social"), log(2, "started", RS, 60, policy="social"),
    log(2, "warned", FR, 105, 2700, "social"), log(2, "breached", FR, 120, 3600, "social"),
    log(2, "fulfilled", FR, 180, 7200, "social"),
    log(3, "started", FR, 240), log(3, "started", RS, 240), log(3, "fulfilled", FR, 250, 600),
    log(3, "fulfilled", RS, 250, 600),
    log(4, "started", FR, 300), log(4, "started", RS, 300), log(4, "fulfilled", FR, 360, 600),
    log(4, "fulfilled", RS, 420, 1200), log(4, "resumed", RS, 480, 1200), log(4, "fulfilled", RS, 540, 2400),
    log(5, "started", FR, -7 * 1440), log(5, "fulfilled", FR, -7 * 1440 + 5, 300),
]  # fmt: skip
SINCE, UNTIL = T0 - timedelta(hours=1), T0 + timedelta(days=1)


def test_quantiles_as_documented() -> None:
    assert median([3, 1, 2]) == 2 and median([1, 2, 3, 4]) == 2.5 and median([]) is None
    assert p90(list(range(1, 11))) == 9 and p90([5]) == 5 and p90([1, 2]) == 2 and p90([]) is None


def test_report_by_channel_matches_the_hand_computed_figures() -> None:
    report = build_report(CONVERSATIONS, ENTRIES, SINCE, UNTIL, "channel")
    rows = {r.key: r for r in report.rows}
    email, x, total = rows["email"], rows["twitter"], report.total
    assert (email.received, email.solved, x.received, x.solved) == (3, 3, 1, 0)
    # First reply: email 1800 s and 3600 s wall (1800 and 600 business); conversation 3 has none.
    assert email.first_reply.count == 2
    assert (email.first_reply.median_s, email.first_reply.p90_s) == (2700, 3600)
    assert (email.first_reply.median_business_s, email.first_reply.p90_business_s) == (1200, 1800)
    # Resolution: 7200, 600 and 14400 s wall (4 is measured to its last solve); 7200, 600, 2400 business.
    assert email.resolution.count == 3
    assert (email.resolution.median_s, email.resolution.p90_s) == (7200, 14400)
    assert (email.resolution.median_business_s, email.resolution.p90_business_s) == (2400, 7200)
    assert email.compliance["first_reply"] == Compliance(met=3) and email.compliance[
        "resolution"
    ] == Compliance(met=3)
    assert (
        x.compliance["first_reply"] == Compliance(breached=1)
        and x.compliance["first_reply"].pct == 0.0
    )
    assert x.compliance["resolution"] == Compliance(open=1)
    assert x.first_reply.median_s == 7200
    assert (total.received, total.solved) == (4, 3)
    assert (total.first_reply.median_s, total.first_reply.p90_s) == (3600, 7200)
    assert (
        total.compliance["first_reply"] == Compliance(met=3, breached=1)
        and total.compliance["first_reply"].pct == 75.0
    )
    assert total.compliance["next_reply"].pct is None


def test_report_by_agent_policy_and_day() -> None:
    by_agent = {r.key: r for r in build_report(CONVERSATIONS, ENTRIES, SINCE, UNTIL, "agent").rows}
    assert by_agent["alice"].compliance["first_reply"] == Compliance(met=1)
    assert by_agent["bob"].compliance["first_reply"] == Compliance(breached=1)
    assert by_agent["(unassigned)"].compliance["first_reply"] == Compliance(met=2)
    by_policy = {
        r.key: r for r in build_report(CONVERSATIONS, ENTRIES, SINCE, UNTIL, "policy").rows
    }
    assert by_policy["social"].received == 1 and by_policy["standard"].received == 3
    by_day = build_report(CONVERSATIONS, ENTRIES, T0 - timedelta(days=8), UNTIL, "day")
    assert [r.key for r in by_day.rows] == ["2026-11-09", "2026-11-16"]
    assert by_day.rows[0].received == 1 and by_day.rows[0].first_reply.median_s == 300


def test_csv_has_one_row_per_group_and_a_total() -> None:
    text = to_csv(build_report(CONVERSATIONS, ENTRIES, SINCE, UNTIL, "channel"))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["key"] for r in rows] == ["email", "twitter", "total"]
    assert rows[2]["first_reply_pct"] == "75.0" and rows[2]["first_reply_median_s"] == "3600.0"
    assert rows[1]["next_reply_pct"] == ""
    shown = display_row(build_report(CONVERSATIONS, ENTRIES, SINCE, UNTIL, "channel").total)
    assert shown[3] == "1h00 / 30m" and shown[7] == "3/1 75%"


def test_monthly_transparency_figure() -> None:
    october = ReportConversation(9, "twitter", "", (
        ConversationEvent(9, EventKind.MESSAGE_IN, datetime(2026, 10, 31, 23, 0, tzinfo=UTC)),
        ConversationEvent(9, EventKind.REPLY, datetime(2026, 11, 1, 0, 30, tzinfo=UTC))))  # fmt: skip
    rows = {
        (r.month, r.channel): (r.received, r.handled) for r in monthly([*CONVERSATIONS, october])
    }
    assert rows[("2026-10", "twitter")] == (1, 0)
    assert rows[("2026-11", "twitter")] == (1, 2)
    assert rows[("2026-11", "email")] == (4, 4)


def test_backlog_and_histogram() -> None:
    events = {c.id: c.events for c in CONVERSATIONS}
    assert waiting_open(CONVERSATIONS[3].events, at(450)) is False  # solved
    assert waiting_open(CONVERSATIONS[3].events, at(500)) is True  # reopened by the customer
    series = backlog(events, at(510), hours=2)
    # 7:30: 2 and 5 (never solved) and 4 (not solved yet); 8:30: 4 solved; 9:30: 4 reopened.
    assert [n for _, n in series] == [3, 2, 3]
    assert histogram([60, 1000, 4000, 90_000], (900.0, 3600.0), ("a", "b", "c")) == [
        ("a", 1),
        ("b", 1),
        ("c", 2),
    ]
