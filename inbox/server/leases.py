"""Leases: exactly one server process polls and sends for a channel account, or runs a job.

A lease is a row ``(name, holder, epoch, expires_at)`` (``account_leases`` keyed by account id,
``job_leases`` by job name), like River's ``river_leader``. A process takes a lease that is free
or expired, bumping ``epoch``; renews it well before ``expires_at``; and checks it with
:data:`ACCOUNT_GUARD` / :data:`JOB_GUARD` inside every transaction that writes for the account
or job. The guard reads the row ``FOR KEY SHARE``, a lock that the holder's own renewals (plain
UPDATEs of ``expires_at``) do not wait for but that a takeover's ``FOR UPDATE`` does: a write in
progress delays the takeover until it commits, and a process whose lease expired or moved has its
next write refused (:class:`LeaseLost`). The channel connections set
``idle_in_transaction_session_timeout``, so a holder paused in the middle of a transaction loses
its session and its locks instead of blocking the takeover for as long as it is stopped. Rows, unlike session advisory locks, work through connection
poolers and survive a dropped connection for exactly the TTL.

Each :class:`Lease` also carries a local deadline (monotonic clock, counted from before the
statement that took or renewed it), so work that must not start without the lease (a send) is
refused locally too once the lease may have expired, even if the database cannot be reached.
"""

from __future__ import annotations

import math
import os
import random
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any, LiteralString

import psycopg

from inbox.errors import StoreError

ACCOUNT_GUARD: LiteralString = """SELECT 1 FROM account_leases
    WHERE account_id = %s AND holder = %s AND epoch = %s AND expires_at > now() FOR KEY SHARE"""
JOB_GUARD: LiteralString = """SELECT 1 FROM job_leases
    WHERE name = %s AND holder = %s AND epoch = %s AND expires_at > now() FOR KEY SHARE"""


class LeaseLost(StoreError):
    """The lease moved to another process or expired: this process must not write or send."""

    def __init__(self, lease: Lease) -> None:
        super().__init__(f"lease on {lease.name} lost (holder {lease.holder}, epoch {lease.epoch}): write refused")
        self.lease = lease


def new_holder() -> str:
    """This process's holder name: host, pid and a random part (a restarted pid is a new holder)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


@dataclass(frozen=True, slots=True)
class Lease:
    """A lease held by this process: ``kind`` is "account" or "job"."""

    kind: str
    name: str
    holder: str
    epoch: int
    deadline: float  # time.monotonic() after which this process no longer trusts the lease

    def valid_locally(self) -> bool:
        return time.monotonic() < self.deadline


def guard(conn: psycopg.Connection[Any], lease: Lease) -> None:
    """Check ``lease`` inside the caller's transaction; raise :class:`LeaseLost` when it is gone."""
    sql = ACCOUNT_GUARD if lease.kind == "account" else JOB_GUARD
    if conn.execute(sql, [lease.name, lease.holder, lease.epoch]).fetchone() is None:
        raise LeaseLost(lease)


async def aguard(conn: psycopg.AsyncConnection[Any], lease: Lease) -> None:
    """:func:`guard` on an asyncio connection."""
    sql = ACCOUNT_GUARD if lease.kind == "account" else JOB_GUARD
    cur = await conn.execute(sql, [lease.name, lease.holder, lease.epoch])
    if await cur.fetchone() is None:
        raise LeaseLost(lease)


def _deadline(started: float, ttl: float) -> float:
    # Trust a lease for 80% of its TTL counted from before the statement: the remainder covers
    # the statement's own latency and a little clock drift.
    return started + ttl * 0.8


