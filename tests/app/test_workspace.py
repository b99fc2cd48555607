"""Workspace services: SLA refresh for the queue, per-conversation targets, notices once each."""

from __future__ import annotations

from datetime import timedelta

import pytest

from inbox.app.workspace import Workspace, refresh_sla
from inbox.models import QueueFilter, Status
from inbox.store.repository import Store
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
    assert ws.refresh_sla(T0 + timedelta(minutes=29)) == 0  # nothing changed since the tick


def test_refresh_replays_only_conversations_whose_state_can_have_changed() -> None:
    store = Store.open(":memory:")
    store.save_account(X)
    store.ingest(X, [tweet("1"), tweet("2", user="300", handle="@bob", minutes=10)])
    convs = sorted(c.id for c in store.queue(QueueFilter()))
    now = T0 + timedelta(minutes=11)
    assert refresh_sla(store, now) == 2
    assert refresh_sla(store, now) == 0
    # A status change is an event: only that conversation is replayed.
    store.set_status(convs[1], Status.PENDING, now, "camille")
    assert refresh_sla(store, now) == 1
    assert "paused" in [r["kind"] for r in store.sla_log_rows() if r["conversation_id"] == convs[1]]
    # The first conversation's warning instant (75% of 30 minutes) passes: replayed, logged.
    later = T0 + timedelta(minutes=23)
    assert refresh_sla(store, later) == 1
    assert {c.id: c.sla_state for c in store.queue(QueueFilter())}[convs[0]] == "warning"
    assert "warned" in [r["kind"] for r in store.sla_log_rows() if r["conversation_id"] == convs[0]]
    # A cache computed for a later instant is recomputed (only the first one was), and forcing
    # replays all.
    assert refresh_sla(store, now) == 1
    assert refresh_sla(store, now, force=True) == 2
    # The customer becoming VIP can change the policy: marked stale by the store.
    customer = store.conversation(convs[0]).customer_id
    assert customer is not None
    store.update_customer(customer, vip=True)
    assert refresh_sla(store, now) == 1


def test_incremental_refresh_leaves_the_same_state_as_a_full_one() -> None:
    """On the demo workspace: refreshes along a working day (replies, status changes, time
    passing) leave exactly the cache and SLA log that recomputing everything gives."""
    from inbox.app.demo import populate

    def snapshot(store: Store) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
        cache = store._rows("SELECT id, sla_due_at, sla_state FROM conversations ORDER BY id")
        log = store._rows("SELECT conversation_id, at, kind, target, round, policy, business_s FROM sla_log ORDER BY conversation_id, at, kind, target, round")
        return [tuple(r) for r in cache], [tuple(r) for r in log]

    start = T0
    incremental, full = Store.open(":memory:"), Store.open(":memory:")
    for store in (incremental, full):
        populate(store, start)
    ids = incremental.open_conversation_ids()[:30]
    for step in range(1, 8):
        now = start + timedelta(minutes=37 * step)
        for n, cid in enumerate(ids[step::7]):
            for store in (incremental, full):
                status = (Status.PENDING, Status.OPEN, Status.SOLVED)[(n + step) % 3]
                store.set_status(cid, status, now, "camille")
        replayed = refresh_sla(incremental, now)
        refresh_sla(full, now, force=True)
        assert replayed < len(incremental.open_conversation_ids())
        assert snapshot(incremental) == snapshot(full), f"step {step}"


def test_a_refresh_of_some_conversations_does_not_hide_events_of_others() -> None:
    store = Store.open(":memory:")
    store.save_account(X)
    store.ingest(X, [tweet("1"), tweet("2", user="300", handle="@bob", minutes=10)])
    first, second = sorted(c.id for c in store.queue(QueueFilter()))
    now = T0 + timedelta(minutes=11)
    assert refresh_sla(store, now) == 2
    store.set_status(first, Status.PENDING, now, "camille")
    store.set_status(second, Status.PENDING, now, "camille")
    assert refresh_sla(store, now, [first]) == 1  # the window refreshes what it just changed
    assert refresh_sla(store, now) == 1  # the tick still sees the other one's event
    assert refresh_sla(store, now) == 0


