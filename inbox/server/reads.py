"""What agents read: the queue (a view with filters and full-text search), one conversation with
its thread, notes and customer, and the team lead's dashboard. Every query is limited to the
channel accounts the agent is a member of; asking for another account is a 403.

The row shapes here are also what ``GET /v1/changes`` sends, so a desktop's replica gets the same
columns its SQLite store has.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any, LiteralString

import msgspec
from litestar import get
from litestar.datastructures import State
from litestar.params import Parameter

from inbox.models import Status
from inbox.server.db import Conn, Database
from inbox.server.people import Agent
from inbox.server.problems import BadInput, NotFound, NotMember, problem_responses
from inbox.sla.policy import POLICY_SETTING


class IdentityOut(msgspec.Struct):
    id: int
    kind: str
    key: str
    handle: str
    display_name: str
    customer_id: int | None
    followers: int | None
    avatar_url: str | None


class CustomerOut(msgspec.Struct):
    id: int
    display_name: str
    crm_number: str | None
    notes: str
    vip: bool
    identities: list[IdentityOut]


class ConversationOut(msgspec.Struct):
    id: int
    channel: str
    account_id: str
    surface: str | None
    subject: str
    status: str
    priority: str
    priority_source: str
    assignee: str | None
    customer_id: int | None
    customer_name: str
    created_at: datetime
    last_message_at: datetime
    last_inbound_at: datetime | None
    last_message_id: int | None
    message_count: int
    preview: str
    noise: bool
    score: float | None
    sla_due_at: datetime | None
    sla_state: str | None
    tags: list[str]
    updated_at: datetime
    version: int = 0  # bumped by every message entering it (migration 0004): what the stale check compares


class MessageOut(msgspec.Struct):
    id: int
    conversation_id: int
    account_id: str
    provider_id: str
    channel: str
    surface: str
    direction: str
    identity_id: int | None
    author_key: str
    author_name: str
    author_handle: str
    author_agent: str | None
    subject: str | None
    text: str
    html: str | None
    sent_at: datetime
    reply_to_id: str | None
    refs: list[str]
    recipients: list[Any]
    attachments: list[Any]
    automated: bool
    private: bool
    meta: dict[str, Any]
    thread_key: str | None
    outbox_id: int | None
    outbox_state: str | None
    lang: str | None
    sentiment: float | None
    version: int = 0  # the conversation's version when this message entered it


class EventOut(msgspec.Struct):
    id: int
    conversation_id: int
    kind: str
    at: datetime
    actor: str
    value: str


_CONVERSATION_COLUMNS: LiteralString = """
    c.id, c.channel, c.account_id, c.surface, c.subject, c.status, c.priority, c.priority_source, c.assignee,
    c.customer_id, coalesce(cu.display_name, '') AS customer_name, c.created_at, c.last_message_at,
    c.last_inbound_at, c.last_message_id, c.message_count, c.preview, c.noise, c.score, c.sla_due_at, c.sla_state,
    coalesce((SELECT array_agg(t.tag ORDER BY t.tag) FROM conversation_tags t WHERE t.conversation_id = c.id), '{}')
      AS tags,
    c.updated_at, c.version"""

_MESSAGE_COLUMNS: LiteralString = """
    m.id, m.conversation_id, m.account_id, m.provider_id, m.channel, m.surface, m.direction, m.identity_id,
    m.author_key, m.author_name, m.author_handle, m.author_agent, m.subject, m.text, m.html, m.sent_at,
    m.reply_to_id, m.refs, m.recipients, m.attachments, m.automated, m.private, m.meta, m.thread_key,
    m.outbox_id, o.state AS outbox_state, m.lang, m.sentiment, m.version"""


def conversation_out(row: dict[str, Any]) -> ConversationOut:
    return msgspec.convert(row, ConversationOut, from_attributes=False)


def message_out(row: dict[str, Any]) -> MessageOut:
    return msgspec.convert(row, MessageOut)


async def conversations_by_id(conn: Conn, ids: Sequence[int], accounts: Sequence[str]) -> list[ConversationOut]:
    cur = await conn.execute(
        "SELECT "
        + _CONVERSATION_COLUMNS
        + """
           FROM conversations c LEFT JOIN customers cu ON cu.id = c.customer_id
           WHERE c.id = ANY(%s) AND c.account_id = ANY(%s) ORDER BY c.id""",
        [list(ids), list(accounts)],
    )
    return [conversation_out(r) for r in await cur.fetchall()]


async def messages_by_id(conn: Conn, ids: Sequence[int], accounts: Sequence[str]) -> list[MessageOut]:
    cur = await conn.execute(
        "SELECT "
        + _MESSAGE_COLUMNS
        + """
           FROM messages m LEFT JOIN outbox o ON o.id = m.outbox_id
           WHERE m.id = ANY(%s) AND m.account_id = ANY(%s) ORDER BY m.id""",
        [list(ids), list(accounts)],
    )
    return [message_out(r) for r in await cur.fetchall()]


async def messages_after(conn: Conn, conversation_id: int, after_id: int) -> list[MessageOut]:
    """Messages and notes of a conversation newer than ``after_id`` (ids grow in commit order)."""
    cur = await conn.execute(
        "SELECT "
        + _MESSAGE_COLUMNS
        + """
           FROM messages m LEFT JOIN outbox o ON o.id = m.outbox_id
           WHERE m.conversation_id = %s AND m.id > %s ORDER BY m.id""",
        [conversation_id, after_id],
    )
    return [message_out(r) for r in await cur.fetchall()]


async def messages_since(conn: Conn, conversation_id: int, version: int, *, not_by: str) -> list[MessageOut]:
    """Messages and notes that entered a conversation after its ``version`` (arrived, or moved in by
    a merge), except those the agent ``not_by`` wrote: what that agent has not read yet."""
    cur = await conn.execute(
        "SELECT "
        + _MESSAGE_COLUMNS
        + """
           FROM messages m LEFT JOIN outbox o ON o.id = m.outbox_id
           WHERE m.conversation_id = %s AND m.version > %s AND m.author_agent IS DISTINCT FROM %s
           ORDER BY m.version""",
        [conversation_id, version, not_by],
    )
    return [message_out(r) for r in await cur.fetchall()]


async def customers_by_id(conn: Conn, ids: Sequence[int]) -> list[CustomerOut]:
    cur = await conn.execute(
        "SELECT id, display_name, crm_number, notes, vip FROM customers WHERE id = ANY(%s) ORDER BY id", [list(ids)]
    )
    customers = await cur.fetchall()
    cur = await conn.execute(
        """SELECT id, kind, key, handle, display_name, customer_id, followers, avatar_url
           FROM identities WHERE customer_id = ANY(%s) ORDER BY kind, key""",
        [list(ids)],
    )
    by_customer: dict[int, list[IdentityOut]] = {}
    for r in await cur.fetchall():
        by_customer.setdefault(int(r["customer_id"]), []).append(msgspec.convert(r, IdentityOut))
    return [
        CustomerOut(
            int(c["id"]), c["display_name"], c["crm_number"], c["notes"], c["vip"], by_customer.get(int(c["id"]), [])
        )
        for c in customers
    ]


async def events_of(conn: Conn, conversation_ids: Sequence[int]) -> list[EventOut]:
    """The whole event log of these conversations (the desktop's SLA engine replays it)."""
    cur = await conn.execute(
        """SELECT id, conversation_id, kind, at, actor, value FROM events
           WHERE conversation_id = ANY(%s) ORDER BY conversation_id, at, id""",
        [list(conversation_ids)],
    )
    return [msgspec.convert(r, EventOut) for r in await cur.fetchall()]


async def events_added(
    conn: Conn, conversation_ids: Sequence[int], xids: Sequence[str], *, merged: Sequence[int] = ()
) -> list[EventOut]:
    """The events of these conversations written by the transactions ``xids`` (those of the
    changes a pull returns), and the whole log of the ``merged`` ones."""
    cur = await conn.execute(
        """SELECT id, conversation_id, kind, at, actor, value FROM events
           WHERE xid = ANY(%s::text[]::xid8[]) AND conversation_id = ANY(%s)
           UNION
           SELECT id, conversation_id, kind, at, actor, value FROM events WHERE conversation_id = ANY(%s)
           ORDER BY conversation_id, at, id""",
        [list(xids), list(conversation_ids), list(merged)],
    )
    return [msgspec.convert(r, EventOut) for r in await cur.fetchall()]


async def conversation_account(conn: Conn, conversation_id: int) -> str:
    """The account of a conversation (404 when there is none)."""
    cur = await conn.execute("SELECT account_id FROM conversations WHERE id = %s", [conversation_id])
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no conversation {conversation_id}", conversation_id=conversation_id)
    return str(row["account_id"])


def require_member(agent: Agent, account_id: str) -> None:
    if not agent.member_of(account_id):
        raise NotMember(f"you are not a member of {account_id}", account_id=account_id)


_WORD = re.compile(r"[^\W_]+")
_PHRASE = re.compile(r'"([^"]*)"')


def search_terms(text: str) -> tuple[LiteralString, list[str]]:
    """A tsquery expression for what an agent typed: quoted phrases stay phrases, bare words
    match as prefixes ("livr" finds "livraison"), accents and case do not matter. Only letters
    and digits reach ``to_tsquery``, so no input can be a syntax error; values are bound."""
    parts: list[LiteralString] = []
    params: list[str] = []
    for phrase in _PHRASE.findall(text):
        words = _WORD.findall(phrase)
        if words:
            parts.append("phraseto_tsquery('inbox_text', %s)")
            params.append(" ".join(words))
    for word in _WORD.findall(_PHRASE.sub(" ", text)):
        parts.append("to_tsquery('inbox_text', %s)")
        params.append(word + ":*")
    if not parts:
        return "", []
    return "(" + " && ".join(parts) + ")", params


class ConversationPage(msgspec.Struct):
    items: list[ConversationOut]
    total: int
    next_offset: int | None


@get(
    "/v1/conversations",
    tags=["read"],
    summary="The queue: a view of conversations",
    responses=problem_responses(401, 403, 422),
)
async def list_conversations(
    state: State,
    agent: Agent,
    status: list[Status] | None = None,
    assignee: str | None = Parameter(default=None, description='an agent name, "me", or "" for unassigned'),
    account: str | None = None,
    tag: str | None = None,
    q: str | None = Parameter(default=None, description="search text: words match as prefixes, quotes make a phrase"),
    limit: int = Parameter(default=50, ge=1, le=500),
    offset: int = Parameter(default=0, ge=0),
) -> ConversationPage:
    accounts = sorted(agent.accounts)
    if account is not None:
        require_member(agent, account)
        accounts = [account]
    where: list[LiteralString] = ["c.account_id = ANY(%s)"]
    params: list[Any] = [accounts]
    if status:
        where.append("c.status = ANY(%s)")
        params.append([s.value for s in status])
    if assignee is not None:
        if assignee == "":
            where.append("c.assignee IS NULL")
        else:
            where.append("c.assignee = %s")
            params.append(agent.name if assignee == "me" else assignee)
    if tag:
        where.append("EXISTS (SELECT 1 FROM conversation_tags t WHERE t.conversation_id = c.id AND t.tag = %s)")
        params.append(tag)
    if q:
        expression, terms = search_terms(q)
        if not expression:
            raise BadInput("q", "the search has no word to look for")
        where.append(
            "c.id IN (SELECT m.conversation_id FROM messages m WHERE m.account_id = ANY(%s) AND m.search @@ "
            + expression
            + ")"
        )
        params.append(accounts)
        params.extend(terms)
    condition: LiteralString = " AND ".join(where)
    db: Database = state.db
    async with db.connection() as conn:
        cur = await conn.execute("SELECT count(*) AS n FROM conversations c WHERE " + condition, params)
        row = await cur.fetchone()
        total = int(row["n"]) if row else 0
        cur = await conn.execute(
            "SELECT "
            + _CONVERSATION_COLUMNS
            + """
               FROM conversations c LEFT JOIN customers cu ON cu.id = c.customer_id
               WHERE """
            + condition
            + """
               ORDER BY c.sla_due_at ASC NULLS LAST, c.last_message_at DESC, c.id DESC
               LIMIT %s OFFSET %s""",
            [*params, limit, offset],
        )
        items = [conversation_out(r) for r in await cur.fetchall()]
    return ConversationPage(items, total, offset + len(items) if offset + len(items) < total else None)


class ConversationDetail(msgspec.Struct):
    conversation: ConversationOut
    messages: list[MessageOut]
    notes: list[MessageOut]
    customer: CustomerOut | None
    events: list[EventOut]


@get(
    "/v1/conversations/{conversation_id:int}",
    tags=["read"],
    summary="One conversation: thread, notes, customer",
    responses=problem_responses(401, 403, 404),
)
async def get_conversation(state: State, agent: Agent, conversation_id: int) -> ConversationDetail:
    db: Database = state.db
    async with db.transaction() as conn:
        require_member(agent, await conversation_account(conn, conversation_id))
        conversations = await conversations_by_id(conn, [conversation_id], sorted(agent.accounts))
        conversation = conversations[0]
        thread = await messages_after(conn, conversation_id, 0)
        customers = await customers_by_id(conn, [conversation.customer_id] if conversation.customer_id else [])
        events = await events_of(conn, [conversation_id])
    return ConversationDetail(
        conversation,
        [m for m in thread if not m.private],
        [m for m in thread if m.private],
        customers[0] if customers else None,
        events,
    )


class AgentLoad(msgspec.Struct):
    agent: str
    display_name: str
    role: str
    open: int
    at_risk: int
    breached: int
    online: bool


class SlaPolicies(msgspec.Struct):
    """The SLA policies in force, as TOML text; empty: the shipped defaults."""

    text: str


@get(
    "/v1/sla/policies",
    tags=["read"],
    summary="The SLA policies in force (desktops show each conversation's targets with them)",
    responses=problem_responses(401),
)
async def sla_policies(state: State, agent: Agent) -> SlaPolicies:
    db: Database = state.db
    async with db.transaction() as conn:
        cur = await conn.execute("SELECT value FROM server_settings WHERE key = %s", [POLICY_SETTING])
        row = await cur.fetchone()
    return SlaPolicies("" if row is None else str(row["value"]))


class AccountLoad(msgspec.Struct):
    account_id: str
    unassigned: int
    open: int
    at_risk: int
    breached: int


class Dashboard(msgspec.Struct):
    agents: list[AgentLoad]
    accounts: list[AccountLoad]
    at_risk: list[ConversationOut]
    online: list[str]


_OPEN: list[str] = [Status.NEW.value, Status.OPEN.value, Status.PENDING.value]


@get(
    "/v1/dashboard",
    tags=["read"],
    summary="The team lead's dashboard: load per agent, SLA at risk, who is online",
    responses=problem_responses(401),
)
async def dashboard(state: State, agent: Agent) -> Dashboard:
    accounts = sorted(agent.accounts)
    online = state.presence.online_agents()
    db: Database = state.db
    async with db.transaction() as conn:
        cur = await conn.execute(
            """SELECT a.name, a.display_name, a.role,
                      count(c.id) AS open,
                      count(c.id) FILTER (WHERE c.sla_state = 'warning') AS at_risk,
                      count(c.id) FILTER (WHERE c.sla_state = 'breached') AS breached
               FROM agents a
               LEFT JOIN conversations c
                 ON c.assignee = a.name AND c.status = ANY(%s) AND c.account_id = ANY(%s)
               WHERE NOT a.disabled
                 AND EXISTS (SELECT 1 FROM memberships m WHERE m.agent_id = a.id AND m.account_id = ANY(%s))
               GROUP BY a.id ORDER BY a.name""",
            [_OPEN, accounts, accounts],
        )
        loads = [
            AgentLoad(
                r["name"], r["display_name"], r["role"], r["open"], r["at_risk"], r["breached"], r["name"] in online
            )
            for r in await cur.fetchall()
        ]
        cur = await conn.execute(
            """SELECT account_id,
                      count(*) FILTER (WHERE assignee IS NULL) AS unassigned,
                      count(*) AS open,
                      count(*) FILTER (WHERE sla_state = 'warning') AS at_risk,
                      count(*) FILTER (WHERE sla_state = 'breached') AS breached
               FROM conversations WHERE status = ANY(%s) AND account_id = ANY(%s)
               GROUP BY account_id ORDER BY account_id""",
            [_OPEN, accounts],
        )
        per_account = {r["account_id"]: msgspec.convert(r, AccountLoad) for r in await cur.fetchall()}
        cur = await conn.execute(
            """SELECT id FROM conversations WHERE status = ANY(%s) AND account_id = ANY(%s)
                 AND sla_state IN ('warning', 'breached')
               ORDER BY sla_due_at ASC NULLS LAST, id LIMIT 50""",
            [_OPEN, accounts],
        )
        risky = [int(r["id"]) for r in await cur.fetchall()]
        at_risk = sorted(
            await conversations_by_id(conn, risky, accounts), key=lambda c: (c.sla_due_at is None, c.sla_due_at, c.id)
        )
    return Dashboard(
        agents=loads,
        accounts=[per_account.get(a) or AccountLoad(a, 0, 0, 0, 0) for a in accounts],
        at_risk=at_risk,
        online=sorted(name for name in online if any(load.agent == name for load in loads)),
    )
