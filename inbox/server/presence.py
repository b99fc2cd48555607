"""The WebSocket ``/v1/ws``: "changed up to seq N" pushes and who is viewing or replying where.

A desktop opens the socket with its session token (``Authorization: Bearer``) and may send
``{"type": "viewing" | "replying" | "idle", "conversation_id": N}``. The server relays it to the
other agents who are members of that conversation's account, on every server process, through
NOTIFY on ``inbox_presence``: nothing is written to a table, and a message repeated within a
third of the TTL (a keystroke) is not relayed again. Receivers forget a presence after
``ttl`` seconds unless it is repeated. "Who is online" is the agents with an open socket on any
process, refreshed by a heartbeat every half TTL.

The server sends ``{"type": "changed", "seq": N}`` for every change anywhere (the seq only:
the desktop then pulls ``/v1/changes`` with its cursor, which applies memberships), and
``{"type": "presence", "agent", "state", "conversation_id", "ttl"}``; every half TTL it checks each
socket's session and closes the socket (code 4401, after ``{"type": "signed_out"}``) once it ended.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect

from inbox.server.auth import agent_for_token_hash, authenticate, bearer_token, token_hash
from inbox.server.changes import CHANGES_CHANNEL, PRESENCE_CHANNEL, ChangeFeed, publish_presence, read_notice
from inbox.server.db import Database
from inbox.server.people import Agent
from inbox.server.problems import NotFound, NotMember, SignedOut
from inbox.server.reads import conversation_account

log = logging.getLogger(__name__)

STATES = ("viewing", "replying", "idle")
_ids = itertools.count(1)


@dataclass(eq=False)
class Client:
    """One open socket: its agent and the messages waiting to be written to it."""

    agent: Agent
    session: bytes = b""  # the session token's hash, to check it is still alive
    id: int = field(default_factory=lambda: next(_ids))
    outbox: asyncio.Queue[dict[str, Any]] = field(default_factory=lambda: asyncio.Queue(maxsize=1000))
    last_sent: dict[tuple[str, int], float] = field(default_factory=dict)
    conversations: set[int] = field(default_factory=set)
    latest_seq: int = 0  # the newest change this socket was told of, or will be
    change_waiting: bool = False  # a "changed" waits in ``outbox`` already

    def changed(self, seq: int) -> None:
        """Coalesced: one "changed" waits at a time and carries the newest seq when it is
        written, so a burst of changes costs a socket one push and the desktop one pull."""
        self.latest_seq = max(self.latest_seq, seq)
        if not self.change_waiting:
            self.change_waiting = self.push({"type": "changed"})

    def push(self, message: dict[str, Any]) -> bool:
        try:
            self.outbox.put_nowait(message)
        except asyncio.QueueFull:  # a client that does not read loses pushes, never the server's memory
            return False
        return True


class PresenceHub:
    """This process's open sockets, and the presence seen on every process."""

    def __init__(self, db: Database, feed: ChangeFeed, ttl: float = 30.0) -> None:
        self.db = db
        self.ttl = ttl
        self.origin = uuid.uuid4().hex
        self._clients: dict[int, Client] = {}
        self._online: dict[str, float] = {}  # agent name -> monotonic expiry
        self._accounts: dict[int, str] = {}  # a conversation never changes account
        self._task: asyncio.Task[None] | None = None
        feed.add(self._on_notify)

    def start(self) -> None:
        self._task = asyncio.create_task(self._heartbeat(), name="inbox-presence-heartbeat")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def online_agents(self) -> set[str]:
        now = time.monotonic()
        local = {c.agent.name for c in self._clients.values()}
        return local | {name for name, until in self._online.items() if until > now}

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 2)
            with contextlib.suppress(Exception):
                await self._recheck_sessions()
            names = sorted({c.agent.name for c in self._clients.values()})
            if names:
                with contextlib.suppress(Exception):
                    await self._publish({"type": "online", "agents": names})

    async def _recheck_sessions(self) -> None:
        """Sockets follow their session: one that ended (signed out, expired, agent disabled) is
        told and closed; memberships changed by an admin apply from here on."""
        async with self.db.connection() as conn:
            for client in list(self._clients.values()):
                agent = await agent_for_token_hash(conn, client.session)
                if agent is None:
                    client.push({"type": "signed_out"})
                else:
                    client.agent = agent

    async def _publish(self, message: dict[str, Any]) -> None:
        async with self.db.connection() as conn:
            await publish_presence(conn, {**message, "origin": self.origin})

    def _on_notify(self, channel: str, payload: str) -> None:
        if channel == CHANGES_CHANNEL:
            seq, account_id = read_notice(payload)
            for client in self._clients.values():
                if account_id is None or client.agent.member_of(account_id):
                    client.changed(seq)
            return
        if channel != PRESENCE_CHANNEL:
            return
        try:
            message = json.loads(payload)
        except ValueError:
            return
        until = time.monotonic() + self.ttl
        if message.get("type") == "online":
            for name in message.get("agents", []):
                self._online[str(name)] = until
            return
        if message.get("type") == "offline":
            self._online.pop(str(message.get("agent")), None)
            return
        if message.get("type") != "presence":
            return
        self._online[str(message["agent"])] = until
        relay = {
            "type": "presence",
            "agent": message["agent"],
            "state": message["state"],
            "conversation_id": message["conversation_id"],
            "ttl": self.ttl,
        }
        for client in self._clients.values():
            same_socket = message.get("origin") == self.origin and message.get("client") == client.id
            if not same_socket and client.agent.member_of(str(message["account_id"])):
                client.push(relay)

    async def account_of(self, conversation_id: int) -> str:
        account = self._accounts.get(conversation_id)
        if account is None:
            async with self.db.connection() as conn:
                account = await conversation_account(conn, conversation_id)
            self._accounts[conversation_id] = account
        return account

    async def announce(self, client: Client, state: str, conversation_id: int) -> None:
        """Relay one presence message unless it repeats the last one within a third of the TTL."""
        account = await self.account_of(conversation_id)
        if not client.agent.member_of(account):
            raise NotMember(f"you are not a member of {account}", account_id=account)
        now = time.monotonic()
        key = (state, conversation_id)
        if state != "idle" and now - client.last_sent.get(key, -1e9) < self.ttl / 3:
            return
        client.last_sent[key] = now
        if state == "idle":
            client.conversations.discard(conversation_id)
        else:
            client.conversations.add(conversation_id)
        await self._publish(
            {
                "type": "presence",
                "agent": client.agent.name,
                "state": state,
                "conversation_id": conversation_id,
                "account_id": account,
                "client": client.id,
            }
        )

    def connect(self, client: Client) -> None:
        self._clients[client.id] = client

    async def disconnect(self, client: Client) -> None:
        self._clients.pop(client.id, None)
        with contextlib.suppress(Exception):
            for conversation_id in sorted(client.conversations):
                await self.announce(client, "idle", conversation_id)
            if all(c.agent.name != client.agent.name for c in self._clients.values()):
                await self._publish({"type": "offline", "agent": client.agent.name})