def test_policies_stored_by_anyone_are_the_ones_the_next_refresh_uses() -> None:
    """The rules in force are read from the store at each use (parsed once per text): a policy
    loaded by ``inbox policy load`` or a team server while the window runs is used by its next
    refresh and its conversation view alike, with no cache to forget."""
    from importlib import resources

    from inbox.sla.policy import POLICY_SETTING

    store = Store.open(":memory:")
    store.save_account(X)
    store.ingest(X, [tweet("1")])
    ws = Workspace(store, "camille", clock=lambda: T0 + timedelta(minutes=5))
    ws.refresh_sla(T0 + timedelta(minutes=5))
    cid = store.queue(QueueFilter())[0].id
    assert store.conversation(cid).sla_due_at == T0 + timedelta(minutes=30)
    shipped = resources.files("inbox.data").joinpath("default_policies.toml").read_text("utf-8")
    faster = shipped.replace('name = "social"', 'name = "social, faster"').replace(
        'first_reply = "30m"', 'first_reply = "10m"', 1
    )
    store.set_setting(POLICY_SETTING, faster)
    store.add_tag(cid, "delivery", T0 + timedelta(minutes=6), "camille")  # an event: its SLA is replayed
    ws.refresh_sla(T0 + timedelta(minutes=6), [cid])
    assert store.conversation(cid).sla_due_at == T0 + timedelta(minutes=10)
    targets, _log = ws.sla_details(cid)
    assert {t.policy for t in targets} == {"social, faster"}


def test_a_refresh_of_many_conversations_reads_them_a_chunk_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """An import touching 100,000 conversations held every event of all of them at once (880 MB
    at 1M messages): they are read, assessed and written a chunk at a time, with the same result,
    and the mark that every open conversation is up to date written only with the last chunk."""
    import inbox.app.workspace as workspace
    from inbox.app.demo import populate

    def state(store: Store) -> list[tuple[object, ...]]:
        rows = store._rows("SELECT id, sla_due_at, sla_state, sla_next_at FROM conversations ORDER BY id")
        log = store._rows("SELECT conversation_id, at, kind, target, round FROM sla_log ORDER BY 1, 2, 3, 4, 5")
        return [tuple(r) for r in rows] + [tuple(r) for r in log]

    chunked, whole = Store.open(":memory:"), Store.open(":memory:")
    for store in (chunked, whole):
        populate(store, T0)
    now = T0 + timedelta(minutes=90)
    for store in (chunked, whole):  # an event after the stored mark: this refresh moves the mark
        store.set_status(store.open_conversation_ids()[0], Status.PENDING, now, "camille")
    expected = refresh_sla(whole, now, force=True)
    reads: list[int] = []
    marks: list[int | None] = []
    inputs, replace = chunked.sla_inputs, chunked.replace_sla_logs

    def counted(ids: list[int]) -> object:
        reads.append(len(ids))
        return inputs(ids)

    def marked(logs: object, cache: object, event_mark: int | None = None) -> None:
        marks.append(event_mark)
        replace(logs, cache, event_mark)  # type: ignore[arg-type]

    monkeypatch.setattr(workspace, "REFRESH_CHUNK", 7)
    monkeypatch.setattr(chunked, "sla_inputs", counted)
    monkeypatch.setattr(chunked, "replace_sla_logs", marked)
    assert refresh_sla(chunked, now, force=True) == expected > 20
    assert max(reads) == 7 and sum(reads) == expected
    assert state(chunked) == state(whole)
    newest = chunked._rows("SELECT MAX(id) FROM events")[0][0]
    assert marks[:-1] == [None] * (len(marks) - 1) and marks[-1] == newest  # with the last chunk only
    assert refresh_sla(chunked, now) == 0
