"""Intents from desktops: ``POST /v1/intents``, each applied once per ``(client_id, seq)``.

The client's last applied seq and the answer given are written in the same transaction as the
change, so a retried push gets the very same answer and changes nothing twice (Replicache's
pattern). A refused intent (409, 403, 404, 422) is recorded too: it is answered the same way on
a retry and never blocks the intents after it. The server stamps the actor and the time.

Conflict rules (docs TEAM_MODE.md): status, priority: last writer wins, in server order;
assignee: compare-and-set against ``expected_assignee`` (409 with the current assignee);
tags: add / remove operations on a set; replies append only, behind the stale-reply check
(409 with the messages and notes others added since the conversation ``version`` the agent saw,
nothing queued; the agent's own notes and replies never stop it); identities:
link, unlink, merge, allowed only to an agent who is a member of every account they touch.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import msgspec
from litestar import Response, post
from litestar.datastructures import State
from psycopg.types.json import Json, Jsonb

from inbox.models import Channel, EventKind, Priority, Status, Surface
from inbox.replies.outbox import account_key
from inbox.replies.subject import reply_subject
from inbox.server.changes import record_change
from inbox.server.channel_store import account_from_row
from inbox.server.db import Conn, Database
from inbox.server.people import Agent
from inbox.server.problems import (
    PROBLEM_JSON,
    BadInput,
    Forbidden,
    NotFound,
    NotMember,
    Problem,
    Stale,
    problem_responses,
)
from inbox.server.reads import ConversationOut, MessageOut, conversations_by_id, messages_by_id, messages_since

_NAMESPACE = uuid.UUID("1b0c5e12-7e4d-4c59-9a0e-5d1f3f0b2a61")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")


class Reply(msgspec.Struct, tag="reply"):
    """A reply, guarded by what the agent saw: ``seen_version`` (the conversation's version), or
    from older desktops ``seen_message_id`` (read as the version that message entered at).
    ``surface``: where to answer; none is the surface the customer used, and a public post may be
    answered privately (a Facebook comment in Messenger, an X mention by DM)."""

    conversation_id: int
    text: str
    seen_message_id: int | None = None
    html: str | None = None
    seen_version: int | None = None
    surface: Surface | None = None


class Note(msgspec.Struct, tag="note"):
    conversation_id: int
    text: str


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


class IdentityLink(msgspec.Struct, tag="identity_link"):
    identity_id: int
    customer_id: int


class IdentityUnlink(msgspec.Struct, tag="identity_unlink"):
    identity_id: int


class CustomerMerge(msgspec.Struct, tag="identity_merge"):
    customer_id: int  # kept
    other_customer_id: int  # merged into it, then removed


AnyIntent = (
    Reply | Note | SetStatus | Assign | TagAdd | TagRemove | SetPriority | IdentityLink | IdentityUnlink | CustomerMerge
)


class IntentIn(msgspec.Struct):
    client_id: str
    seq: int
    intent: AnyIntent


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


class _Context:
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


async def _touch(ctx: _Context, conversation_id: int) -> None:
    await ctx.conn.execute("UPDATE conversations SET updated_at = now() WHERE id = %s", [conversation_id])


async def _seen_version(ctx: _Context, conv: dict[str, Any], intent: Reply) -> int:
    if intent.seen_version is not None:
        if not 0 <= intent.seen_version <= conv["version"]:
            raise BadInput("intent.seen_version", f"this conversation is at version {conv['version']}")
        return intent.seen_version
    if intent.seen_message_id is None:
        raise BadInput("intent.seen_version", "a reply says which version of the conversation the agent saw")
    if not intent.seen_message_id:
        return 0
    cur = await ctx.conn.execute(
        "SELECT version FROM messages WHERE id = %s AND conversation_id = %s", [intent.seen_message_id, conv["id"]]
    )
    row = await cur.fetchone()
    if row is None:
        raise BadInput("intent.seen_message_id", "not a message of this conversation")
    return int(row["version"])


async def _reply(ctx: _Context, intent: Reply) -> IntentResult:
    if not intent.text.strip():
        raise BadInput("intent.text", "a reply needs text")
    conv = await ctx.conversation(intent.conversation_id)
    seen = await _seen_version(ctx, conv, intent)
    # Only what others added counts: the agent's own earlier notes and replies do not stop it.
    newer = await messages_since(ctx.conn, conv["id"], seen, not_by=ctx.agent.name)
    if newer:
        raise Stale(
            f"{len(newer)} message(s) or note(s) arrived since version {seen} of the conversation; nothing was sent",
            conversation_id=conv["id"],
            version=conv["version"],
            new_messages=msgspec.to_builtins(newer),
        )
    cur = await ctx.conn.execute("SELECT * FROM accounts WHERE id = %s", [conv["account_id"]])
    account = await cur.fetchone()
    assert account is not None
    cur = await ctx.conn.execute(
        """SELECT * FROM messages WHERE conversation_id = %s AND direction = 'in' AND NOT private
           ORDER BY id DESC LIMIT 1""",
        [conv["id"]],
    )
    answered = await cur.fetchone()
    key = f"{ctx.client_id}:{ctx.seq}"
    local = uuid.uuid5(_NAMESPACE, key)
    if account["channel"] == Channel.EMAIL.value:
        domain = conv["account_id"].split("@")[-1] if "@" in conv["account_id"] else "inbox.invalid"
        message_id = f"<{local}@{domain}>"
    else:
        message_id = f"inbox-{local}"
    natural = (answered["surface"] if answered else None) or conv["surface"] or _default_surface(account["channel"])
    surface = _surface(account["channel"], natural, intent.surface)
    subject = reply_subject(conv["subject"]) if account["channel"] == Channel.EMAIL.value else conv["subject"] or ""
    refs: list[str] = []
    if answered is not None and account["channel"] == Channel.EMAIL.value:
        refs = [*answered["refs"], answered["provider_id"]]
    target = {
        "recipient": None
        if answered is None
        else {
            "key": answered["author_key"],
            "handle": answered["author_handle"],
            "display_name": answered["author_name"],
        },
        "reply_to_id": answered["provider_id"] if answered else None,
        "thread_key": answered["thread_key"] if answered else None,
        "subject": subject or None,
        "references": refs,
    }
    if surface != natural and answered is not None:
        target |= _private_target(account, answered, Surface(surface))
    cur = await ctx.conn.execute(
        """INSERT INTO outbox (conversation_id, account_id, idempotency_key, message_id, body, html, surface, target,
                               created_by)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id, state""",
        [
            conv["id"],
            conv["account_id"],
            key,
            message_id,
            intent.text,
            intent.html,
            surface,
            Jsonb(target),
            ctx.agent.name,
        ],
    )
    outbox = await cur.fetchone()
    assert outbox is not None
    own = sorted(account["own_keys"])
    cur = await ctx.conn.execute(
        """INSERT INTO messages (account_id, provider_id, conversation_id, channel, surface, direction, author_key,
                                 author_name, author_handle, author_agent, subject, text, html, sent_at, reply_to_id,
                                 refs, thread_key, outbox_id)
           VALUES (%s, %s, %s, %s, %s, 'out', %s, %s, %s, %s, %s, %s, %s, now(), %s, %s, %s, %s) RETURNING id""",
        [
            conv["account_id"],
            message_id,
            conv["id"],
            conv["channel"],
            surface,
            own[0] if own else "",
            ctx.agent.display_name,
            account["name"],
            ctx.agent.name,
            subject or None,
            intent.text,
            intent.html,
            target["reply_to_id"],
            Jsonb(refs),
            target["thread_key"],
            outbox["id"],
        ],
    )
    row = await cur.fetchone()
    assert row is not None
    await ctx.conn.execute(
        """UPDATE conversations SET last_message_id = %s, last_message_at = now(), message_count = message_count + 1,
                  preview = left(%s, 200), status = CASE WHEN status = 'new' THEN 'open' ELSE status END,
                  updated_at = now()
           WHERE id = %s""",
        [row["id"], intent.text, conv["id"]],
    )
    await ctx.event(conv["id"], EventKind.REPLY)
    await ctx.change("reply", conv["account_id"], conv["id"], message_ids=[row["id"]])
    # Wakes the process that holds this account's lease (delivered at commit, dropped on rollback).
    await ctx.conn.execute("SELECT pg_notify('inbox_outbox', %s)", [conv["account_id"]])
    messages = await messages_by_id(ctx.conn, [row["id"]], [conv["account_id"]])
    return await ctx.result(
        "reply", conv["id"], message=messages[0], outbox=OutboxOut(outbox["id"], key, message_id, outbox["state"])
    )


#: The private surface a public post may be answered on (as the solo outbox's ``dm``).
_PRIVATELY = {Surface.COMMENT.value: Surface.MESSENGER.value, Surface.MENTION.value: Surface.DM.value}


def _surface(channel: str, natural: str, wanted: Surface | None) -> str:
    """The surface a reply goes out on: the customer's (``natural``), or its private counterpart."""
    if wanted is None or wanted.value == natural:
        return natural
    if _PRIVATELY.get(natural) == wanted.value:
        return wanted.value
    allowed = " or ".join([natural, *([_PRIVATELY[natural]] if natural in _PRIVATELY else [])])
    raise BadInput("intent.surface", f"this {channel} conversation is answered on {allowed}, not {wanted.value}")


def _private_target(account: dict[str, Any], answered: dict[str, Any], surface: Surface) -> dict[str, Any]:
    """Where a private answer to a public post goes (as :func:`inbox.replies.outbox.compose_reply`
    with ``dm``): Messenger addressed by the comment (Graph's ``recipient.comment_id``, no thread
    yet), or the X DM conversation of our account and the author."""
    if surface is Surface.MESSENGER:
        return {"reply_to_id": answered["provider_id"], "thread_key": None}
    ours, theirs = account_key(account_from_row(account)), str(answered["author_key"])
    if ours.isdigit() and theirs.isdigit():
        low, high = sorted((int(ours), int(theirs)))
        return {"reply_to_id": None, "thread_key": f"x:dm:{low}-{high}"}
    return {"reply_to_id": None, "thread_key": "x:dm:" + "-".join(sorted((ours, theirs)))}


def _default_surface(channel: str) -> str:
    return {
        Channel.EMAIL.value: Surface.EMAIL.value,
        Channel.TWITTER.value: Surface.MENTION.value,
        Channel.FACEBOOK.value: Surface.MESSENGER.value,
        Channel.WEBFORM.value: Surface.EMAIL.value,
    }[channel]


async def _note(ctx: _Context, intent: Note) -> IntentResult:
    if not intent.text.strip():
        raise BadInput("intent.text", "a note needs text")
    conv = await ctx.conversation(intent.conversation_id)
    local = uuid.uuid5(_NAMESPACE, f"{ctx.client_id}:{ctx.seq}")
    cur = await ctx.conn.execute(
        """INSERT INTO messages (account_id, provider_id, conversation_id, channel, surface, direction, author_name,
                                 author_agent, text, sent_at, private)
           VALUES (%s, %s, %s, %s, 'note', 'out', %s, %s, %s, now(), true) RETURNING id""",
        [
            conv["account_id"],
            f"note:{local}",
            conv["id"],
            conv["channel"],
            ctx.agent.display_name,
            ctx.agent.name,
            intent.text,
        ],
    )
    row = await cur.fetchone()
    assert row is not None
    await ctx.conn.execute(
        "UPDATE conversations SET last_message_id = %s, updated_at = now() WHERE id = %s", [row["id"], conv["id"]]
    )
    await ctx.event(conv["id"], EventKind.NOTE)
    await ctx.change("note", conv["account_id"], conv["id"], message_ids=[row["id"]])
    messages = await messages_by_id(ctx.conn, [row["id"]], [conv["account_id"]])
    return await ctx.result("note", conv["id"], message=messages[0])


async def _status(ctx: _Context, intent: SetStatus) -> IntentResult:
    conv = await ctx.conversation(intent.conversation_id)
    if conv["status"] != intent.status.value:
        await ctx.conn.execute(
            "UPDATE conversations SET status = %s, updated_at = now() WHERE id = %s", [intent.status.value, conv["id"]]
        )
        await ctx.event(conv["id"], EventKind.STATUS, intent.status.value)
        await ctx.change("status", conv["account_id"], conv["id"])
    return await ctx.result("status", conv["id"])


async def _priority(ctx: _Context, intent: SetPriority) -> IntentResult:
    conv = await ctx.conversation(intent.conversation_id)
    if conv["priority"] != intent.priority.value or conv["priority_source"] != "manual":
        await ctx.conn.execute(
            "UPDATE conversations SET priority = %s, priority_source = 'manual', updated_at = now() WHERE id = %s",
            [intent.priority.value, conv["id"]],
        )
        await ctx.event(conv["id"], EventKind.PRIORITY, intent.priority.value)
        await ctx.change("priority", conv["account_id"], conv["id"])
    return await ctx.result("priority", conv["id"])


async def _assign(ctx: _Context, intent: Assign) -> IntentResult:
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


async def _tag_add(ctx: _Context, intent: TagAdd) -> IntentResult:
    tag = _tag(intent.tag)
    conv = await ctx.conversation(intent.conversation_id)
    cur = await ctx.conn.execute(
        "INSERT INTO conversation_tags (conversation_id, tag) VALUES (%s, %s) ON CONFLICT DO NOTHING", [conv["id"], tag]
    )
    if cur.rowcount:
        await _touch(ctx, conv["id"])
        await ctx.event(conv["id"], EventKind.TAG_ADDED, tag)
        await ctx.change("tag_add", conv["account_id"], conv["id"], payload={"tag": tag})
    return await ctx.result("tag_add", conv["id"])


async def _tag_remove(ctx: _Context, intent: TagRemove) -> IntentResult:
    tag = _tag(intent.tag)
    conv = await ctx.conversation(intent.conversation_id)
    cur = await ctx.conn.execute(
        "DELETE FROM conversation_tags WHERE conversation_id = %s AND tag = %s", [conv["id"], tag]
    )
    if cur.rowcount:
        await _touch(ctx, conv["id"])
        await ctx.event(conv["id"], EventKind.TAG_REMOVED, tag)
        await ctx.change("tag_remove", conv["account_id"], conv["id"], payload={"tag": tag})
    return await ctx.result("tag_remove", conv["id"])


async def _customer_accounts(ctx: _Context, customer_id: int) -> set[str]:
    cur = await ctx.conn.execute("SELECT DISTINCT account_id FROM conversations WHERE customer_id = %s", [customer_id])
    return {r["account_id"] for r in await cur.fetchall()}


async def _lock_customer(ctx: _Context, customer_id: int, field: str) -> dict[str, Any]:
    cur = await ctx.conn.execute("SELECT * FROM customers WHERE id = %s FOR UPDATE", [customer_id])
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no customer {customer_id}", field=field)
    return row


async def _lock_identity(ctx: _Context, identity_id: int) -> dict[str, Any]:
    cur = await ctx.conn.execute("SELECT * FROM identities WHERE id = %s FOR UPDATE", [identity_id])
    row = await cur.fetchone()
    if row is None:
        raise NotFound(f"no identity {identity_id}", field="intent.identity_id")
    return row


def _require_all(ctx: _Context, accounts: set[str]) -> None:
    outside = sorted(accounts - ctx.agent.accounts)
    if outside:
        raise NotMember(f"this change touches {', '.join(outside)}, where you are not a member", account_id=outside[0])


async def _move_identity_conversations(ctx: _Context, identity_id: int, old: int, new: int) -> list[dict[str, Any]]:
    cur = await ctx.conn.execute(
        """UPDATE conversations SET customer_id = %s, updated_at = now() WHERE customer_id = %s AND id IN
             (SELECT conversation_id FROM messages WHERE identity_id = %s)
           RETURNING id, account_id""",
        [new, old, identity_id],
    )
    return list(await cur.fetchall())


async def _customer_changes(
    ctx: _Context, kind: str, moved: list[dict[str, Any]], accounts: set[str], customers: list[int]
) -> None:
    for row in moved:
        await ctx.event(row["id"], EventKind.CUSTOMER, str(customers[0]))
        await ctx.change(kind, row["account_id"], row["id"], customer_ids=customers)
    quiet = accounts - {row["account_id"] for row in moved}
    for account_id in sorted(quiet):
        await ctx.change(kind, account_id, customer_ids=customers)
    if not accounts:
        await ctx.change(kind, None, customer_ids=customers)


async def _drop_if_empty(ctx: _Context, customer_id: int) -> None:
    await ctx.conn.execute(
        """DELETE FROM customers WHERE id = %s AND crm_number IS NULL AND notes = ''
             AND NOT EXISTS (SELECT 1 FROM identities WHERE customer_id = %s)
             AND NOT EXISTS (SELECT 1 FROM conversations WHERE customer_id = %s)""",
        [customer_id, customer_id, customer_id],
    )


async def _link(ctx: _Context, intent: IdentityLink) -> IntentResult:
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


async def _unlink(ctx: _Context, intent: IdentityUnlink) -> IntentResult:
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


async def _merge(ctx: _Context, intent: CustomerMerge) -> IntentResult:
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


async def apply(ctx: _Context, intent: AnyIntent) -> IntentResult:
    match intent:
        case Reply():
            return await _reply(ctx, intent)
        case Note():
            return await _note(ctx, intent)
        case SetStatus():
            return await _status(ctx, intent)
        case SetPriority():
            return await _priority(ctx, intent)
        case Assign():
            return await _assign(ctx, intent)
        case TagAdd():
            return await _tag_add(ctx, intent)
        case TagRemove():
            return await _tag_remove(ctx, intent)
        case IdentityLink():
            return await _link(ctx, intent)
        case IdentityUnlink():
            return await _unlink(ctx, intent)
        case CustomerMerge():
            return await _merge(ctx, intent)


@post(
    "/v1/intents",
    tags=["intents"],
    summary="Apply one intent from a desktop, once per (client_id, seq)",
    status_code=200,
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def post_intent(data: IntentIn, state: State, agent: Agent) -> Response[IntentResult]:
    if not _CLIENT_ID.match(data.client_id):
        raise BadInput("client_id", "1 to 100 letters, digits, '.', '_', ':' or '-'")
    if data.seq < 1:
        raise BadInput("seq", "intents are numbered from 1")
    db: Database = state.db
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO client_intents (client_id, agent_id, last_seq) VALUES (%s, %s, 0) ON CONFLICT DO NOTHING",
            [data.client_id, agent.id],
        )
        cur = await conn.execute(
            "SELECT agent_id, last_seq FROM client_intents WHERE client_id = %s FOR UPDATE", [data.client_id]
        )
        client = await cur.fetchone()
        assert client is not None
        if client["agent_id"] != agent.id:
            raise Forbidden("this client id belongs to another agent", field="client_id")
        if data.seq <= client["last_seq"]:
            cur = await conn.execute(
                "SELECT status, body FROM intent_results WHERE client_id = %s AND seq = %s", [data.client_id, data.seq]
            )
            stored = await cur.fetchone()
            if stored is None:
                raise BadInput("seq", f"intent {data.seq} is older than the last applied ({client['last_seq']})")
            return _response(stored["body"], stored["status"], replayed=True)
        ctx = _Context(conn, agent, data.client_id, data.seq)
        status = 200
        try:
            async with conn.transaction():  # a savepoint: a refused intent leaves nothing behind
                body: dict[str, Any] = msgspec.to_builtins(await apply(ctx, data.intent))
        except Problem as problem:
            status, body = problem.status, problem.body()
        await conn.execute(
            "UPDATE client_intents SET last_seq = %s, updated_at = now() WHERE client_id = %s",
            [data.seq, data.client_id],
        )
        await conn.execute(
            "INSERT INTO intent_results (client_id, seq, status, body) VALUES (%s, %s, %s, %s)",
            [data.client_id, data.seq, status, Json(body)],
        )
    return _response(body, status, replayed=False)


def _response(body: dict[str, Any], status: int, *, replayed: bool) -> Response[Any]:
    return Response(
        body,
        status_code=status,
        media_type=PROBLEM_JSON if status >= 400 else "application/json",
        headers={"Inbox-Replayed": "true" if replayed else "false"},
    )
