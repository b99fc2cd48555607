"""Identity intents: link an identity to a customer, unlink it (a customer of its own), merge two
customers; allowed only to an agent who is a member of every account they touch."""

from __future__ import annotations

from typing import Any

import msgspec

from inbox.models import EventKind
from inbox.server.intent_context import IntentContext, IntentResult
from inbox.server.problems import BadInput, NotFound, NotMember


class IdentityLink(msgspec.Struct, tag="identity_link"):
    identity_id: int
    customer_id: int


class IdentityUnlink(msgspec.Struct, tag="identity_unlink"):
    identity_id: int


class CustomerMerge(msgspec.Struct, tag="identity_merge"):
    customer_id: int  # kept
    other_customer_id: int  # merged into it, then removed



async def _customer_accounts(ctx: IntentContext, customer_id: int) -> set[str]:
    cur = await ctx.conn.execute("SELECT DISTINCT account_id FROM conversations WHERE customer_id = %s", [customer_id])
    return {r["account_id"] for r in await cur.fetchall()}


async def _lock_customer(ctx: IntentContext, customer_id: int, field: str) -> dict[str, Any]:
    cur = await ctx.conn.execute("SELECT * FROM customers WHERE id = %s FOR UPDATE", [customer_id])
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no customer {customer_id}", field=field)
    return row


async def _lock_identity(ctx: IntentContext, identity_id: int) -> dict[str, Any]:
    cur = await ctx.conn.execute("SELECT * FROM identities WHERE id = %s FOR UPDATE", [identity_id])
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no identity {identity_id}", field="intent.identity_id")
    return row


def _require_all(ctx: IntentContext, accounts: set[str]) -> None:
    outside = sorted(accounts - ctx.agent.accounts)
    if outside:
        raise NotMember(f"this change touches {', '.join(outside)}, where you are not a member", account_id=outside[0])


async def _move_identity_conversations(ctx: IntentContext, identity_id: int, old: int, new: int) -> list[dict[str, Any]]:
    cur = await ctx.conn.execute(
        """UPDATE conversations SET customer_id = %s, updated_at = now() WHERE customer_id = %s AND id IN
             (SELECT conversation_id FROM messages WHERE identity_id = %s)
           RETURNING id, account_id""",
        [new, old, identity_id],
    )
    return list(await cur.fetchall())


async def _customer_changes(
    ctx: IntentContext, kind: str, moved: list[dict[str, Any]], accounts: set[str], customers: list[int]
) -> None:
    for row in moved:
        await ctx.event(row["id"], EventKind.CUSTOMER, str(customers[0]))
        await ctx.change(kind, row["account_id"], row["id"], customer_ids=customers)
    quiet = accounts - {row["account_id"] for row in moved}
    for account_id in sorted(quiet):
        await ctx.change(kind, account_id, customer_ids=customers)
    if not accounts:
        await ctx.change(kind, None, customer_ids=customers)


async def _drop_if_empty(ctx: IntentContext, customer_id: int) -> None:
    await ctx.conn.execute(
        """DELETE FROM customers WHERE id = %s AND crm_number IS NULL AND notes = ''
             AND NOT EXISTS (SELECT 1 FROM identities WHERE customer_id = %s)
             AND NOT EXISTS (SELECT 1 FROM conversations WHERE customer_id = %s)""",
        [customer_id, customer_id, customer_id],
    )


async def link(ctx: IntentContext, intent: IdentityLink) -> IntentResult:
    identity = await _lock_identity(ctx, intent.identity_id)
    await _lock_customer(ctx, intent.customer_id, "intent.customer_id")
    old = identity["customer_id"]
    accounts = await _customer_accounts(ctx, intent.customer_id)
    if old is not None:
        accounts |= await _customer_accounts(ctx, old)
    _require_all(ctx, accounts)
    moved: list[dict[str, Any]] = []
    if old != intent.customer_id:
        await ctx.conn.execute(
            "UPDATE identities SET customer_id = %s WHERE id = %s", [intent.customer_id, identity["id"]]
        )
        if old is not None:
            moved = await _move_identity_conversations(ctx, identity["id"], old, intent.customer_id)
            await _drop_if_empty(ctx, old)
        customers = [intent.customer_id] + ([old] if old is not None else [])
        await _customer_changes(ctx, "identity_link", moved, accounts, customers)
    return await ctx.result("identity_link", None, customer_id=intent.customer_id)


async def unlink(ctx: IntentContext, intent: IdentityUnlink) -> IntentResult:
    identity = await _lock_identity(ctx, intent.identity_id)
    old = identity["customer_id"]
    accounts = await _customer_accounts(ctx, old) if old is not None else set()
    _require_all(ctx, accounts)
    name = identity["display_name"] or identity["handle"] or identity["key"]
    cur = await ctx.conn.execute("INSERT INTO customers (display_name) VALUES (%s) RETURNING id", [name])
    row = await cur.fetchone()
    assert row is not None
    new_id = int(row["id"])
    await ctx.conn.execute("UPDATE identities SET customer_id = %s WHERE id = %s", [new_id, identity["id"]])
    moved = await _move_identity_conversations(ctx, identity["id"], old, new_id) if old is not None else []
    await _customer_changes(ctx, "identity_unlink", moved, accounts, [new_id] + ([old] if old is not None else []))
    return await ctx.result("identity_unlink", None, customer_id=new_id)


async def merge(ctx: IntentContext, intent: CustomerMerge) -> IntentResult:
    if intent.customer_id == intent.other_customer_id:
        raise BadInput("intent.other_customer_id", "a customer cannot be merged with itself")
    keep = await _lock_customer(ctx, intent.customer_id, "intent.customer_id")
    absorbed = await _lock_customer(ctx, intent.other_customer_id, "intent.other_customer_id")
    accounts = await _customer_accounts(ctx, keep["id"]) | await _customer_accounts(ctx, absorbed["id"])
    _require_all(ctx, accounts)
    await ctx.conn.execute(
        "UPDATE identities SET customer_id = %s WHERE customer_id = %s", [keep["id"], absorbed["id"]]
    )
    cur = await ctx.conn.execute(
        "UPDATE conversations SET customer_id = %s, updated_at = now() WHERE customer_id = %s RETURNING id, account_id",
        [keep["id"], absorbed["id"]],
    )
    moved = list(await cur.fetchall())
    notes = "\n".join(n for n in (keep["notes"], absorbed["notes"]) if n)
    crm = keep["crm_number"] or absorbed["crm_number"]
    await ctx.conn.execute("DELETE FROM customers WHERE id = %s", [absorbed["id"]])
    await ctx.conn.execute(
        "UPDATE customers SET notes = %s, crm_number = %s, vip = vip OR %s WHERE id = %s",
        [notes, crm, absorbed["vip"], keep["id"]],
    )
    await _customer_changes(ctx, "identity_merge", moved, accounts, [keep["id"], absorbed["id"]])
    return await ctx.result("identity_merge", None, customer_id=keep["id"])
