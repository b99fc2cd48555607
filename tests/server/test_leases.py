"""Account and job leases on a real PostgreSQL: one holder at a time, epochs bumped on takeover,
and every write of a holder that lost its lease refused in its own transaction."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from inbox.models import Account, Author, Channel, Direction, IdentityKind, Message, Surface
from inbox.server.channel_store import AccountStore
from inbox.server.leases import Lease, LeaseLost, LeaseTable, fair_share, guard, heartbeat
from tests.server.conftest import add_account, sql

pytestmark = pytest.mark.servers


async def _take(dsn: str, table: LeaseTable, names: list[str], limit: int | None = None) -> list[Lease]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        return await table.take(conn, names, limit)


async def _renew(dsn: str, table: LeaseTable, leases: list[Lease]) -> tuple[list[Lease], list[Lease]]:
    async with await psycopg.AsyncConnection.connect(dsn, autocommit=True) as conn:
        return await table.renew(conn, leases)


def _expire(dsn: str, account_id: str) -> None:
    """What a TTL running out does (without waiting for it)."""
    sql(dsn, "UPDATE account_leases SET expires_at = now() - interval '1 second' WHERE account_id = %s", [account_id])


def _accounts(dsn: str, n: int) -> list[str]:
    return [add_account(dsn, f"twitter:{1000 + i}") for i in range(n)]


def test_a_free_lease_is_taken_once_and_a_held_one_not_at_all(pg_dsn: str) -> None:
    names = _accounts(pg_dsn, 3)
    a, b = LeaseTable("account", "proc-a", 30), LeaseTable("account", "proc-b", 30)
    won = asyncio.run(_take(pg_dsn, a, names))
    assert sorted(x.name for x in won) == names
    assert all(x.epoch == 1 and x.valid_locally() for x in won)
    assert asyncio.run(_take(pg_dsn, b, names)) == []
    rows = sql(pg_dsn, "SELECT account_id, holder, epoch FROM account_leases ORDER BY account_id")
    assert [(r["holder"], r["epoch"]) for r in rows] == [("proc-a", 1)] * 3


def test_takeover_of_an_expired_lease_bumps_the_epoch_and_refuses_the_old_holder(pg_dsn: str) -> None:
    names = _accounts(pg_dsn, 2)
    a, b = LeaseTable("account", "proc-a", 30), LeaseTable("account", "proc-b", 30)
    mine = {x.name: x for x in asyncio.run(_take(pg_dsn, a, names))}
    _expire(pg_dsn, names[0])
    taken = asyncio.run(_take(pg_dsn, b, names))
    assert [(x.name, x.epoch) for x in taken] == [(names[0], 2)]
    renewed, lost = asyncio.run(_renew(pg_dsn, a, list(mine.values())))
    assert [x.name for x in renewed] == [names[1]]
    assert [x.name for x in lost] == [names[0]]
    with psycopg.connect(pg_dsn) as conn, conn.transaction():
        with pytest.raises(LeaseLost, match="write refused"):
            guard(conn, mine[names[0]])
    with psycopg.connect(pg_dsn) as conn, conn.transaction():
        guard(conn, taken[0])  # the new holder writes
        guard(conn, mine[names[1]])  # and A still holds the other account


def test_an_expired_lease_is_refused_even_before_anyone_takes_it(pg_dsn: str) -> None:
    names = _accounts(pg_dsn, 1)
    lease = asyncio.run(_take(pg_dsn, LeaseTable("account", "proc-a", 30), names))[0]
    _expire(pg_dsn, names[0])
    with psycopg.connect(pg_dsn) as conn, conn.transaction(), pytest.raises(LeaseLost):
        guard(conn, lease)
    # Taking it back after a pause is a takeover too: the epoch moves, the old one stays refused.
    again = asyncio.run(_take(pg_dsn, LeaseTable("account", "proc-a", 30), names))[0]
    assert again.epoch == lease.epoch + 1
    with psycopg.connect(pg_dsn) as conn, conn.transaction(), pytest.raises(LeaseLost):
        guard(conn, lease)


def test_no_takeover_while_the_holders_write_is_in_progress(pg_dsn: str) -> None:
    """The guard's row lock keeps a takeover out until the old holder's write has committed,
    even once the lease expired: the two never overlap. Renewing does not wait for it."""
    names = _accounts(pg_dsn, 1)
    lease = asyncio.run(_take(pg_dsn, LeaseTable("account", "proc-a", 30), names))[0]
    with psycopg.connect(pg_dsn) as writer:
        writer.execute("BEGIN")
        guard(writer, lease)
        writer.execute("UPDATE accounts SET cursor = 'written-by-a' WHERE id = %s", [names[0]])
        renewed, lost = asyncio.run(_renew(pg_dsn, LeaseTable("account", "proc-a", 30), [lease]))
        assert (len(renewed), lost) == (1, [])  # the holder's own renewal is not held up
        _expire(pg_dsn, names[0])
        assert asyncio.run(_take(pg_dsn, LeaseTable("account", "proc-b", 30), names)) == []
        writer.execute("COMMIT")
    taken = asyncio.run(_take(pg_dsn, LeaseTable("account", "proc-b", 30), names))
    assert [(x.holder, x.epoch) for x in taken] == [("proc-b", 2)]
    assert sql(pg_dsn, "SELECT cursor FROM accounts")[0]["cursor"] == "written-by-a"


def _mention(n: int) -> Message:
    return Message(
        provider_id=str(1_800_000_000_000_000_000 + n),
        channel=Channel.TWITTER,
        surface=Surface.MENTION,
        direction=Direction.INBOUND,
        author=Author(IdentityKind.TWITTER, f"77{n % 3}", f"@client{n % 3}", f"Client {n % 3}"),
        text=f"@acme ma commande {n} n'est pas arrivée",
        sent_at=datetime(2026, 12, 4, 9, n % 60, tzinfo=UTC),
        thread_key=f"x:conv:{1_800_000_000_000_000_000 + n - n % 2}",
    )


def _pool(dsn: str) -> ConnectionPool[Any]:
    return ConnectionPool(dsn, min_size=1, max_size=2, kwargs={"row_factory": dict_row, "autocommit": True},
                          connection_class=psycopg.Connection[Any])  # fmt: skip


def test_a_page_is_stored_once_with_its_cursor_and_changes_under_the_lease(pg_dsn: str) -> None:
    [name] = _accounts(pg_dsn, 1)
    account = Account(name, Channel.TWITTER, "Acme", frozenset({"1000"}))
    lease = asyncio.run(_take(pg_dsn, LeaseTable("account", "proc-a", 30), [name]))[0]
    with _pool(pg_dsn) as pool:
        store = AccountStore(pool, lease)
        page = [_mention(n) for n in range(6)]
        result, rejected = store.ingest_fetched(account, page, cursor='{"mentions_since": "6"}', now=datetime.now(UTC))
        assert (result.added, rejected) == (6, [])
        again, _ = store.ingest_fetched(account, page, cursor='{"mentions_since": "6"}', now=datetime.now(UTC))
        assert (again.added, again.duplicates) == (0, 6)
    assert sql(pg_dsn, "SELECT count(*) AS n FROM messages")[0]["n"] == 6
    # Two messages per provider thread: three conversations, three customers.
    assert sql(pg_dsn, "SELECT count(*) AS n FROM conversations")[0]["n"] == 3
    assert sql(pg_dsn, "SELECT count(DISTINCT customer_id) AS n FROM conversations")[0]["n"] == 3
    assert sql(pg_dsn, "SELECT cursor FROM accounts")[0]["cursor"] == '{"mentions_since": "6"}'
    changes = sql(pg_dsn, "SELECT kind, payload FROM change_log WHERE kind = 'message' ORDER BY seq")
    assert sorted(m for c in changes for m in c["payload"]["message_ids"]) == [
        r["id"] for r in sql(pg_dsn, "SELECT id FROM messages ORDER BY id")
    ]
    events = sql(pg_dsn, "SELECT kind, count(*) AS n FROM events GROUP BY kind")
    assert [(e["kind"], e["n"]) for e in events] == [("message_in", 6)]


def test_a_holder_that_lost_its_lease_writes_nothing_not_even_its_cursor(pg_dsn: str) -> None:
    [name] = _accounts(pg_dsn, 1)
    account = Account(name, Channel.TWITTER, "Acme", frozenset({"1000"}))
    old = asyncio.run(_take(pg_dsn, LeaseTable("account", "proc-a", 30), [name]))[0]
    _expire(pg_dsn, name)
    new = asyncio.run(_take(pg_dsn, LeaseTable("account", "proc-b", 30), [name]))[0]
    with _pool(pg_dsn) as pool:
        stale = AccountStore(pool, old)
        with pytest.raises(LeaseLost):
            stale.ingest_fetched(account, [_mention(1)], cursor="old-cursor", now=datetime.now(UTC))
        with pytest.raises(LeaseLost):
            stale.set_account_state(name, "error", "should not be written")
        assert stale.lost and stale.refused == 2
        current = AccountStore(pool, new)
        result, _ = current.ingest_fetched(account, [_mention(1)], cursor="new-cursor", now=datetime.now(UTC))
        assert result.added == 1
    assert sql(pg_dsn, "SELECT cursor, state FROM accounts") == [{"cursor": "new-cursor", "state": "idle"}]
    assert sql(pg_dsn, "SELECT count(*) AS n FROM messages")[0]["n"] == 1
    assert sql(pg_dsn, "SELECT count(*) AS n FROM change_log")[0]["n"] == 1


def test_job_leases_run_each_job_in_one_process(pg_dsn: str) -> None:
    jobs = ["sla", "triage", "crisis"]
    a, b = LeaseTable("job", "proc-a", 30), LeaseTable("job", "proc-b", 30)
    first = asyncio.run(_take(pg_dsn, a, jobs, 2))
    second = asyncio.run(_take(pg_dsn, b, jobs))
    assert len(first) == 2 and len(second) == 1
    assert sorted(x.name for x in first + second) == sorted(jobs)
    assert asyncio.run(_take(pg_dsn, a, jobs)) == []
    sql(pg_dsn, "UPDATE job_leases SET expires_at = now() - interval '1 second' WHERE holder = 'proc-b'")
    regained = asyncio.run(_take(pg_dsn, a, jobs))
    assert [(x.name, x.epoch) for x in regained] == [(second[0].name, 2)]
    with psycopg.connect(pg_dsn) as conn, conn.transaction(), pytest.raises(LeaseLost):
        guard(conn, second[0])


def test_fair_share_counts_the_live_processes(pg_dsn: str) -> None:
    async def beat() -> list[int]:
        async with await psycopg.AsyncConnection.connect(pg_dsn, autocommit=True) as conn:
            return [await heartbeat(conn, h, 30) for h in ("a", "b", "c")]

    assert asyncio.run(beat()) == [1, 2, 3]
    sql(pg_dsn, "UPDATE lease_holders SET expires_at = now() - interval '1 second' WHERE holder = 'c'")
    assert asyncio.run(beat())[-1] == 3  # c beat again
    assert [fair_share(20, n) for n in (1, 2, 3)] == [20, 10, 7]
