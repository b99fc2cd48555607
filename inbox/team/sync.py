"""The team sync core: keeps the replica caught up and the agent's intents flowing, online or not.

One task holds the WebSocket. While it is open the server pushes "changed up to N" (the desktop
then pulls ``/v1/changes`` from its cursor, page after page) and colleagues' presence. Before each
connection the core catches up from its cursor and pushes the queued intents, so pushes missed
while away cost nothing. Intents go out strictly in their numbered order, one at a time: an
applied one writes the server's rows, a refused one is recorded with its reason and never holds
back those behind it; no answer at all (offline) stops the push until the server is back.

Observers are plain callables (the Qt window adapts them to signals); nothing here imports Qt.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, TypeVar

import websockets
from websockets.asyncio.client import ClientConnection, connect

from inbox.store.replica import QueuedIntent, Replica
from inbox.team.client import (
    CertificateProblem,
    ServerRefused,
    ServerUnreachable,
    SessionEnded,
    TeamClient,
    ws_url,
)
from inbox.team.presence import IDLE, REPLYING, VIEWING, PresenceBoard

log = logging.getLogger(__name__)

T = TypeVar("T")


class _NoBearer(logging.Filter):
    """websockets logs the handshake's headers at debug level: the session token never goes."""

    _TOKEN = re.compile(r"(?i)\b(bearer)\s+\S+")

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "earer" in message:
            record.msg, record.args = self._TOKEN.sub(r"\1 [redacted]", message), None
        return True


#: The logger the WebSocket library writes to (its own "websockets.client" never sees a token).
ws_log = logging.getLogger("inbox.team.websocket")
ws_log.addFilter(_NoBearer())

Clock = Callable[[], datetime]


class Link(StrEnum):
    """How this desktop is connected to its team."""

    CONNECTING = "connecting"
    ONLINE = "online"
    OFFLINE = "offline"
    SIGNED_OUT = "signed out"


@dataclass(frozen=True, slots=True)
class TeamObserver:
    """What the core tells the window. Every callable runs on the event loop's thread."""

    conversations: Callable[[frozenset[int], frozenset[int]], None] = lambda touched, new: None
    presence: Callable[[frozenset[int]], None] = lambda conversations: None
    link: Callable[[Link, str], None] = lambda link, reason: None
    intents: Callable[[], None] = lambda: None


