"""The running desktop: the window shown now (rebuilt on a language switch) and the services of
the open store (live sync and triage in solo mode, the sync core in team mode), switched between
solo and team without a restart."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inbox.app.live_sync import LiveSync
from inbox.app.window import build_window
from inbox.secrets import SecretStore
from inbox.store.repository import Store
from inbox.store.writer import StoreWriter

if TYPE_CHECKING:
    import httpx

    from inbox.app.team_mode import TeamMode


def refresh_all(store: Store) -> int:
    from inbox.app.workspace import refresh_sla

    return refresh_sla(store, datetime.now(UTC))


async def background_triage(store: Store, shell: Shell, interval: float = 30.0) -> None:
    """Profile pictures (through the app's one client), sentiment, priority rules and crisis
    detection, off the UI thread, every ``interval`` seconds."""
    import logging

    from inbox.app.workspace import fetch_avatars, triage_pass

    loop = asyncio.get_running_loop()
    http = shell.http  # the shell's: closed at quit, not here
    while True:
        try:
            await fetch_avatars(store, http)
        except Exception:  # pictures are a nicety: never let them stop the loop
            logging.getLogger(__name__).debug("profile pictures not fetched", exc_info=True)
        try:
            alert = await loop.run_in_executor(None, triage_pass, store, datetime.now(UTC))
        except Exception:  # a bad rule file or message must not stop the app; it is logged
            logging.getLogger(__name__).exception("background triage failed")
            alert = None
        if alert is not None:
            tr = shell.window.tr_
            shell.window.notify(tr("Crisis alert"), tr("A burst of negative public messages: see the dashboard"))
        shell.window.reload_queue()  # new priorities and sentiment, the agent's place kept
        await asyncio.sleep(interval)


class Shell:
    """The window the app shows now (rebuilt when the agent switches language) and the services
    that talk to it through this holder, so a new window gets every update."""

    def __init__(
        self,
        store: Store,
        *,
        dark: bool,
        demo: bool,
        team: TeamMode | None = None,
        http: httpx.AsyncClient | None = None,
        open_solo: Callable[[], tuple[Store, bool]] | None = None,
    ) -> None:
        from inbox.app.http import new_client

        #: The desktop's one HTTP client (given by ``run_app``, which also hands it to team
        #: mode, or made here); every window, the live sync and Settings use it; closed once
        #: by :meth:`aclose`.
        self.http = http if http is not None else new_client()
        self.store = store
        self.open_solo = open_solo  # the solo store again, after signing out of a team
        self.tasks: set[asyncio.Task[Any]] = set()  # solo mode's background work (triage)
        self.writer = StoreWriter(store)  # every window's changes, and the live sync's SLA
        self.dark = dark
        self.demo = demo
        self.team = team
        self._restored: set[int] = set()  # refused replies already put back in the composer
        self.live: LiveSync | None = None
        self.remote_allowed: set[int] = set()  # messages whose remote images the agent allowed
        self.window: Any = self.build(None)

    def build(self, language: str | None) -> Any:
        window: Any = build_window(
            self.store,
            writer=self.writer,
            language=language,
            dark=self.dark,
            after_send=self.wake,
            switch_language=self.switch,
            remote_allowed=self.remote_allowed,
            accounts_edited=self.accounts_edited,
            team=self.team,
            http=self.http,
            agent=self.team.agent if self.team is not None and self.team.agent else None,
            team_joined=self.team_joined,
        )
        if self.team is not None:
            title = f"Inbox — {self.team.agent}" if self.team.agent else "Inbox — team"
            window.setWindowTitle(title)
        if self.demo:
            window.set_workspace_note(window.tr_("demo workspace"))
            window.statusBar().showMessage(window.tr_("demo workspace: replies are kept in the outbox, nothing is sent"))
        return window

    async def start_sync(self, secrets: SecretStore) -> LiveSync:
        """Run every account in the background; Settings changes reach it (``accounts_edited``)."""
        self.live = LiveSync(
            self.store,
            secrets,
            on_accounts=self.show_accounts,
            writer=self.writer,
            http=self.http,
        )
        self.live.subscribe(self.conversations_changed)  # the change feed, to whichever window
        await self.live.start()
        return self.live

    async def aclose(self) -> None:
        """At quit: the services of the open store stopped, then the one HTTP client closed."""
        await self.stop_services()
        await self.http.aclose()

    def accounts_edited(self) -> None:
        """Settings changed the accounts: the running sync starts, stops or rebuilds them."""
        if self.live is not None:
            self.live.accounts_changed_soon()

    def wake(self) -> None:
        if self.live is not None:
            self.live.wake_outbox()

    def switch(self, language: str) -> None:
        """The window again, in ``language``, on the conversation the agent had open (with the
        reply they were writing)."""
        old = self.window
        conversation_id = old.hand_over()
        new = self.build(language)
        new.setGeometry(old.geometry())
        new.show()  # before the old one closes, so the app does not quit
        if conversation_id is not None:
            new.open_conversation(conversation_id)
        self.window = new
        old.close()
        old.deleteLater()

    def show_accounts(self) -> None:
        self.window.show_accounts()

    def conversations_changed(self, touched: frozenset[int], new: frozenset[int]) -> None:
        self.window.conversations_changed(touched, new)
        if self.team is not None:
            self.team_intents()

    # -- team mode: the sync core's news, to whichever window is shown ---------------------------

    def start_team(self) -> None:
        """Route the sync core's news to the window, then start it (on the running loop)."""
        assert self.team is not None
        self.team.on_conversations = self.conversations_changed
        self.team.on_presence = self.team_presence
        self.team.on_link = self.team_link
        self.team.on_intents = self.team_intents
        self.team.on_left = self.team_left
        self.team.start()

    # -- switching between solo and team without a restart ----------------------------------------

    def team_joined(self, path: Path) -> None:
        """Settings signed this solo desktop in: the window switches to the team's queue."""
        self._spawn(self.switch_to_team(path))

    def team_left(self) -> None:
        """Settings signed this desktop out of its team: back to the solo store."""
        if self.open_solo is not None:
            self._spawn(self.switch_to_solo())

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def stop_services(self) -> None:
        """Stop what runs for the open store: the live sync and triage (solo), the sync core (team)."""
        current = asyncio.current_task()
        for task in [t for t in self.tasks if t is not current]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self.live is not None:
            await self.live.stop()
            self.live = None
        if self.team is not None:
            await self.team.stop()

    async def start_solo(self) -> None:
        """Solo mode's services: every account synced, deadlines recomputed, triage in the background."""
        if not self.demo:
            from inbox.providers.keyring_store import KeyringSecretStore

            await self.start_sync(KeyringSecretStore())
        # Every deadline recomputed once after start (the cached ones show meanwhile).
        # (On the writer's connection, like every write: the window reads through its own.)
        await asyncio.get_running_loop().run_in_executor(None, refresh_all, self.writer.store)
        self.window.reload_queue()
        self._spawn(background_triage(self.writer.store, self))

    def _reopen(self, store: Store, *, demo: bool, team: TeamMode | None) -> None:
        """The window again over ``store`` (the agent's place in the layout kept), the old
        window, writer and store closed."""
        old_window, old_writer, old_store = self.window, self.writer, self.store
        old_window.hand_over()  # the reply being written, saved where it was
        self.store, self.writer, self.demo, self.team = store, StoreWriter(store), demo, team
        self._restored.clear()
        self.window = self.build(None)
        self.window.setGeometry(old_window.geometry())
        self.window.show()  # before the old one closes, so the app does not quit
        old_window.close()
        old_window.deleteLater()
        old_writer.close()
        old_store.close()

    async def switch_to_team(self, path: Path) -> None:
        from inbox.app.team_mode import TeamMode
        from inbox.providers.keyring_store import KeyringSecretStore

        await self.stop_services()
        store = Store.open(path)
        self._reopen(store, demo=False, team=TeamMode(store, KeyringSecretStore(), http=self.http))
        self.start_team()

    async def switch_to_solo(self) -> None:
        assert self.open_solo is not None
        await self.stop_services()
        store, demo = self.open_solo()
        self._reopen(store, demo=demo, team=None)
        await self.start_solo()

    def team_presence(self, conversations: frozenset[int]) -> None:
        self.window.queue.viewport().update()
        if self.window.team_panel is not None:
            self.window.team_panel.refresh_presence()

    def team_link(self, link: object, reason: str) -> None:
        from inbox.ui.team_panel import banner_text

        if self.team is None:
            return
        self.window.set_banner(banner_text(self.team, self.window.tr_))
        self.team_intents()

    def team_intents(self) -> None:
        status = getattr(self.window, "team_status", None)
        if status is not None:
            status.refresh()
        if self.window.team_panel is not None:
            self.window.team_panel.refresh_refusals()
        self._refused_reply_back_in_composer()

    def _refused_reply_back_in_composer(self) -> None:
        """A reply the server refused is the agent's draft again: on the open conversation, its
        text goes back into the emptied composer (once per refusal) before the thread reloads,
        so the window's draft saving keeps it instead of saving the empty composer over it."""
        if self.team is None:
            return
        current = self.window.current_conversation()
        editor = self.window.composer.editor
        for refused in self.team.refusals():
            if refused.seq in self._restored or refused.kind != "reply":
                continue
            self._restored.add(refused.seq)
            if current is not None and refused.conversation_id == current.id and not editor.toPlainText().strip():
                editor.setPlainText(str(refused.body.get("text", "")))
