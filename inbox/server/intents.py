"""Intents from desktops: ``POST /v1/intents``, each applied once per ``(client_id, seq)``; the
replies and notes here, the other families in ``intents_conversation`` (status, priority,
assignee, tags) and ``intents_identity`` (link, unlink, merge), one dispatch (:func:`apply`).

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

from inbox.models import Channel, EventKind, Surface
from inbox.replies.compose import account_key
from inbox.replies.subject import reply_subject
from inbox.server import intents_conversation, intents_identity
from inbox.server.channel_store import account_from_row
from inbox.server.db import Database
from inbox.server.intent_context import NAMESPACE, IntentContext, IntentResult, OutboxOut
from inbox.server.intents_conversation import Assign, SetPriority, SetStatus, TagAdd, TagRemove
from inbox.server.intents_identity import CustomerMerge, IdentityLink, IdentityUnlink
from inbox.server.people import Agent
from inbox.server.problems import (
    PROBLEM_JSON,
    BadInput,
    Forbidden,
    Problem,
    Stale,
    problem_responses,
)
from inbox.server.reads import messages_by_id, messages_since

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


AnyIntent = (
    Reply | Note | SetStatus | Assign | TagAdd | TagRemove | SetPriority | IdentityLink | IdentityUnlink | CustomerMerge
)


class IntentIn(msgspec.Struct):
    client_id: str
    seq: int
    intent: AnyIntent


async def _seen_version(ctx: IntentContext, conv: dict[str, Any], intent: Reply) -> int:
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


async def _reply(ctx: IntentContext, intent: Reply) -> IntentResult:
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
    local = uuid.uuid5(NAMESPACE, key)
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
    """Where a private answer to a public post goes (as :func:`inbox.replies.compose.compose_reply`
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


async def _note(ctx: IntentContext, intent: Note) -> IntentResult:
    if not intent.text.strip():
        raise BadInput("intent.text", "a note needs text")
    conv = await ctx.conversation(intent.conversation_id)
    local = uuid.uuid5(NAMESPACE, f"{ctx.client_id}:{ctx.seq}")
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


async def apply(ctx: IntentContext, intent: AnyIntent) -> IntentResult:
    match intent:
        case Reply():
            return await _reply(ctx, intent)
        case Note():
            return await _note(ctx, intent)
        case SetStatus():
            return await intents_conversation.set_status(ctx, intent)
        case SetPriority():
            return await intents_conversation.set_priority(ctx, intent)
        case Assign():
            return await intents_conversation.assign(ctx, intent)
        case TagAdd():
            return await intents_conversation.tag_add(ctx, intent)
        case TagRemove():
            return await intents_conversation.tag_remove(ctx, intent)
        case IdentityLink():
            return await intents_identity.link(ctx, intent)
        case IdentityUnlink():
            return await intents_identity.unlink(ctx, intent)
        case CustomerMerge():
            return await intents_identity.merge(ctx, intent)


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
        ctx = IntentContext(conn, agent, data.client_id, data.seq)
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
