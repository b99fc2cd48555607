"""One simulated hour of a flaky service through :class:`inbox.sync.service.SyncService` (fake clock and
sleep injected, faults from a seeded RNG): the store ends equal to the service's content, every
reply went out exactly once, and the account ends up to date."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

from inbox.models import Author, Channel, Direction, IdentityKind, Message, OutboxState, Surface
from inbox.store.repository import Store
from inbox.sync.service import AccountState, SyncService
from tests.factories import X
from tests.reliability import figures
from tests.reliability.fakes import START, FlakyProvider, FlakyService
from tests.reliability.simclock import SimClock


def mention(n: int, at: datetime) -> Message:
    return Message(
        provider_id=f"t{n}",
        channel=Channel.TWITTER,
        surface=Surface.MENTION,
        direction=Direction.INBOUND,
        author=Author(IdentityKind.TWITTER, f"u{n % 17}", f"@user{n % 17}", f"User {n % 17}"),
        text=f"@Shop question {n}",
        sent_at=at,
        thread_key=f"x:conv:t{n}",
    )


def run_flaky_hour(tmp_path: Path, kinds_off: frozenset[str]) -> tuple[Store, FlakyService, int]:
    rng = random.Random(figures.SEED)
    service_side = FlakyService(rng=rng, fault_rate=0.35)
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(X)
    clock = SimClock()
    provider = FlakyProvider(X, service_side)
    sync = SyncService(
        store,
        [provider],
        clock=clock.now,
        sleep=clock.sleep,
        random=rng.random,
        outbox_interval=30.0,
    )
    end = clock.current + timedelta(hours=figures.FLAKY_HOURS)
    next_arrival = clock.current
    next_reply = clock.current + timedelta(minutes=3)
    arrivals = 0
    original_fault = service_side.fault

    def fault() -> str | None:
        kind = original_fault()
        return None if kind in kinds_off else kind

    service_side.fault = fault  # type: ignore[method-assign]

    def tick(now: datetime) -> None:
        nonlocal next_arrival, next_reply, arrivals
        while next_arrival <= clock.current:
            arrivals += 1
            service_side.inbox.append(mention(arrivals, next_arrival))
            next_arrival += timedelta(seconds=rng.uniform(10, 90))
        if clock.current >= next_reply:
            next_reply = clock.current + timedelta(minutes=rng.uniform(2, 6))
            busy = {i.draft.conversation_id for i in store.outbox_items()}
            free = [c for c in store.open_conversation_ids() if c not in busy]
            if free:
                sync.outbox.reply(rng.choice(free), f"On it {len(service_side.delivered)}")
                sync.wake_outbox()

    async def main() -> int:
        runner = asyncio.create_task(sync.run())
        steps = await clock.drive(end, tick)
        sync.stop()
        await runner
        service_side.fault_rate = 0.0  # the service calms down: one clean pass
        calm = SyncService(store, [provider], clock=clock.now, sleep=clock.sleep)
        await calm.sync_once()
        statuses, _report = await calm.sync_once()
        assert statuses[0].state is AccountState.UP_TO_DATE
        return steps

    steps = asyncio.run(main())
    return store, service_side, steps


def test_an_hour_of_faults_ends_with_the_store_equal_to_the_service(tmp_path: Path) -> None:
    # A post whose answer is lost is covered by the test below.
    store, service_side, steps = run_flaky_hour(tmp_path, frozenset({"drop_after_post"}))
    stored = Counter(
        r["provider_id"]
        for r in store._rows("SELECT provider_id FROM messages WHERE direction = 'in'")
    )
    assert set(stored) == {m.provider_id for m in service_side.inbox}
    assert max(stored.values()) == 1
    items = store.outbox_items(tuple(OutboxState))
    delivered = Counter(service_side.delivered)
    assert max(delivered.values(), default=0) <= 1, "a reply went out twice"
    for item in items:
        assert item.state is OutboxState.SENT, (item.state, item.last_error)
        assert delivered[item.draft.local_id] == 1
    assert store.integrity_check() == "ok"
    faults = sum(service_side.faults.values())
    assert faults > 20 and len(service_side.faults) >= 6  # the run really was flaky
    figures.record("flaky_simulated_seconds", figures.FLAKY_HOURS * 3600)
    figures.record("flaky_faults_injected", faults)
    figures.record(
        "flaky_fault_kinds", " ".join(f"{k}:{v}" for k, v in sorted(service_side.faults.items()))
    )
    figures.record("flaky_messages_synced", len(stored))
    figures.record("flaky_replies_sent_once", len(items))
    figures.record("flaky_clock_steps", steps)
    store.close()


def test_a_post_whose_answer_was_lost_is_not_sent_again(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(X)
    service_side = FlakyService(rng=random.Random(1), fault_rate=0.0)
    service_side.inbox.append(mention(1, START))
    provider = FlakyProvider(X, service_side)
    clock = SimClock()
    sync = SyncService(store, [provider], clock=clock.now, sleep=clock.sleep)

    async def main() -> None:
        await sync.sync_once()
        [cid] = store.open_conversation_ids()
        sync.outbox.reply(cid, "On it")
        service_side.fault = lambda: "drop_after_post"  # type: ignore[method-assign]
        await sync.flush_outbox()
        service_side.fault = lambda: None  # type: ignore[method-assign]
        clock.current += timedelta(hours=1)
        await sync.flush_outbox()

    asyncio.run(main())
    assert len(service_side.delivered) == 1, f"delivered {len(service_side.delivered)} times"
    store.close()
