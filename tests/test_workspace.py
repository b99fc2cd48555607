"""Workspace services: SLA refresh for the queue, per-conversation targets, notices once each."""

from __future__ import annotations

from datetime import timedelta

from inbox.models import QueueFilter
from inbox.store.repository import Store
from inbox.workspace import Workspace, refresh_sla
from tests.factories import T0, X, tweet


def test_breach_is_noticed_once_and_the_queue_cache_follows() -> None:
    store = Store.open(":memory:")
    store.save_account(X)
    store.ingest(X, [tweet("1")])  # social policy: first reply within 30 minutes
    now = T0 + timedelta(minutes=40)
    clock_now = [now]
    ws = Workspace(store, "camille", clock=lambda: clock_now[0])
    refresh_sla(store, now)
    conv = store.queue(QueueFilter())[0]
    assert conv.sla_state == "breached"
    assert conv.sla_due_at == T0 + timedelta(minutes=30)
    notices = ws.new_notices()
    assert [n[0] for n in notices] == ["SLA warning: first reply", "SLA breached: first reply"]
    assert all(n[2] == conv.id for n in notices)
    assert ws.new_notices() == []  # once each
    targets, history = ws.sla_details(conv.id)
    assert {t.target.value for t in targets} == {"first_reply", "resolution"}
    assert [e.kind for e in history][:3] == ["started", "started", "warned"]


def test_tick_recomputes_only_conversations_due_soon() -> None:
    store = Store.open(":memory:")
    store.save_account(X)
    store.ingest(X, [tweet("1"), tweet("2", user="300", handle="@bob", minutes=600)])
    ws = Workspace(store, "camille", clock=lambda: T0 + timedelta(minutes=5))
    refresh_sla(store, T0 + timedelta(minutes=5))
    first = store.queue(QueueFilter())[0]
    assert first.sla_state == "ok"
    ws.clock = lambda: T0 + timedelta(minutes=29)
    ws.tick_sla()
    states = {c.id: c.sla_state for c in store.queue(QueueFilter())}
    assert states[first.id] == "warning"
