"""Agents, team leads and admins, and which channel accounts each of them is a member of.

Passwords are hashed with argon2id (argon2-cffi) and never leave this module: no function here
returns a hash, and :class:`Agent` has no field for one.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from inbox.errors import InboxError
from inbox.server.db import Conn

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_HASHER = PasswordHasher()
# Verifying against this keeps a sign-in for an unknown name as slow as one for a known name.
_DUMMY_HASH = _HASHER.hash("not a password of anyone")


class Role(StrEnum):
    AGENT = "agent"
    LEAD = "lead"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Agent:
    """A signed-in person as the server sees them: no password hash, no token."""

    id: int
    name: str
    display_name: str
    role: Role
    disabled: bool
    accounts: frozenset[str]

    def member_of(self, account_id: str) -> bool:
        return account_id in self.accounts


def hash_password(password: str) -> str:
    if len(password) < 8:
        raise InboxError("a password needs at least 8 characters")
    return _HASHER.hash(password)


def password_matches(stored_hash: str | None, password: str) -> bool:
    try:
        return _HASHER.verify(stored_hash or _DUMMY_HASH, password) and stored_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


async def add_agent(
    conn: Conn,
    name: str,
    role: Role,
    *,
    password: str | None = None,
    accounts: Sequence[str] = (),
    display_name: str = "",
) -> int:
    """Create an agent with memberships; the accounts must exist."""
    if not NAME.match(name):
        raise InboxError(f"agent name {name!r}: lower-case letters, digits, '.', '_' or '-', up to 64")
    password_hash = hash_password(password) if password is not None else None
    async with conn.transaction():
        cur = await conn.execute("SELECT 1 FROM agents WHERE name = %s", [name])
        if await cur.fetchone():
            raise InboxError(f"agent {name} exists already")
        cur = await conn.execute(
            "INSERT INTO agents (name, display_name, role, password_hash) VALUES (%s, %s, %s, %s) RETURNING id",
            [name, display_name or name, role.value, password_hash],
        )
        row = await cur.fetchone()
        assert row is not None
        agent_id = int(row["id"])
        await set_memberships(conn, agent_id, accounts)
    return agent_id


async def set_memberships(conn: Conn, agent_id: int, accounts: Iterable[str]) -> None:
    wanted = sorted(set(accounts))
    cur = await conn.execute("SELECT id FROM accounts WHERE id = ANY(%s)", [wanted])
    known = {r["id"] for r in await cur.fetchall()}
    missing = [a for a in wanted if a not in known]
    if missing:
        raise InboxError(f"no channel account {', '.join(missing)} (add it first)")
    for account_id in wanted:
        await conn.execute(
            "INSERT INTO memberships (agent_id, account_id) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            [agent_id, account_id],
        )


async def set_password(conn: Conn, name: str, password: str) -> None:
    cur = await conn.execute("UPDATE agents SET password_hash = %s WHERE name = %s", [hash_password(password), name])
    if cur.rowcount != 1:
        raise InboxError(f"no agent {name}")


async def disable_agent(conn: Conn, name: str) -> None:
    """Disable an agent and end every session they have."""
    async with conn.transaction():
        cur = await conn.execute("UPDATE agents SET disabled = true WHERE name = %s RETURNING id", [name])
        row = await cur.fetchone()
        if row is None:
            raise InboxError(f"no agent {name}")
        await conn.execute("DELETE FROM sessions WHERE agent_id = %s", [row["id"]])


async def agents(conn: Conn) -> list[Agent]:
    cur = await conn.execute(
        """SELECT a.id, a.name, a.display_name, a.role, a.disabled,
                  coalesce(array_agg(m.account_id ORDER BY m.account_id) FILTER (WHERE m.account_id IS NOT NULL), '{}')
                    AS accounts
           FROM agents a LEFT JOIN memberships m ON m.agent_id = a.id
           GROUP BY a.id ORDER BY a.name"""
    )
    return [_agent(r) for r in await cur.fetchall()]


async def agent_by_id(conn: Conn, agent_id: int) -> Agent | None:
    cur = await conn.execute(
        """SELECT a.id, a.name, a.display_name, a.role, a.disabled,
                  coalesce(array_agg(m.account_id) FILTER (WHERE m.account_id IS NOT NULL), '{}') AS accounts
           FROM agents a LEFT JOIN memberships m ON m.agent_id = a.id
           WHERE a.id = %s GROUP BY a.id""",
        [agent_id],
    )
    row = await cur.fetchone()
    return _agent(row) if row else None


def _agent(row: dict[str, object]) -> Agent:
    accounts = row["accounts"]
    assert isinstance(accounts, list)
    return Agent(
        id=int(str(row["id"])),
        name=str(row["name"]),
        display_name=str(row["display_name"]),
        role=Role(str(row["role"])),
        disabled=bool(row["disabled"]),
        accounts=frozenset(str(a) for a in accounts),
    )
