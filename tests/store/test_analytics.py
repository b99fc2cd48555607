"""The team lead's SQL on a real store: sentiment batches, triage, agents, alerts, reports."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from inbox.app.demo import populate
from inbox.app.workspace import refresh_sla, statuses_at
from inbox.errors import StoreError
from inbox.models import Author, Direction, EventKind, IdentityKind, Priority, QueueFilter, Status
from inbox.sla.reports import backlog, bucket_counts, build_report
from inbox.store import analytics
from inbox.store.database import from_db_time, to_db_time
from inbox.store.repository import Store
from inbox.triage.assignment import Agent
from inbox.triage.rules import DEFAULT_RULES, evaluate, load_rules
from tests.factories import MAILBOX, T0, X, mail, tweet

US = Author(IdentityKind.EMAIL, "support@shop.example", "support@shop.example", "Shop")


@pytest.fixture()
def store() -> Iterator[Store]:
    s = Store.open(":memory:")
    s.save_account(MAILBOX)
    s.save_account(X)
    yield s
    s.close()


def fake_analyse(text: str) -> tuple[str, float]:
    if "boom" in text:
        raise RuntimeError("lexicon broke")
    return ("fr" if "commande" in text else "en"), (
        -0.8 if "late" in text or "retard" in text else 0.3
    )


def test_sentiment_is_scored_in_batches_and_a_broken_message_does_not_block(store: Store) -> None:
    store.ingest(MAILBOX, [mail(f"<m{i}@x>", sender=f"c{i}@example.org", subject=f"S{i}", minutes=i,
                                text="boom" if i == 0 else ("my order is late" if i % 2 else "thanks"))
                           for i in range(5)])  # fmt: skip
    assert analytics.score_pending(store, fake_analyse, limit=2) == 2
    assert analytics.score_pending(store, fake_analyse, limit=10) == 3
    assert analytics.score_pending(store, fake_analyse, limit=10) == 0
    rows = store._rows("SELECT text, lang, sentiment FROM messages ORDER BY id")
    assert [(r["lang"], r["sentiment"]) for r in rows] == [("", 0.0), ("en", -0.8), ("en", 0.3), ("en", -0.8),
                                                             ("en", 0.3)]  # fmt: skip
    negative = analytics.negative_conversation_ids(store)
    assert len(negative) == 2
    latest = analytics.latest_sentiments(store, list(negative))
    assert all(v == -0.8 for v in latest.values())


def test_only_customer_messages_are_scored(store: Store) -> None:
    store.ingest(MAILBOX, [mail("<a@x>", text="late"), dataclasses.replace(
        mail("<b@x>", minutes=5, text="late", refs=("<a@x>",), reply_to="<a@x>"), author=US,
        direction=Direction.OUTBOUND)])  # fmt: skip
    assert analytics.score_pending(store, fake_analyse) == 1


def test_triage_never_overwrites_a_priority_a_person_set(store: Store) -> None:
    store.ingest(X, [tweet(str(i), user=str(200 + i), text="late", minutes=i) for i in range(3)])
    analytics.score_pending(store, fake_analyse)
    ids = sorted(c.id for c in store.queue(QueueFilter()))
    analytics.set_agent_priority(store, ids[0], Priority.LOW, T0, "camille")
    store.set_priority(ids[1], Priority.LOW, T0, "sophie")  # a UI that forgot priority_source
    rules = load_rules(DEFAULT_RULES)
    now = T0 + timedelta(hours=2)
    inputs = analytics.triage_inputs(store, now)
    assert [i.agent_priority for i in inputs] == [True, True, False]
    assert (
        inputs[2].public
        and inputs[2].sentiment == -0.8
        and inputs[2].waiting_s == pytest.approx(7200 - 120)
    )
    changed = analytics.apply_triage(store, [evaluate(i, rules) for i in inputs], now)
    assert changed == 1
    assert [store.conversation(i).priority for i in ids] == [
        Priority.LOW,
        Priority.LOW,
        Priority.HIGH,
    ]
    event = [e for e in store.events(ids[2]) if e.kind is EventKind.PRIORITY][-1]
    assert event.actor == analytics.TRIAGE_ACTOR and event.value == "high"
    assert (
        analytics.apply_triage(store, [evaluate(i, rules) for i in inputs], now) == 0
    )  # idempotent
    score = store._rows("SELECT score FROM conversations WHERE id = ?", [ids[0]])[0]["score"]
    assert score == 30 + 15 + 20 + 4  # negative, very negative, public, 2 h waiting; kept priority


def test_agents_loads_and_waiting(store: Store) -> None:
    store.ingest(MAILBOX, [mail(f"<m{i}@x>", sender=f"c{i}@example.org", subject=f"S{i}", minutes=i)
                           for i in range(3)])  # fmt: skip
    analytics.save_agent(store, Agent("sophie", "Sophie", frozenset({"email"}), True, 5))
    analytics.save_agent(
        store, Agent("sophie", "Sophie M.", frozenset({"email", "twitter"}), False, 6)
    )
    assert analytics.agents(store) == [
        Agent("sophie", "Sophie M.", frozenset({"email", "twitter"}), False, 6)
    ]
    first = analytics.waiting_unassigned(store)
    assert [w.channel for w in first] == ["email"] * 3
    store.assign(first[0].conversation_id, "sophie", T0, "lead")
    assert analytics.agent_loads(store) == {"sophie": 1}
    assert len(analytics.waiting_unassigned(store)) == 2


def test_alerts_are_recorded_listed_and_acknowledged(store: Store) -> None:
    aid = analytics.record_alert(store, "crisis", T0, {"negative": 12, "message_ids": [1, 2]})
    [alert] = analytics.alerts(store)
    assert alert.id == aid and alert.detail["message_ids"] == [1, 2] and alert.at == T0
    assert analytics.acknowledge_alert(store, aid) and not analytics.acknowledge_alert(store, 999)
    assert (
        analytics.alerts(store) == []
        and len(analytics.alerts(store, include_acknowledged=True)) == 1
    )


def test_report_agrees_with_what_the_sla_engine_showed(store: Store) -> None:
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    populate(store, now)
    refresh_sla(store, now)
    shown = statuses_at(store, now)
    convs, entries = analytics.report_inputs(store, now - timedelta(days=30), now)
    report = build_report(convs, entries, now - timedelta(days=30), now, "channel")
    for target in ("first_reply", "resolution"):
        seen = [s for s in shown if s.target.value == target]
        comp = report.total.compliance[target]
        # Every target running now is in the report: breached ones as breached, running ones open.
        assert comp.breached >= sum(1 for s in seen if s.state.value == "breached")
        assert comp.open == sum(1 for s in seen if s.state.value in ("ok", "warning", "paused"))
    assert report.total.received == len(
        {c.id for c in convs if any(e.kind is EventKind.MESSAGE_IN for e in c.events)}
    )


def test_dashboard_snapshot_on_the_demo(store: Store) -> None:
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    populate(store, now)
    refresh_sla(store, now)
    snap = analytics.AnalyticsSource(store).snapshot(now)
    open_total = sum(sum(v.values()) for v in snap.open_by_channel.values())
    active = frozenset({Status.NEW, Status.OPEN, Status.PENDING})
    assert open_total == store.count(QueueFilter(statuses=active))
    assert snap.at_risk and all(
        r.state == "warning" and r.due_at and r.due_at > now for r in snap.at_risk
    )
    assert snap.breached and all(r.state == "breached" for r in snap.breached)
    assert {ch for ch, _, _ in snap.oldest_unanswered} == {
        "email",
        "twitter",
        "facebook",
        "webform",
    }
    assert all(since <= now for _, _, since in snap.oldest_unanswered)
    assert {name for name, _, _ in snap.agent_loads} == {"camille", "sophie", "yanis"}
    assert snap.backlog[-1][1] >= snap.backlog[0][1] and len(snap.backlog) == 13
    assert sum(n for series in snap.volume.values() for _, n in series) > 300


def _backlog_from_whole_history(store: Store, now: datetime, hours: int) -> list[tuple[datetime, int]]:
    """The backlog as first written: every event of every conversation concerned, replayed."""
    start = to_db_time(now - timedelta(hours=hours))
    convs = analytics._conversations(
        store, "c.status IN ('new', 'open', 'pending') OR c.id IN (SELECT conversation_id FROM events WHERE at >= ?)",
        [start],
    )  # fmt: skip
    return backlog({c.id: c.events for c in convs}, now, hours)


def _volume_from_all_messages(store: Store, now: datetime, days: int, channels: Iterable[str]) -> object:
    since = now - timedelta(days=days)
    rows = store._rows(
        """SELECT channel, sent_at FROM messages WHERE direction = 'in' AND private = 0 AND automated = 0
           AND sent_at >= ?""",
        [to_db_time(since)],
    )
    return bucket_counts(((r["channel"], from_db_time(r["sent_at"])) for r in rows), since, now,
                         timedelta(hours=4), keys=channels)  # fmt: skip


def test_backlog_and_volume_read_only_the_window_yet_match_the_whole_history(store: Store) -> None:
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    populate(store, now)
    refresh_sla(store, now)
    # A conversation closed and then written to again (it stays closed for the backlog), and one
    # solved then reopened by a customer message inside the window.
    ids = [int(r["id"]) for r in store._rows("SELECT id FROM conversations ORDER BY id LIMIT 2")]
    store.set_status(ids[0], Status.CLOSED, now - timedelta(hours=30), "camille")
    store.set_status(ids[1], Status.SOLVED, now - timedelta(hours=20), "camille")
    store._write(lambda db: [db.execute(
        "INSERT INTO events (conversation_id, kind, at, actor, value) VALUES (?, 'message_in', ?, '', '')",
        [cid, to_db_time(now - timedelta(hours=h))]) for cid, h in ((ids[0], 20), (ids[0], 10), (ids[1], 5))])  # fmt: skip
    seen = set()
    for shift_h, hours, days in ((0, 12, 3), (-5, 12, 3), (-30, 24, 2), (7, 6, 1), (-200, 12, 3)):
        at = now + timedelta(hours=shift_h)
        source = analytics.AnalyticsSource(store, hours=hours, volume_days=days)
        snap = source.snapshot(at)
        assert list(snap.backlog) == _backlog_from_whole_history(store, at, hours)
        assert snap.volume == _volume_from_all_messages(store, at, days, snap.open_by_channel)
        seen |= {n for _, n in snap.backlog}
    assert len(seen) > 3  # the windows cover a backlog that moves, not a flat line


def test_own_connection_reads_the_same_file_read_only(tmp_path: Path) -> None:
    now = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
    shared = Store.open(tmp_path / "inbox.db")
    try:
        populate(shared, now)
        refresh_sla(shared, now)
        source = analytics.AnalyticsSource.own_connection(shared)
        assert source.store is not shared and source.store.db.conn is not shared.db.conn
        assert source.snapshot(now) == analytics.AnalyticsSource(shared).snapshot(now)
        week = now - timedelta(days=7)
        both = source.reports(week, now, ["channel", "agent"])
        assert both["agent"] == analytics.AnalyticsSource(shared).report(week, now, "agent")
        with pytest.raises(StoreError, match="read-only"):
            source.store._write(lambda db: db.execute("DELETE FROM alerts"))
        source.close()
        with pytest.raises(StoreError):
            source.store._rows("SELECT 1")
        assert shared._rows("SELECT COUNT(*) AS n FROM conversations")[0]["n"] > 0  # still open
    finally:
        shared.close()
    memory = Store.open(":memory:")
    try:
        in_memory = analytics.AnalyticsSource.own_connection(memory)
        assert in_memory.store is memory  # no file to share: the store itself
        in_memory.close()
        assert memory._rows("SELECT 1 AS n")[0]["n"] == 1  # not closed by the source
    finally:
        memory.close()
