"""Intents on a conversation's state: status and priority (last writer wins, in server order),
assignee (compare-and-set against ``expected_assignee``: 409 with the current one), tags (add and
remove operations on a set, never a whole list)."""

from __future__ import annotations

import msgspec

from inbox.models import EventKind, Priority, Status
from inbox.server.intent_context import IntentContext, IntentResult, touch
from inbox.server.problems import BadInput, Stale


class SetStatus(msgspec.Struct, tag="status"):
    conversation_id: int
    status: Status


class Assign(msgspec.Struct, tag="assign"):
    conversation_id: int
    expected_assignee: str | None
    assignee: str | None


class TagAdd(msgspec.Struct, tag="tag_add"):
    conversation_id: int
    tag: str


class TagRemove(msgspec.Struct, tag="tag_remove"):
    conversation_id: int
    tag: str


class SetPriority(msgspec.Struct, tag="priority"):
    conversation_id: int
    priority: Priority



async def set_status(ctx: IntentContext, intent: SetStatus) -> IntentResult:
    conv = await ctx.conversation(intent.conversation_id)
    if conv["status"] != intent.status.value:
        await ctx.conn.execute(
            "UPDATE conversations SET status = %s, updated_at = now() WHERE id = %s", [intent.status.value, conv["id"]]
        )
        await ctx.event(conv["id"], EventKind.STATUS, intent.status.value)
        await ctx.change("status", conv["account_id"], conv["id"])
    return await ctx.result("status", conv["id"])


async def set_priority(ctx: IntentContext, intent: SetPriority) -> IntentResult:
    conv = await ctx.conversation(intent.conversation_id)
    if conv["priority"] != intent.priority.value or conv["priority_source"] != "manual":
        await ctx.conn.execute(
            "UPDATE conversations SET priority = %s, priority_source = 'manual', updated_at = now() WHERE id = %s",
            [intent.priority.value, conv["id"]],
        )
        await ctx.event(conv["id"], EventKind.PRIORITY, intent.priority.value)
        await ctx.change("priority", conv["account_id"], conv["id"])
    return await ctx.result("priority", conv["id"])


async def assign(ctx: IntentContext, intent: Assign) -> IntentResult:
    conv = await ctx.conversation(intent.conversation_id)
    expected = intent.expected_assignee or None
    wanted = intent.assignee or None
    if conv["assignee"] != expected:
        raise Stale(
            f"the conversation is assigned to {conv['assignee'] or 'nobody'}, not {expected or 'nobody'}",
            conversation_id=conv["id"],
            current_assignee=conv["assignee"],
        )
    if wanted is not None:
        cur = await ctx.conn.execute(
            """SELECT 1 FROM agents a JOIN memberships m ON m.agent_id = a.id
               WHERE a.name = %s AND NOT a.disabled AND m.account_id = %s""",
            [wanted, conv["account_id"]],
        )
        if await cur.fetchone() is None:
            raise BadInput("intent.assignee", f"{wanted} is not an active member of {conv['account_id']}")
    if wanted != conv["assignee"]:
        await ctx.conn.execute(
            "UPDATE conversations SET assignee = %s, updated_at = now() WHERE id = %s", [wanted, conv["id"]]
        )
        await ctx.event(conv["id"], EventKind.ASSIGNED, wanted or "")
        await ctx.change("assign", conv["account_id"], conv["id"])
    return await ctx.result("assign", conv["id"])


def _tag(text: str) -> str:
    tag = " ".join(text.split())
    if not tag or len(tag) > 100:
        raise BadInput("intent.tag", "a tag is 1 to 100 characters")
    return tag


async def tag_add(ctx: IntentContext, intent: TagAdd) -> IntentResult:
    return await _tag_change(
        ctx, intent.conversation_id, intent.tag, "tag_add",
        "INSERT INTO conversation_tags (conversation_id, tag) VALUES (%s, %s) ON CONFLICT DO NOTHING",
    )  # fmt: skip


async def tag_remove(ctx: IntentContext, intent: TagRemove) -> IntentResult:
    return await _tag_change(
        ctx, intent.conversation_id, intent.tag, "tag_remove",
        "DELETE FROM conversation_tags WHERE conversation_id = %s AND tag = %s",
    )  # fmt: skip


async def _tag_change(ctx: IntentContext, conversation_id: int, raw: str, kind: str, sql: str) -> IntentResult:
    """Add or remove a tag; its event and change only when a row changed (an intent asking for
    what is already so is accepted and changes nothing)."""
    tag = _tag(raw)
    conv = await ctx.conversation(conversation_id)
    cur = await ctx.conn.execute(sql, [conv["id"], tag])
    if cur.rowcount:
        await touch(ctx, conv["id"])
        event = EventKind.TAG_ADDED if kind == "tag_add" else EventKind.TAG_REMOVED
        await ctx.event(conv["id"], event, tag)
        await ctx.change(kind, conv["account_id"], conv["id"], payload={"tag": tag})
    return await ctx.result(kind, conv["id"])
