"""Sign-in and sessions: opaque bearer tokens, of which only a SHA-256 is stored, with expiry.

``POST /v1/session`` trades a name and password for a token; every other route reads
``Authorization: Bearer TOKEN`` (the WebSocket too, on its handshake) and gets the
:class:`~inbox.server.people.Agent`, whose memberships then gate each read and write.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import msgspec
from litestar import Request, delete, post
from litestar.connection import ASGIConnection
from litestar.datastructures import State

from inbox.server import people
from inbox.server.db import Conn, Database
from inbox.server.people import Agent
from inbox.server.problems import SignedOut, problem_responses

DEFAULT_TTL = timedelta(hours=12)


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


async def create_session(conn: Conn, agent_id: int, ttl: timedelta = DEFAULT_TTL) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    cur = await conn.execute(
        "INSERT INTO sessions (token_hash, agent_id, expires_at) VALUES (%s, %s, now() + %s) RETURNING expires_at",
        [token_hash(token), agent_id, ttl],
    )
    row = await cur.fetchone()
    assert row is not None
    return token, row["expires_at"]


async def agent_for_token(conn: Conn, token: str) -> Agent | None:
    return await agent_for_token_hash(conn, token_hash(token))


async def agent_for_token_hash(conn: Conn, digest: bytes) -> Agent | None:
    """The agent of a live session (not expired, not signed out, agent not disabled), as now."""
    cur = await conn.execute(
        """SELECT s.agent_id FROM sessions s JOIN agents a ON a.id = s.agent_id
           WHERE s.token_hash = %s AND s.expires_at > now() AND NOT a.disabled""",
        [digest],
    )
    row = await cur.fetchone()
    if row is None:
        return None
    return await people.agent_by_id(conn, int(row["agent_id"]))


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def current_agent(request: Request[Any, Any, Any], state: State) -> Agent:
    """The dependency every authenticated route takes: the agent behind the bearer token, or 401."""
    return await authenticate(request, state)


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any], state: State) -> Agent:
    token = bearer_token(connection)
    if token is None:
        raise SignedOut("a bearer token is required (POST /v1/session to sign in)")
    db: Database = state.db
    async with db.connection() as conn:
        agent = await agent_for_token(conn, token)
    if agent is None:
        raise SignedOut("this session has ended or is unknown: sign in again")
    return agent


class SignIn(msgspec.Struct):
    name: str
    password: str


class SessionOut(msgspec.Struct):
    token: str
    expires_at: datetime
    agent: str
    display_name: str
    role: str
    accounts: list[str]


@post("/v1/session", tags=["session"], summary="Sign in", status_code=201, responses=problem_responses(401, 422))
async def sign_in(data: SignIn, state: State) -> SessionOut:
    db: Database = state.db
    async with db.transaction() as conn:
        cur = await conn.execute("SELECT id, password_hash, disabled FROM agents WHERE name = %s", [data.name])
        row = await cur.fetchone()
        ok = people.password_matches(row["password_hash"] if row else None, data.password)
        if row is None or not ok or row["disabled"]:
            raise SignedOut("unknown name or wrong password")
        await conn.execute("DELETE FROM sessions WHERE agent_id = %s AND expires_at <= now()", [row["id"]])
        token, expires_at = await create_session(conn, int(row["id"]), state.session_ttl)
        agent = await people.agent_by_id(conn, int(row["id"]))
    assert agent is not None
    return SessionOut(token, expires_at, agent.name, agent.display_name, agent.role.value, sorted(agent.accounts))


@delete("/v1/session", tags=["session"], summary="Sign out", status_code=204, responses=problem_responses(401))
async def sign_out(request: Request[Any, Any, Any], state: State, agent: Agent) -> None:
    token = bearer_token(request)
    assert token is not None  # the agent dependency has checked it
    db: Database = state.db
    async with db.connection() as conn:
        await conn.execute("DELETE FROM sessions WHERE token_hash = %s", [token_hash(token)])
