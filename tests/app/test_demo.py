"""The demo workspace looks like a working day whenever it is opened: built at one instant and
opened days later, or on a Sunday night, its queue is mostly on time, some conversations warned,
a few breached, as of the moment it is opened."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from inbox.app.demo import BUILT_AT, build_demo, ensure_demo
from inbox.app.workspace import refresh_sla
from inbox.models import QueueFilter, Status
from inbox.store.database import from_db_time
from inbox.store.repository import Store

BUILT = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)  # a Monday afternoon
ACTIVE = QueueFilter(statuses=frozenset({Status.NEW, Status.OPEN}))


def states(store: Store) -> dict[int, str | None]:
    return {c.id: c.sla_state for c in store.queue(ACTIVE, limit=10_000)}


@pytest.mark.parametrize(
    "opened",
    [BUILT + timedelta(days=3, hours=5), datetime(2026, 11, 29, 3, 0, tzinfo=ZoneInfo("Europe/Paris"))],
    ids=["three days later", "sunday 3am"],
)
def test_the_demo_opened_later_reads_as_of_the_moment_it_is_opened(tmp_path: Path, opened: datetime) -> None:
    path = tmp_path / "demo.db"
    build_demo(path, BUILT)
    ensure_demo(path, opened)
    store = Store.open(path)
    try:
        cached = states(store)
        assert refresh_sla(store, opened, force=True) > 0  # every deadline recomputed from the events, as of opening
        now = states(store)
        assert now == cached  # the SLA cache moved with the timeline
        mix = Counter(now.values())
        assert mix["ok"] > 0.6 * len(now), mix
        assert 1 <= mix["warning"] < mix["ok"], mix
        assert 1 <= mix["breached"] < 0.2 * len(now), mix
        newest = max(c.last_message_at for c in store.queue(ACTIVE, limit=10_000))
        assert opened - timedelta(hours=1) < newest <= opened  # customers wrote minutes ago, none in the future
        assert from_db_time(store.setting(BUILT_AT)) == opened
    finally:
        store.close()


def test_opening_the_demo_again_keeps_what_the_agent_did(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    build_demo(path, BUILT)
    store = Store.open(path)
    conv = store.queue(ACTIVE, limit=1)[0]
    store.save_draft(conv.id, "Bonjour, je regarde", BUILT + timedelta(minutes=5))
    events = len(store.events(conv.id))
    store.close()
    ensure_demo(path, BUILT + timedelta(days=1))
    store = Store.open(path)
    try:
        assert store.draft(conv.id) == "Bonjour, je regarde"
        assert len(store.events(conv.id)) == events
        assert store.conversation(conv.id).last_message_at == conv.last_message_at + timedelta(days=1)
    finally:
        store.close()


def test_a_demo_built_before_the_mark_existed_is_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "demo.db"
    build_demo(path, BUILT)
    store = Store.open(path)
    store.set_setting(BUILT_AT, "")
    store.close()
    opened = BUILT + timedelta(days=10)
    ensure_demo(path, opened)
    store = Store.open(path)
    try:
        assert from_db_time(store.setting(BUILT_AT)) == opened
        assert Counter(states(store).values())["ok"] > 0
    finally:
        store.close()


def test_the_demo_s_direct_messages_carry_x_s_own_conversation_key(tmp_path: Path) -> None:
    from inbox.conversations.routing import x_dm_conversation_key, x_dm_participants
    from inbox.models import Surface

    path = tmp_path / "demo.db"
    build_demo(path, BUILT)
    store = Store.open(path)
    try:
        keys = {m.thread_key for c in store.queue(QueueFilter(), limit=10_000) for m in store.messages(c.id)
                if m.surface is Surface.DM}  # fmt: skip
    finally:
        store.close()
    assert keys
    for key in keys:
        pair = x_dm_participants(key)
        assert pair is not None and "1500000000000000001" in pair  # the brand and one customer
        assert x_dm_conversation_key("-".join(pair)) == key  # "<smaller id>-<larger id>", as X spells it