class LeaseTable:
    """The SQL of one lease table, for one holder, on an autocommit connection."""

    def __init__(self, kind: str, holder: str, ttl: float) -> None:
        if kind not in ("account", "job"):
            raise ValueError(kind)
        self.kind = kind
        self.holder = holder
        self.ttl = ttl

    async def take(
        self, conn: psycopg.AsyncConnection[Any], names: list[str], limit: int | None = None
    ) -> list[Lease]:
        """Take up to ``limit`` of ``names`` that are free or expired; returns the leases won.

        An expired row is first locked ``FOR UPDATE SKIP LOCKED``: that lock conflicts with the
        holder's guard (``FOR KEY SHARE``), so a write of the old holder still in progress is
        skipped now and taken over in a later round, after it committed or rolled back."""
        if not names or (limit is not None and limit <= 0):
            return []
        table, key = ("account_leases", "account_id") if self.kind == "account" else ("job_leases", "name")
        ident = {"table": psycopg.sql.Identifier(table), "key": psycopg.sql.Identifier(key)}
        started = time.monotonic()
        try:
            async with conn.transaction():
                cur = await conn.execute(
                    psycopg.sql.SQL(
                        """SELECT {key} FROM {table} WHERE {key} = ANY(%s) AND expires_at <= now()
                           ORDER BY {key} FOR UPDATE SKIP LOCKED"""
                    ).format(**ident),
                    [names],
                )
                expired = [_get(r, key) for r in await cur.fetchall()]
                cur = await conn.execute(
                    psycopg.sql.SQL("SELECT {key} FROM {table} WHERE {key} = ANY(%s)").format(**ident), [names]
                )
                existing = {_get(r, key) for r in await cur.fetchall()}
                free = [n for n in names if n not in existing]
                chosen = sorted(random.sample(free + expired, min(len(free) + len(expired), limit or len(names))))
                if not chosen:
                    return []
                cur = await conn.execute(
                    psycopg.sql.SQL(
                        """INSERT INTO {table} AS l ({key}, holder, epoch, expires_at)
                           SELECT n, %s, 1, now() + make_interval(secs => %s) FROM unnest(%s::text[]) AS w(n)
                           ORDER BY n
                           ON CONFLICT ({key}) DO UPDATE
                               SET holder = EXCLUDED.holder, epoch = l.epoch + 1, expires_at = EXCLUDED.expires_at
                               WHERE l.expires_at <= now()
                           RETURNING l.{key}, l.epoch"""
                    ).format(**ident),
                    [self.holder, self.ttl, chosen],
                )
                rows = await cur.fetchall()
        except (psycopg.errors.UniqueViolation, psycopg.errors.ForeignKeyViolation):
            return []  # another process inserted the same free lease first, or the account went
        deadline = _deadline(started, self.ttl)
        return [Lease(self.kind, _get(r, key), self.holder, int(_get(r, "epoch", 1)), deadline) for r in rows]

    async def renew(self, conn: psycopg.AsyncConnection[Any], leases: list[Lease]) -> tuple[list[Lease], list[Lease]]:
        """Extend every lease still ours; returns (renewed, lost)."""
        if not leases:
            return [], []
        started = time.monotonic()
        table, key = ("account_leases", "account_id") if self.kind == "account" else ("job_leases", "name")
        sql = psycopg.sql.SQL(
            """UPDATE {table} AS l SET expires_at = now() + make_interval(secs => %s)
               FROM unnest(%s::text[], %s::bigint[]) AS mine(name, epoch)
               WHERE l.{key} = mine.name AND l.epoch = mine.epoch AND l.holder = %s AND l.expires_at > now()
               RETURNING l.{key}"""
        ).format(table=psycopg.sql.Identifier(table), key=psycopg.sql.Identifier(key))
        ordered = sorted(leases, key=lambda x: x.name)  # rows locked in one order by every process
        cur = await conn.execute(sql, [self.ttl, [x.name for x in ordered], [x.epoch for x in ordered], self.holder])
        kept = {_get(r, key) for r in await cur.fetchall()}
        deadline = _deadline(started, self.ttl)
        renewed = [Lease(x.kind, x.name, x.holder, x.epoch, deadline) for x in leases if x.name in kept]
        return renewed, [x for x in leases if x.name not in kept]

    async def release(self, conn: psycopg.AsyncConnection[Any], lease: Lease) -> None:
        """Give a lease up now (it expires at once; the next taker bumps the epoch)."""
        table, key = ("account_leases", "account_id") if self.kind == "account" else ("job_leases", "name")
        sql = psycopg.sql.SQL(
            "UPDATE {table} SET expires_at = now() WHERE {key} = %s AND holder = %s AND epoch = %s"
        ).format(table=psycopg.sql.Identifier(table), key=psycopg.sql.Identifier(key))
        await conn.execute(sql, [lease.name, lease.holder, lease.epoch])


def fair_share(total: int, live_holders: int) -> int:
    """How many of ``total`` accounts one of ``live_holders`` processes should hold."""
    return math.ceil(total / max(1, live_holders))


def _get(row: Any, key: str, index: int = 0) -> Any:
    """A column of a row from a dict-row or a tuple-row connection."""
    return row[key] if isinstance(row, dict) else row[index]


async def heartbeat(conn: psycopg.AsyncConnection[Any], holder: str, ttl: float) -> int:
    """Record this process as live for ``ttl`` seconds; returns how many processes are live."""
    await conn.execute(
        """INSERT INTO lease_holders (holder, expires_at) VALUES (%s, now() + make_interval(secs => %s))
           ON CONFLICT (holder) DO UPDATE SET expires_at = EXCLUDED.expires_at""",
        [holder, ttl],
    )
    await conn.execute("DELETE FROM lease_holders WHERE expires_at < now() - interval '1 hour'")
    cur = await conn.execute("SELECT count(*) FROM lease_holders WHERE expires_at > now()")
    row = await cur.fetchone()
    return int(_get(row, "count")) if row is not None else 1
