"""Team mode inside the desktop app: the replica, the sync core and the agent's commands, joined
for the window (composition code, no Qt).

:class:`TeamMode` is what the window's team pieces call (presence, refusals and their way
forward, the dashboard, sign-in and sign-out from Settings); the window reads the replica through
:class:`~inbox.team.commands.TeamRepository` exactly as it reads the solo store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from inbox.app.http import client_for, new_client
from inbox.secrets import SecretStore
from inbox.store.replica import QueuedIntent, Replica, TeamState
from inbox.store.repository import Store
from inbox.store.writer import StoreWriter
from inbox.team.account import TeamAccount
from inbox.team.client import TeamError
from inbox.team.commands import TeamCommands, TeamRepository
from inbox.team.sync import Link, TeamObserver, TeamSync

log = logging.getLogger(__name__)

T = TypeVar("T")


def joined_team(path: Path) -> bool:
    """Whether the store file at ``path`` is a team replica (without creating it)."""
    if not path.exists():
        return False
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            return db.execute("SELECT 1 FROM team_state WHERE id = 1").fetchone() is not None
    except sqlite3.Error:
        return False


class TeamMode:
    """One agent's team session in the app. Callbacks (set by the shell) run on the loop thread:
    ``on_conversations(touched, new)``, ``on_presence(conversations)``, ``on_link(link, reason)``,
    ``on_intents()``."""

    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        *,
        clock: Callable[[], datetime] | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.store = store
        self.replica = Replica(store)
        self.clock = clock or (lambda: datetime.now(UTC))
        # The app's shared client (its shell closes it); without one, its own, closed at stop.
        self._own_http = http is None
        self.http = http if http is not None else new_client()
        self.account = TeamAccount(self.replica, secrets, self.http, self.clock)
        self.commands = TeamCommands(self.replica, self._wake, self.clock)
        self.repository = TeamRepository(store, self.commands)
        # The agent's intents are queued on this thread (its own connection), never on the Qt
        # thread: a write lock held elsewhere keeps only the writer waiting.
        self.writer = StoreWriter(store)
        self._writer_closed = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.sync: TeamSync | None = None
        self.on_conversations: Callable[[frozenset[int], frozenset[int]], None] = lambda t, n: None
        self.on_presence: Callable[[frozenset[int]], None] = lambda c: None
        self.on_link: Callable[[Link, str], None] = lambda link, reason: None
        self.on_intents: Callable[[], None] = lambda: None
        self.on_left: Callable[[], None] = lambda: None  # signed out in Settings
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- life ------------------------------------------------------------------------------

    @property
    def agent(self) -> str:
        state = self.replica.state()
        return state.agent if state else ""

    def state(self) -> TeamState | None:
        return self.replica.state()

    def start(self) -> None:
        """Run the sync core when a session token is in the keyring; else show "signed out"."""
        self._loop = asyncio.get_running_loop()
        state = self.replica.state()
        if state is None or self.account.token() is None:
            self.on_link(Link.SIGNED_OUT, "sign in to your team in Settings")
            return
        observer = TeamObserver(
            conversations=lambda touched, new: self.on_conversations(touched, new),
            presence=lambda conversations: self.on_presence(conversations),
            link=self._link_changed,
            intents=lambda: self.on_intents(),
        )
        # The sync core writes on the writer's connection (its executor writes wait on that
        # connection's lock, never on the one the window reads through).
        self.sync = TeamSync(Replica(self.writer.store), self.account.client(), observer=observer, clock=self.clock)
        self.sync.start()

    def _link_changed(self, link: Link, reason: str) -> None:
        if link is Link.ONLINE:
            self._spawn(self._learn_agents())  # who can be assigned, for the picker
        self.on_link(link, reason)

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.sync is not None:
            await self.sync.stop()
            self.sync = None
        if self._own_http:
            await self.http.aclose()
        self._writer_closed = True
        await asyncio.to_thread(self.writer.close)  # the intents already asked for are queued first

    def _wake(self) -> None:
        if self.sync is not None:
            self.sync.wake()
        self.on_intents()

    def _wake_soon(self) -> None:
        """``_wake`` from the writer thread: posted to the loop (the sync core and the window
        live there)."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake)

    def queue(self, work: Callable[[TeamCommands], T]) -> Future[T]:
        """Run ``work`` with the agent's commands on the writer thread; returns at once (the
        future tells the window when the intent is in the replica's queue)."""
        if self._writer_closed:  # after stop (a window closing saves its draft): written here
            future: Future[T] = Future()
            try:
                future.set_result(work(self.commands))
            except Exception as exc:  # the window shows it, as a failed job's
                future.set_exception(exc)
            return future
        return self.writer.submit(lambda store: work(TeamCommands(Replica(store), self._wake_soon, self.clock)))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)  # a strong reference until it ends (qasync keeps none)
        task.add_done_callback(self._tasks.discard)

    # -- what the window shows ---------------------------------------------------------------

    def link_state(self) -> tuple[str, str]:
        if self.sync is None:
            return Link.SIGNED_OUT.value, ""
        return self.sync.link.value, self.sync.reason

    def pending_count(self) -> int:
        return self.replica.pending_count()

    def presence_on(self, conversation_id: int) -> list[tuple[str, str]]:
        return self.sync.presence_on(conversation_id) if self.sync else []

    def announce(self, state: str, conversation_id: int | None) -> None:
        if self.sync is not None:
            self._spawn(self.sync.announce(state, conversation_id))

    def reconnect(self) -> None:
        if self.sync is not None:
            self.sync.reconnect_now()

    def refusals(self) -> list[QueuedIntent]:
        return self.replica.rejections()

    def dismiss(self, seq: int) -> None:
        """The agent has read a refusal (for a refused reply: "Discard", its draft goes too)."""
        refused = self.replica.intent(seq)
        self.replica.acknowledge(seq)
        if refused is not None and refused.kind == "reply" and refused.conversation_id is not None:
            text = str(refused.body.get("text", ""))
            if self.store.draft(refused.conversation_id).strip() == text.strip():
                self.store.save_draft(refused.conversation_id, "", self.clock())
        self.on_intents()

    def edit(self, seq: int) -> tuple[int, str] | None:
        """"Edit": the refusal is dismissed, the text stays in the draft for the agent to change."""
        refused = self.replica.intent(seq)
        self.replica.acknowledge(seq)
        self.on_intents()
        if refused is None or refused.conversation_id is None:
            return None
        return refused.conversation_id, self.store.draft(refused.conversation_id) or str(refused.body.get("text", ""))

    def send_anyway(self, seq: int) -> None:
        """Send a reply the stale-reply check stopped, now that the agent has seen what arrived
        (on the writer thread: the refusal acknowledged and the reply queued in that order)."""
        now = self.clock

        def work(commands: TeamCommands) -> None:
            replica = commands.replica
            refused = replica.intent(seq)
            if refused is None or refused.conversation_id is None:
                return
            conversation_id = refused.conversation_id
            newest = max([int(m["id"]) for m in refused.answer.get("new_messages", [])] or [0])
            seen = max(newest, replica.last_message_id(conversation_id))
            replica.acknowledge(seq)
            text = str(refused.body.get("text", ""))
            if replica.store.draft(conversation_id).strip() == text.strip():
                replica.store.save_draft(conversation_id, "", now())
            commands.reply(conversation_id, text, seen_message_id=seen)

        self.queue(work)

    def send(self, conversation_id: int, text: str, note: bool) -> Future[int]:
        if note:
            return self.queue(lambda commands: commands.note(conversation_id, text))
        return self.queue(lambda commands: commands.reply(conversation_id, text))

    async def dashboard(self) -> dict[str, Any]:
        figures = await self.account.client().dashboard()
        agents = [(a["agent"], a.get("display_name") or "") for a in figures.get("agents", [])]
        if not self._writer_closed:  # on the writer thread: the loop never waits on the file
            await asyncio.wrap_future(self.writer.submit(lambda store: Replica(store).remember_agents(agents)))
        return figures

    async def _learn_agents(self) -> None:
        with contextlib.suppress(TeamError):
            await self.dashboard()

    def reassign(self, conversation_id: int, expected: str | None, assignee: str | None) -> None:
        self.queue(lambda commands: commands.assign(conversation_id, assignee, expected=expected))

    # -- Settings ------------------------------------------------------------------------------

    def team_state(self) -> tuple[str, str, bool] | None:
        state = self.replica.state()
        if state is None:
            return None
        return state.server_url, state.agent, state.signed_in and self.account.token() is not None

    async def team_sign_in(self, url: str, agent: str, password: str) -> str:
        if self.sync is not None:
            await self.sync.stop()
            self.sync = None
        joined = await self.account.join(url, agent, password)
        self.start()
        return f"{joined.display_name or joined.agent} ({joined.role}) @ {joined.server_url}"

    async def team_sign_out(self) -> str:
        if self.sync is not None:
            await self.sync.stop()
            self.sync = None
        gone = frozenset(self.replica.conversation_ids())
        kept, remark = await self.account.leave()
        self.on_link(Link.SIGNED_OUT, "")
        self.on_conversations(gone, frozenset())
        self.on_left()
        return f"{kept}" + (f" — {remark}" if remark else "")