class TeamSync:
    """Pull, push and presence for one signed-in agent over one :class:`Replica`."""

    def __init__(
        self,
        replica: Replica,
        client: TeamClient,
        *,
        observer: TeamObserver | None = None,
        clock: Clock = lambda: datetime.now(UTC),
        retry: tuple[float, float] = (0.5, 15.0),
        page_size: int = 500,
    ) -> None:
        self.replica = replica
        self.client = client
        self.observer = observer or TeamObserver()
        self.clock = clock
        self.presence = PresenceBoard()
        self.link = Link.CONNECTING
        self.reason = ""
        self.presence_ttl = 30.0
        self._retry = retry
        self._page_size = page_size
        self._pull_lock = asyncio.Lock()
        self._push_lock = asyncio.Lock()
        self._pull_wanted = asyncio.Event()
        self._push_wanted = asyncio.Event()
        self._stopped = asyncio.Event()
        self._reconnect = asyncio.Event()
        self._ws: ClientConnection | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._mine: dict[int, str] = {}  # conversation -> my presence state, repeated while it lasts
        self.pulled_pages = 0
        self._session_ended = False

    # -- life --------------------------------------------------------------------------------

    def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._stopped.clear()
        self._tasks = [
            loop.create_task(self._connection(), name="team-connection"),
            loop.create_task(self._puller(), name="team-puller"),
            loop.create_task(self._pusher(), name="team-pusher"),
            loop.create_task(self._presence_clock(), name="team-presence"),
        ]

    async def stop(self) -> None:
        self._stopped.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
            self._ws = None

    def wake(self) -> None:
        """New intents are queued: push them now (a no-op while offline; they go when back)."""
        self._push_wanted.set()

    def reconnect_now(self) -> None:
        """Try the server at once instead of waiting for the next retry."""
        self._reconnect.set()

    def _set_link(self, link: Link, reason: str = "") -> None:
        if (link, reason) == (self.link, self.reason):
            return
        if link is not self.link:
            log.info("team link %s", link.value)
        self.link, self.reason = link, reason
        if link is Link.SIGNED_OUT:
            self.replica.set_signed_in(False)
        if link is not Link.ONLINE:
            changed = frozenset(self.presence.conversations(time.monotonic()))
            self.presence.clear()
            if changed:
                self.observer.presence(changed)
        self.observer.link(link, reason)

    # -- the connection ----------------------------------------------------------------------

    async def _connection(self) -> None:
        delay = self._retry[0]
        while not self._stopped.is_set():
            try:
                await self.catch_up()
                await self._take_sla_policies()
                await self.push_pending()
                await self._listen()
                delay = self._retry[0]
            except SessionEnded as exc:
                self._set_link(Link.SIGNED_OUT, str(exc))
                return  # nothing to retry until the agent signs in again
            except (ServerUnreachable, CertificateProblem) as exc:
                self._set_link(Link.OFFLINE, str(exc))
            except (OSError, TimeoutError, websockets.exceptions.WebSocketException) as exc:
                self._set_link(Link.OFFLINE, f"the team server's live connection dropped ({type(exc).__name__})")
            self._ws = None
            self._reconnect.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._reconnect.wait(), delay)
            delay = min(delay * 2, self._retry[1])

    async def _listen(self) -> None:
        async with connect(
            ws_url(self.client.base_url),
            additional_headers=self.client.auth_headers(),
            open_timeout=10,
            ping_interval=20,
            ping_timeout=20,
            proxy=None,
            logger=ws_log,
        ) as ws:
            self._ws = ws
            self._session_ended = False
            self._set_link(Link.ONLINE)
            # What happened between the catch-up and this socket is pulled now; pushes follow.
            self._pull_wanted.set()
            self._push_wanted.set()
            for conversation_id, state in sorted(self._mine.items()):
                await self._send_presence(state, conversation_id)
            try:
                async for raw in ws:
                    self._received(raw)
            except websockets.exceptions.ConnectionClosed:
                if ws.close_code != 4401 and not self._session_ended:
                    raise
        self._ws = None
        if ws.close_code == 4401 or self._session_ended:
            raise SessionEnded("your team session has ended (expired or signed out elsewhere): sign in again")
        raise ServerUnreachable("the team server closed the live connection")

    def _received(self, raw: str | bytes) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        kind = message.get("type")
        if kind == "changed":
            self._pull_wanted.set()
        elif kind == "hello":
            self.presence_ttl = float(message.get("ttl") or self.presence_ttl)
        elif kind == "presence":
            try:
                conversation_id = int(message["conversation_id"])
                ttl = float(message.get("ttl") or self.presence_ttl)
                agent, state = str(message["agent"]), str(message["state"])
            except (KeyError, TypeError, ValueError):
                return
            if self.presence.seen(agent, state, conversation_id, ttl, time.monotonic()):
                self.observer.presence(frozenset({conversation_id}))
        elif kind == "signed_out":
            self._session_ended = True  # the server closes the socket (4401) right after
        elif kind == "error":
            log.info("team server refused a presence message (%s)", message.get("status"))

    # -- pull ------------------------------------------------------------------------------------

    async def _puller(self) -> None:
        while True:
            await self._pull_wanted.wait()
            self._pull_wanted.clear()
            try:
                await self.catch_up()
            except SessionEnded as exc:
                self._set_link(Link.SIGNED_OUT, str(exc))
            except (ServerUnreachable, CertificateProblem) as exc:
                self._set_link(Link.OFFLINE, str(exc))
                self._reconnect.set()

    async def catch_up(self) -> int:
        """Pull every change after the cursor, a page at a time; returns the changes applied."""
        async with self._pull_lock:
            count = 0
            while True:
                state = self.replica.state()
                if state is None:
                    return count
                page = await self.client.changes(state.cursor, self._page_size)
                loop = asyncio.get_running_loop()
                applied = await loop.run_in_executor(None, self.replica.apply_page, page, self.clock())
                self.pulled_pages += 1
                count += len(page.get("changes", []))
                if applied.touched:
                    self.observer.conversations(applied.touched, applied.new)
                if not page.get("more"):
                    return count

    async def _take_sla_policies(self) -> None:
        """The server's SLA policies, taken at each (re)connection: the thread's targets and the
        queue's countdowns (the server's deadlines) then come from the same rules."""
        text = await self.client.sla_policies()
        if await self._off_loop(self.replica.keep_sla_policies, text):
            log.info("SLA policies of the team server taken")
            # Every conversation's targets read differently now: the open thread is drawn again.
            self.observer.conversations(frozenset(self.replica.conversation_ids()), frozenset())

    # -- push ------------------------------------------------------------------------------------

    async def _pusher(self) -> None:
        while True:
            await self._push_wanted.wait()
            self._push_wanted.clear()
            if self.link is not Link.ONLINE:
                continue  # the connection pushes everything when it is back
            try:
                await self.push_pending()
            except SessionEnded as exc:
                self._set_link(Link.SIGNED_OUT, str(exc))
            except (ServerUnreachable, CertificateProblem) as exc:
                self._set_link(Link.OFFLINE, str(exc))
                self._reconnect.set()

    async def push_pending(self) -> int:
        """Push every queued intent in order; returns how many the server answered."""
        async with self._push_lock:
            state = self.replica.state()
            if state is None:
                return 0
            answered = 0
            while True:
                queue = self.replica.pending()
                if not queue:
                    return answered
                for queued in queue:
                    answered += await self._push_one(state.agent, state.client_id, queued)

    async def _push_one(self, agent: str, client_id: str, queued: QueuedIntent) -> int:
        answer = await self.client.push(client_id, queued.seq, queued.body)
        await self._off_loop(self.replica.settle, queued.seq, answer.status, answer.body, self.clock())
        touched: set[int] = set()
        if queued.conversation_id is not None:
            touched.add(int(queued.conversation_id))
        if answer.status >= 400:
            log.info("intent %s (%s) refused: %s", queued.seq, queued.kind, answer.status)
            if queued.conversation_id is not None:
                await self._converge(int(queued.conversation_id), answer.status)
        self.observer.intents()
        if touched:
            self.observer.conversations(frozenset(touched), frozenset())
        return 1

    async def _converge(self, conversation_id: int, status: int) -> None:
        """After a refusal, take the server's version of the conversation."""
        try:
            detail = await self.client.conversation(conversation_id)
        except ServerRefused as exc:
            if exc.status in (403, 404):
                await self._off_loop(self.replica.forget_conversation, conversation_id, self.clock())
            return
        await self._off_loop(self.replica.apply_conversation, detail, self.clock())

    @staticmethod
    async def _off_loop(write: Callable[..., T], *args: Any) -> T:
        """A replica write on a worker thread (as pages are applied): a write lock held by
        another program keeps that thread waiting, never the loop the window runs on."""
        return await asyncio.get_running_loop().run_in_executor(None, write, *args)

    # -- presence (mine) -----------------------------------------------------------------------

    async def announce(self, state: str, conversation_id: int | None) -> None:
        """Tell colleagues what this agent is doing: viewing or replying to one conversation
        (any other it was on becomes idle). Sent over the socket only: no database write."""
        previous = dict(self._mine)
        self._mine = {} if conversation_id is None or state == IDLE else {conversation_id: state}
        for cid in previous:
            if cid not in self._mine:
                await self._send_presence(IDLE, cid)
        if conversation_id is not None and state in (VIEWING, REPLYING) and previous.get(conversation_id) != state:
            await self._send_presence(state, conversation_id)

    async def _send_presence(self, state: str, conversation_id: int) -> None:
        ws = self._ws
        if ws is None or conversation_id <= 0:
            return  # offline: the socket's next opening repeats what this agent is doing
        with contextlib.suppress(websockets.exceptions.WebSocketException, OSError):
            await ws.send(json.dumps({"type": state, "conversation_id": conversation_id}))

    async def _presence_clock(self) -> None:
        """Repeat this agent's presence before colleagues' TTL ends; forget expired colleagues."""
        last_repeat = time.monotonic()
        while True:
            await asyncio.sleep(1.0)
            now = time.monotonic()
            gone = self.presence.expire(now)
            if gone:
                self.observer.presence(frozenset(gone))
            if now - last_repeat >= self.presence_ttl / 2:
                last_repeat = now
                for cid, state in list(self._mine.items()):
                    await self._send_presence(state, cid)

    def presence_on(self, conversation_id: int) -> list[tuple[str, str]]:
        return [(p.agent, p.state) for p in self.presence.on(conversation_id, time.monotonic())]

    def presence_map(self) -> dict[int, list[tuple[str, str]]]:
        return {
            cid: [(p.agent, p.state) for p in entries]
            for cid, entries in self.presence.conversations(time.monotonic()).items()
        }

    def status(self) -> dict[str, Any]:
        """For the status bar and ``inbox team status``."""
        return {"link": self.link.value, "reason": self.reason, "pending": self.replica.pending_count()}