async def _writer(socket: WebSocket[Any, Any, Any], client: Client) -> None:
    while True:
        message = await client.outbox.get()
        if message["type"] == "changed" and "seq" not in message:
            client.change_waiting = False  # a change from here on queues the next push
            message = {"type": "changed", "seq": client.latest_seq}
        await socket.send_json(message)
        if message["type"] == "signed_out":
            await socket.close(code=4401, reason="the session has ended")
            return


async def _handle(hub: PresenceHub, client: Client, message: Any) -> None:
    if not isinstance(message, dict):
        client.push({"type": "error", "status": 422, "field": "message", "detail": "send a JSON object"})
        return
    state = message.get("type")
    conversation_id = message.get("conversation_id")
    if state == "ping":
        client.push({"type": "pong"})
        return
    if state not in STATES:
        client.push({"type": "error", "status": 422, "field": "type", "detail": f"type is one of {', '.join(STATES)}"})
        return
    if not isinstance(conversation_id, int) or isinstance(conversation_id, bool):
        client.push({"type": "error", "status": 422, "field": "conversation_id", "detail": "a conversation id"})
        return
    try:
        await hub.announce(client, state, conversation_id)
    except NotFound as exc:
        client.push({"type": "error", "status": 404, "detail": exc.detail, "conversation_id": conversation_id})
    except NotMember:
        client.push(
            {
                "type": "error",
                "status": 403,
                "detail": "not a member of this conversation's account",
                "conversation_id": conversation_id,
            }
        )


@websocket("/v1/ws")
async def ws_endpoint(socket: WebSocket[Any, Any, Any]) -> None:
    state = socket.app.state
    try:
        agent = await authenticate(socket, state)
    except SignedOut:
        await socket.close(code=4401, reason="sign in first")
        return
    await socket.accept()
    hub: PresenceHub = state.presence
    token = bearer_token(socket)
    assert token is not None  # authenticate() has checked it
    client = Client(agent, token_hash(token))
    hub.connect(client)
    client.push({"type": "hello", "agent": agent.name, "ttl": hub.ttl})
    writer = asyncio.create_task(_writer(socket, client))
    try:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                text = await socket.receive_text()
                try:
                    message = json.loads(text)
                except ValueError:
                    message = None
                await _handle(hub, client, message)
    finally:
        writer.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await writer
        await hub.disconnect(client)
