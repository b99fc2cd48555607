"""The change log: every accepted change writes a row in its own transaction, desktops pull by cursor.

Writers call :func:`record_change` inside the transaction of the change; it NOTIFYs
``inbox_changes`` with the sequence number only (delivered at commit, never for a rollback).

A pull returns the rows of transactions that are below the ``pg_snapshot_xmin`` watermark (all
of them finished), in ``(xid, seq)`` order, and the cursor is the last ``(xid, seq)`` returned.
Sequence numbers are taken before commit, so ordering by ``seq`` alone could hand out seq 7 while
seq 6 is still uncommitted and skip it for ever; a transaction still running when a pull happens
has an xid at or above that pull's watermark, above every xid the cursor has passed, so it is
never skipped. :class:`ChangeFeed` is the process's one LISTEN connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import msgspec
import psycopg
from litestar import get
from litestar.datastructures import State
from litestar.params import Parameter
from psycopg.types.json import Jsonb

from inbox.server.db import Conn, Database
from inbox.server.people import Agent, Role
from inbox.server.problems import BadInput, problem_responses
from inbox.server.reads import (
    ConversationOut,
    CustomerOut,
    EventOut,
    MessageOut,
    conversations_by_id,
    customers_by_id,
    events_added,
    messages_by_id,
)

log = logging.getLogger(__name__)

CHANGES_CHANNEL = "inbox_changes"
PRESENCE_CHANNEL = "inbox_presence"


async def record_change(
    conn: Conn | psycopg.AsyncConnection[Any],
    kind: str,
    *,
    account_id: str | None,
    conversation_id: int | None = None,
    actor: str = "",
    message_ids: Iterable[int] = (),
    customer_ids: Iterable[int] = (),
    payload: dict[str, Any] | None = None,
) -> int:
    """Write one change_log row in the caller's transaction and NOTIFY its seq (sent at commit).

    ``message_ids`` and ``customer_ids`` name the rows a desktop must fetch with this change (the
    conversation's own row always comes along); ``account_id`` None is visible to admins only.
    """
    body = dict(payload or {})
    if message_ids:
        body["message_ids"] = sorted(set(message_ids))
    if customer_ids:
        body["customer_ids"] = sorted(set(customer_ids))
    cur = await conn.execute(
        """INSERT INTO change_log (kind, conversation_id, account_id, payload, actor)
           VALUES (%s, %s, %s, %s, %s) RETURNING seq""",
        [kind, conversation_id, account_id, Jsonb(body), actor],
    )
    row = await cur.fetchone()
    assert row is not None
    seq = int(row["seq"] if isinstance(row, dict) else row[0])
    await conn.execute("SELECT pg_notify(%s, %s)", [CHANGES_CHANNEL, change_notice(seq, account_id)])
    return seq


def change_notice(seq: int, account_id: str | None) -> str:
    """The NOTIFY payload of a change: its seq, and its account when it has one, so that each
    process pushes "changed" only to the sockets of that account's members (payloads stay far
    below PostgreSQL's 8,000 bytes: no row data travels this way)."""
    return f"{seq}:{account_id}" if account_id else str(seq)


def read_notice(payload: str) -> tuple[int, str | None]:
    """(seq, account id or None for a change every socket hears of) of a change's NOTIFY."""
    seq, _, account_id = payload.partition(":")
    return int(seq), account_id or None


_CURSOR = re.compile(r"^(\d{1,20})\.(\d{1,20})$")


def parse_cursor(text: str) -> tuple[int, int]:
    if text in ("", "0"):
        return 0, 0
    m = _CURSOR.match(text)
    if m is None:
        raise BadInput("after", 'a cursor is "0" or the "cursor" of a previous answer')
    return int(m.group(1)), int(m.group(2))


class ChangeOut(msgspec.Struct):
    seq: int
    kind: str
    conversation_id: int | None
    account_id: str | None
    actor: str
    at: datetime
    payload: dict[str, Any]


class ChangesPage(msgspec.Struct):
    """Changes after the cursor and the rows they touched, as they are now: each conversation
    with its tags, the messages the changes name, the customers with their identities, and the
    events those changes wrote (``events_added``: to add to the replica's log, by id; a merged
    conversation's whole log, since a merge moves older events in)."""

    changes: list[ChangeOut]
    conversations: list[ConversationOut]
    messages: list[MessageOut]
    customers: list[CustomerOut]
    events_added: list[EventOut]
    cursor: str
    more: bool


async def pull(conn: Conn, agent: Agent, after: str, limit: int) -> ChangesPage:
    xid, seq = parse_cursor(after)
    accounts = sorted(agent.accounts)
    cur = await conn.execute(
        """SELECT seq, xid::text AS xid, kind, conversation_id, account_id, actor, at, payload
           FROM change_log
           WHERE (xid, seq) > (%s::text::xid8, %s)
             AND xid < pg_snapshot_xmin(pg_current_snapshot())
             AND (account_id = ANY(%s) OR (account_id IS NULL AND %s))
           -- the column, not the text alias "xid" of the SELECT list: as text "1000" sorts before "996"
           ORDER BY change_log.xid, change_log.seq LIMIT %s""",
        [str(xid), seq, accounts, agent.role is Role.ADMIN, limit],
    )
    rows = await cur.fetchall()
    conversation_ids = sorted({int(r["conversation_id"]) for r in rows if r["conversation_id"] is not None})
    message_ids = sorted({int(m) for r in rows for m in r["payload"].get("message_ids", [])})
    conversations = await conversations_by_id(conn, conversation_ids, accounts)
    customer_ids = {int(c) for r in rows for c in r["payload"].get("customer_ids", [])}
    customer_ids |= {c.customer_id for c in conversations if c.customer_id is not None}
    cursor = after if not rows else f"{rows[-1]['xid']}.{rows[-1]['seq']}"
    return ChangesPage(
        changes=[
            ChangeOut(r["seq"], r["kind"], r["conversation_id"], r["account_id"], r["actor"], r["at"], r["payload"])
            for r in rows
        ],
        conversations=conversations,
        messages=await messages_by_id(conn, message_ids, accounts),
        customers=await customers_by_id(conn, sorted(customer_ids)),
        events_added=await events_added(
            conn,
            [c.id for c in conversations],
            sorted({str(r["xid"]) for r in rows}),
            merged=sorted({int(r["conversation_id"]) for r in rows if r["kind"] == "conversation_merged"}),
        ),
        cursor=cursor if cursor else "0",
        more=len(rows) == limit,
    )


@get(
    "/v1/changes",
    tags=["changes"],
    summary="Changes after a cursor, with the rows they touched",
    responses=problem_responses(401, 422),
)
async def get_changes(
    state: State,
    agent: Agent,
    after: str = Parameter(default="0", description='"0", or the cursor of the previous answer'),
    limit: int = Parameter(default=500, ge=1, le=5000),
) -> ChangesPage:
    db: Database = state.db
    async with db.transaction() as conn:
        return await pull(conn, agent, after, limit)


Listener = Callable[[str, str], None]


class ChangeFeed:
    """The process's one LISTEN connection (changes and presence), fanned out to in-process
    listeners. After a lost connection it reconnects and tells listeners the newest seq, so a
    push missed meanwhile costs nothing: desktops pull from their cursor."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._listeners: set[Listener] = set()
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()

    def add(self, listener: Listener) -> None:
        self._listeners.add(listener)

    def discard(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="inbox-change-feed")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def _dispatch(self, channel: str, payload: str) -> None:
        for listener in list(self._listeners):
            try:
                listener(channel, payload)
            except Exception:  # one broken listener must not stop the feed
                log.exception("change listener failed")

    async def _run(self) -> None:
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._dsn, autocommit=True, application_name="inbox-serve-listen"
                ) as conn:
                    await conn.execute("LISTEN inbox_changes")
                    await conn.execute("LISTEN inbox_presence")
                    cur = await conn.execute("SELECT coalesce(max(seq), 0) FROM change_log")
                    row = await cur.fetchone()
                    self.connected.set()
                    delay = 0.5
                    self._dispatch(CHANGES_CHANNEL, str(row[0] if row else 0))
                    async for notify in conn.notifies():
                        self._dispatch(notify.channel, notify.payload)
            except asyncio.CancelledError:
                raise
            except psycopg.Error as exc:
                self.connected.clear()
                log.warning("change feed lost its connection (%s); reconnecting", type(exc).__name__)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)


async def publish_presence(conn: Conn, message: dict[str, Any]) -> None:
    """Relay a presence message to every server process (a NOTIFY: no table is written)."""
    await conn.execute("SELECT pg_notify(%s, %s)", [PRESENCE_CHANNEL, json.dumps(message, separators=(",", ":"))])
