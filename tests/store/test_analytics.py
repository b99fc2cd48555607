"""The team lead's SQL on a real store: sentiment batches, triage, agents, alerts, reports."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from inbox.assignment import Agent
from inbox.demo import populate
from inbox.models import Author, Direction, EventKind, IdentityKind, Priority, QueueFilter, Status
from inbox.reports import build_report
from inbox.store import analytics
from inbox.store.repository import Store
from inbox.triage import DEFAULT_RULES, evaluate, load_rules
from inbox.workspace import refresh_sla, statuses_at
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