def team_error_text(exc: BaseException) -> str:
    """What the Settings form shows for a failed sign-in (the messages are written for agents)."""
    return str(exc) if isinstance(exc, TeamError) else f"unexpected error: {type(exc).__name__}"


class SoloTeamSignIn:
    """Settings → Team while Inbox runs solo: signing in makes the team replica (its own file),
    then ``joined(path)`` (the shell switches the window to it); the solo store is left as it is."""

    def __init__(
        self,
        path: Path,
        secrets: SecretStore,
        http: httpx.AsyncClient | None = None,
        joined: Callable[[Path], None] | None = None,
    ) -> None:
        self.path = path
        self.secrets = secrets
        self.http = http  # the app's shared client; without one, a client for each sign-in
        self.joined = joined

    def team_state(self) -> tuple[str, str, bool] | None:
        if not joined_team(self.path):
            return None
        store = Store.open(self.path)
        try:
            state = Replica(store).state()
        finally:
            store.close()
        return (state.server_url, state.agent, state.signed_in) if state else None

    async def _with_account(self, work: Callable[[TeamAccount], Any]) -> Any:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        store = Store.open(self.path)
        try:
            if self.http is not None:
                return await work(TeamAccount(Replica(store), self.secrets, self.http))
            async with client_for() as http:
                return await work(TeamAccount(Replica(store), self.secrets, http))
        finally:
            store.close()

    async def team_sign_in(self, url: str, agent: str, password: str) -> str:
        async def work(account: TeamAccount) -> str:
            joined = await account.join(url, agent, password)
            return f"{joined.display_name or joined.agent} ({joined.role}) @ {joined.server_url}"

        who: str = await self._with_account(work)
        if self.joined is None:
            return who + " — restart Inbox to open the team queue"
        self.joined(self.path)
        return who + " — opening the team queue"

    async def team_sign_out(self) -> str:
        async def work(account: TeamAccount) -> str:
            kept, remark = await account.leave()
            return f"{kept}" + (f" — {remark}" if remark else "")

        if not self.path.exists():
            return "0"
        result: str = await self._with_account(work)
        return result
