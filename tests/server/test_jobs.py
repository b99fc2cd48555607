"""Server jobs on a real PostgreSQL: the SLA clocks, sentiment and triage, crisis detection, each
run by the core code the desktop runs, under a job lease held by one process at a time."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from inbox.models import Account, Author, Channel, Direction, IdentityKind, Message, Surface
from inbox.server import jobs
from inbox.server.channel_store import AccountStore
from inbox.server.channels import ChannelRunner
from inbox.server.leases import Lease, LeaseLost, LeaseTable
from tests.server.channel_helpers import fast_settings
from tests.server.conftest import add_account, sql

pytestmark = pytest.mark.servers

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def pool(pg_dsn: str) -> Iterator[ConnectionPool[Any]]:
    with ConnectionPool(pg_dsn, min_size=1, max_size=2, kwargs={"row_factory": dict_row, "autocommit": True},
                        connection_class=psycopg.Connection[Any]) as p:  # fmt: skip
        yield p


async def _take(dsn: str, table: LeaseTable, names: list[str]) -> list[Lease]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        return await table.take(conn, names)


def _job(dsn: str, name: str, holder: str = "proc-a") -> Lease:
    return asyncio.run(_take(dsn, LeaseTable("job", holder, 30), [name]))[0]


def _mention(n: int, text: str, at: datetime, author: str = "77") -> Message:
    return Message(
        provider_id=str(1_700_000_000_000_000_000 + n), channel=Channel.TWITTER, surface=Surface.MENTION,
        direction=Direction.INBOUND, author=Author(IdentityKind.TWITTER, f"{author}{n}", f"@client{n}", f"Client {n}"),
        text=text, sent_at=at, thread_key=f"x:conv:{n}",
    )  # fmt: skip


def _ingest(pg_dsn: str, pool: ConnectionPool[Any], messages: list[Message]) -> None:
    """Store messages the way a poller does (under the account's lease)."""
    account_id = "twitter:acme"
    if not sql(pg_dsn, "SELECT 1 FROM accounts WHERE id = %s", [account_id]):
        add_account(pg_dsn, account_id)
    lease = asyncio.run(_take(pg_dsn, LeaseTable("account", "poller", 30), [account_id]))
    store = AccountStore(pool, lease[0] if lease else _current_account_lease(pg_dsn, account_id))
    account = Account(account_id, Channel.TWITTER, "Acme", frozenset({"acme"}))
    store.ingest_fetched(account, messages, cursor=None, now=NOW)


def _current_account_lease(dsn: str, account_id: str) -> Lease:
    row = sql(dsn, "SELECT holder, epoch FROM account_leases WHERE account_id = %s", [account_id])[0]
    return Lease("account", account_id, row["holder"], int(row["epoch"]), float("inf"))


def test_the_sla_job_sets_each_open_conversations_deadline_once_and_again_after_an_event(
    pg_dsn: str, pool: ConnectionPool[Any]
) -> None:
    _ingest(pg_dsn, pool, [_mention(1, "@acme où est ma commande ?", NOW - timedelta(minutes=50)),
                           _mention(2, "@acme toujours rien", NOW - timedelta(minutes=5))])  # fmt: skip
    lease = _job(pg_dsn, "sla")
    assert jobs.sla_pass(pool, lease, NOW) == 2
    rows = sql(pg_dsn, "SELECT id, sla_due_at, sla_state, sla_at, sla_next_at FROM conversations ORDER BY id")
    # The shipped "social" policy: a first reply within 30 business minutes... of business hours.
    assert all(r["sla_due_at"] is not None and r["sla_state"] in ("ok", "warning", "breached") for r in rows)
    assert all(r["sla_at"] == NOW for r in rows)
    assert sql(pg_dsn, "SELECT count(*) AS n FROM sla_log")[0]["n"] >= 2
    announced = sql(pg_dsn, "SELECT conversation_id, payload FROM change_log WHERE kind = 'conversation' ORDER BY seq")
    assert sorted(r["conversation_id"] for r in announced) == [r["id"] for r in rows]
    # Nothing new and no deadline passed: nothing to replay, nothing announced.
    assert jobs.sla_pass(pool, lease, NOW) == 0
    # A new event (a reply) makes that conversation stale again, and only it.
    first = rows[0]["id"]
    sql(pg_dsn, "INSERT INTO events (conversation_id, kind, at, actor, value) VALUES (%s, 'reply', %s, 'lea', 'r1')",
        [first, NOW])  # fmt: skip
    assert jobs.sla_pass(pool, lease, NOW) == 1
    # The first reply is met; the resolution target, further away, is now the one that counts.
    after = sql(pg_dsn, "SELECT sla_due_at FROM conversations WHERE id = %s", [first])[0]["sla_due_at"]
    assert after > rows[0]["sla_due_at"]
    logged = sql(pg_dsn, "SELECT kind, target FROM sla_log WHERE conversation_id = %s", [first])
    assert {"kind": "fulfilled", "target": "first_reply"} in logged


def test_triage_scores_new_messages_and_raises_only_priorities_no_agent_set(
    pg_dsn: str, pool: ConnectionPool[Any]
) -> None:
    angry = "@acme This is the worst service ever, I am furious and disgusted, terrible!"
    _ingest(pg_dsn, pool, [_mention(1, angry, NOW - timedelta(hours=2)), _mention(2, angry, NOW - timedelta(hours=2)),
                           _mention(3, "@acme merci beaucoup, parfait !", NOW - timedelta(minutes=1))])  # fmt: skip
    ids = [r["id"] for r in sql(pg_dsn, "SELECT id FROM conversations ORDER BY id")]
    sql(pg_dsn, "UPDATE conversations SET priority = 'low', priority_source = 'agent' WHERE id = %s", [ids[1]])
    lease = _job(pg_dsn, "triage")
    jobs.run_pass("triage", pool, lease, NOW)
    scored = sql(pg_dsn, "SELECT lang, sentiment FROM messages ORDER BY id")
    assert [r["lang"] for r in scored] == ["en", "en", "fr"]
    assert scored[0]["sentiment"] < -0.5 < 0 < scored[2]["sentiment"]
    rows = {r["id"]: r for r in sql(pg_dsn, "SELECT id, priority, priority_source, score FROM conversations")}
    assert rows[ids[0]]["priority"] in ("high", "urgent") and rows[ids[0]]["priority_source"] == "auto"
    assert rows[ids[1]]["priority"] == "low"  # an agent's choice stands
    assert rows[ids[2]]["priority"] == "normal"
    events = sql(pg_dsn, "SELECT conversation_id, actor FROM events WHERE kind = 'priority'")
    assert events == [{"conversation_id": ids[0], "actor": "triage"}]
    change = sql(pg_dsn, "SELECT conversation_id, payload FROM change_log WHERE kind = 'conversation'")
    assert [c["conversation_id"] for c in change] == [ids[0]] and "negative (+30)" in change[0]["payload"]["reasons"]
    # Run again: nothing new to score, no priority moves.
    jobs.run_pass("triage", pool, lease, NOW)
    assert len(sql(pg_dsn, "SELECT 1 FROM events WHERE kind = 'priority'")) == 1


def test_a_burst_of_negative_public_messages_raises_one_crisis_alert(pg_dsn: str, pool: ConnectionPool[Any]) -> None:
    angry = "@acme worst service ever, furious, disgusting, terrible"
    _ingest(pg_dsn, pool, [_mention(n, angry, NOW - timedelta(minutes=n)) for n in range(1, 9)])
    jobs.run_pass("triage", pool, _job(pg_dsn, "triage"), NOW)
    lease = _job(pg_dsn, "crisis")
    alert = jobs.crisis_pass(pool, lease, NOW)
    assert alert is not None
    [row] = sql(pg_dsn, "SELECT kind, detail FROM alerts")
    assert row["kind"] == "crisis" and row["detail"]["negative"] == 8
    assert sql(pg_dsn, "SELECT account_id, payload FROM change_log WHERE kind = 'alert'") == [
        {"account_id": None, "payload": {"alert_id": alert, "kind": "crisis"}}
    ]
    assert jobs.crisis_pass(pool, lease, NOW + timedelta(minutes=1)) is None  # one alert per window


def test_a_job_pass_under_a_lost_lease_writes_nothing(pg_dsn: str, pool: ConnectionPool[Any]) -> None:
    _ingest(pg_dsn, pool, [_mention(1, "@acme allô ?", NOW - timedelta(minutes=10))])
    old = _job(pg_dsn, "sla", "proc-a")
    sql(pg_dsn, "UPDATE job_leases SET expires_at = now() - interval '1 second'")
    new = _job(pg_dsn, "sla", "proc-b")
    assert new.epoch == old.epoch + 1
    with pytest.raises(LeaseLost):
        jobs.sla_pass(pool, old, NOW)
    assert sql(pg_dsn, "SELECT sla_at FROM conversations") == [{"sla_at": None}]
    assert jobs.sla_pass(pool, new, NOW) == 1


def test_two_server_processes_run_each_job_once(pg_dsn: str, pool: ConnectionPool[Any], tmp_path: Path) -> None:
    """Two channel runners on one database: every job lease held by exactly one of them, and the
    jobs do their work (the SLA of a new conversation is computed)."""
    _ingest(pg_dsn, pool, [_mention(1, "@acme commande 7 ?", NOW - timedelta(minutes=3))])
    settings = [fast_settings(tmp_path / "secrets.json", jobs=True, job_interval=0.2) for _ in range(2)]
    runners = [ChannelRunner(pg_dsn, s) for s in settings]
    seen: list[dict[str, str]] = []

    async def main() -> None:
        tasks = [asyncio.create_task(r.run()) for r in runners]
        try:
            for _ in range(600):  # at most 60 s: a bound on the wait
                held = {r["name"]: r["holder"] for r in sql(pg_dsn, "SELECT name, holder FROM job_leases WHERE expires_at > now()")}
                computed = sql(pg_dsn, "SELECT 1 FROM conversations WHERE sla_at IS NOT NULL")
                if set(held) == set(jobs.JOBS) and computed:
                    seen.append(held)
                    if len(seen) >= 5:
                        break
                await asyncio.sleep(0.1)
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await t

    asyncio.run(main())
    assert len(seen) >= 5, "the jobs were not all held and run"
    holders = {s.holder for s in settings}
    for held in seen:
        assert set(held.values()) <= holders
        assert sorted(held) == sorted(jobs.JOBS)  # one row, one holder per job
    assert sql(pg_dsn, "SELECT sla_state FROM conversations")[0]["sla_state"] is not None
