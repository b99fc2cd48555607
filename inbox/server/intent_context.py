"""What every intent handler works with: the transaction, the agent, and the answer it builds."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from inbox.models import EventKind
from inbox.server.changes import record_change
from inbox.server.db import Conn
from inbox.server.people import Agent
from inbox.server.problems import NotFound, NotMember
from inbox.server.reads import ConversationOut, MessageOut, conversations_by_id

#: Stable ids of what an intent creates (a reply's Message-ID, a note's key) from (client_id, seq).
NAMESPACE = uuid.UUID("1b0c5e12-7e4d-4c59-9a0e-5d1f3f0b2a61")


class OutboxOut(msgspec.Struct):
    id: int
    idempotency_key: str
    message_id: str
    state: str


class IntentResult(msgspec.Struct):
    client_id: str
    seq: int
    type: str
    change_seqs: list[int]
    conversation: ConversationOut | None = None
    message: MessageOut | None = None
    outbox: OutboxOut | None = None
    customer_id: int | None = None


class IntentContext:
    """What one intent's handler needs: the transaction, the agent, the request's identity."""

    def __init__(self, conn: Conn, agent: Agent, client_id: str, seq: int) -> None:
        self.conn = conn
        self.agent = agent
        self.client_id = client_id
        self.seq = seq
        self.change_seqs: list[int] = []

    async def change(self, kind: str, account_id: str | None, conversation_id: int | None = None, **kw: Any) -> None:
        self.change_seqs.append(
            await record_change(
                self.conn, kind, account_id=account_id, conversation_id=conversation_id, actor=self.agent.name, **kw
            )
        )

    async def event(self, conversation_id: int, kind: EventKind, value: str = "") -> None:
        await self.conn.execute(
            "INSERT INTO events (conversation_id, kind, actor, value) VALUES (%s, %s, %s, %s)",
            [conversation_id, kind.value, self.agent.name, value],
        )

    async def conversation(self, conversation_id: int) -> dict[str, Any]:
        """The conversation row, locked until commit; 404 or 403 before anything is read from it."""
        cur = await self.conn.execute("SELECT * FROM conversations WHERE id = %s FOR UPDATE", [conversation_id])
        row = await cur.fetchone()
        if row is None:
            raise NotFound(f"no conversation {conversation_id}", conversation_id=conversation_id)
        if not self.agent.member_of(row["account_id"]):
            raise NotMember(f"you are not a member of {row['account_id']}", account_id=row["account_id"])
        return row

    async def result(self, kind: str, conversation_id: int | None, **kw: Any) -> IntentResult:
        conversation = None
        if conversation_id is not None:
            found = await conversations_by_id(self.conn, [conversation_id], sorted(self.agent.accounts))
            conversation = found[0] if found else None
        return IntentResult(self.client_id, self.seq, kind, self.change_seqs, conversation, **kw)


async def touch(ctx: IntentContext, conversation_id: int) -> None:
    await ctx.conn.execute("UPDATE conversations SET updated_at = now() WHERE id = %s", [conversation_id])
