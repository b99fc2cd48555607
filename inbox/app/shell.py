"""Composition root of the desktop app: builds the store, services and window, runs qasync."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inbox.app.live_sync import LiveSync
from inbox.cli.paths import default_db_path, demo_db_path, team_db_path
from inbox.secrets import SecretStore
from inbox.store.repository import Store
from inbox.store.writer import StoreWriter

if TYPE_CHECKING:
    import httpx
    from PySide6.QtWidgets import QWidget

    from inbox.app.team_mode import TeamMode
    from inbox.ui.main_window import MainWindow


def choose_store(args: argparse.Namespace) -> tuple[Store, bool]:
    """The user's store; the demo workspace with ``--demo`` or when nothing is configured yet."""
    from inbox.app.demo import ensure_demo

    if args.db is not None and not args.demo:
        return Store.open(args.db), False
    path = default_db_path()
    if not args.demo and path.exists():
        store = Store.open(path)
        if store.accounts():
            return store, False
        store.close()
    demo = args.db or demo_db_path()
    ensure_demo(demo)
    return Store.open(demo), True


def team_store_path(args: argparse.Namespace) -> Path | None:
    """The team replica to open: ``--db`` when that file joined a team, else the default team
    replica when it has; None runs solo (the default, unchanged)."""
    from inbox.app.team_mode import joined_team

    if args.demo:
        return None
    if args.db is not None:
        return Path(args.db) if joined_team(Path(args.db)) else None
    path = team_db_path()
    return path if joined_team(path) else None


def apply_theme(app: object, dark: bool) -> None:
    from PySide6.QtGui import QColor, QPalette
    from PySide6.QtWidgets import QApplication

    assert isinstance(app, QApplication)
    app.setStyle("Fusion")
    if not dark:
        return
    p = QPalette()
    p.setColor(QPalette.ColorRole.Window, QColor("#202124"))
    p.setColor(QPalette.ColorRole.WindowText, QColor("#E8EAED"))
    p.setColor(QPalette.ColorRole.Base, QColor("#17181A"))
    p.setColor(QPalette.ColorRole.AlternateBase, QColor("#24262A"))
    p.setColor(QPalette.ColorRole.Text, QColor("#E8EAED"))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor("#9AA0A6"))
    p.setColor(QPalette.ColorRole.Button, QColor("#2D2F33"))
    p.setColor(QPalette.ColorRole.ButtonText, QColor("#E8EAED"))
    p.setColor(QPalette.ColorRole.Highlight, QColor("#1F6FEB"))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor("#FFFFFF"))
    p.setColor(QPalette.ColorRole.Mid, QColor("#3C4043"))
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor("#2D2F33"))
    p.setColor(QPalette.ColorRole.ToolTipText, QColor("#E8EAED"))
    # Disabled controls must look disabled (a Send button with nothing to send, the views'
    # section headers): dimmed text, as the light palette does by itself.
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6F747A"))
    p.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Button, QColor("#26282B"))
    app.setPalette(p)


def system_prefers_dark(app: object) -> bool:
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication

    theme = os.environ.get("INBOX_THEME", "")
    if theme in ("dark", "light"):
        return theme == "dark"
    assert isinstance(app, QApplication)
    return app.styleHints().colorScheme() == Qt.ColorScheme.Dark


def build_window(
    store: Store,
    *,
    writer: StoreWriter | None = None,
    language: str | None = None,
    dark: bool = False,
    agent: str | None = None,
    after_send: Callable[[], None] | None = None,
    switch_language: Callable[[str], None] | None = None,
    remote_allowed: set[int] | None = None,
    accounts_edited: Callable[[], None] | None = None,
    team: TeamMode | None = None,
    http: httpx.AsyncClient | None = None,
    team_joined: Callable[[Path], None] | None = None,
) -> MainWindow:
    """The main window over ``store`` (reads) and ``writer`` (every change it makes).

    ``after_send`` is called once a reply is in the outbox; ``accounts_edited`` when Settings
    added, changed or removed an account (the running sync follows it); ``team_joined`` when
    Settings signed this solo desktop in to a team (the replica at that path). Without ``writer``
    the window gets one of its own, closed with it. ``http`` is the app's shared client (Settings,
    remote images); without it (a screenshot, a test) Settings gets a client of its own."""
    from PySide6.QtCore import QSettings

    from inbox.app.solo import SoloCommands
    from inbox.app.workspace import Workspace
    from inbox.ports import Commands
    from inbox.replies.canned import context_for
    from inbox.store import avatars
    from inbox.store.analytics import AnalyticsSource
    from inbox.store.canned_store import CannedLibrary, ensure_defaults
    from inbox.team.commands import TeamPortCommands
    from inbox.ui.canned import CannedPicker
    from inbox.ui.canned_manager import CannedManager
    from inbox.ui.dashboard import Dashboard
    from inbox.ui.i18n import Translator
    from inbox.ui.main_window import MainWindow
    from inbox.ui.window_services import WindowServices

    agent = agent or store.setting("agent", "camille")
    language = language or str(QSettings("inbox", "inbox").value("ui/language", "")) or None
    workspace = Workspace(store, agent)  # the queue shows the SLA cached in the store at once
    workspace.http = http  # remote images go through the app's one client
    if remote_allowed is not None:  # remote images allowed per message outlive a language switch
        workspace.remote_allowed = remote_allowed
    ensure_defaults(store)
    tr = Translator(language)

    own_writer = writer is None
    writer = writer or StoreWriter(store)
    commands: Commands = TeamPortCommands(team.repository, queue=team.queue) if team is not None else SoloCommands(writer, workspace)
    # The dashboard reads in a worker thread through a connection of its own (WAL: concurrent
    # readers), so its seconds at a million messages never hold the window's store lock.
    analytics = AnalyticsSource.own_connection(store)
    dashboard: Any
    if team is not None:
        from inbox.app.team_mode import team_error_text
        from inbox.ui.team_dashboard import TeamDashboard

        dashboard = TeamDashboard(team, tr, team_error_text)
    else:
        dashboard = Dashboard(analytics, tr)
    holder: dict[str, QWidget] = {}  # the settings and canned-answer windows, built once

    def open_settings() -> None:
        from inbox.app.http import new_client
        from inbox.app.settings_backend import SettingsBackend
        from inbox.providers.keyring_store import KeyringSecretStore
        from inbox.ui.settings_dialog import SettingsDialog

        dialog = holder.get("settings")
        if dialog is None:
            from inbox.app.team_mode import SoloTeamSignIn, team_error_text
            from inbox.ui.settings_team import TeamTab

            client = http if http is not None else new_client()
            team_backend = team if team is not None else SoloTeamSignIn(
                team_db_path(), KeyringSecretStore(), http, joined=team_joined)
            dialog = SettingsDialog(SettingsBackend(store, KeyringSecretStore(), client), tr, window,
                                    team=TeamTab(team_backend, tr, team_error_text))  # fmt: skip
            if accounts_edited is not None:
                dialog.accounts_changed.connect(accounts_edited)
            dialog.policies_applied.connect(policies_applied)
            window.accounts_shown.connect(dialog.refresh_accounts)  # states the sync reports
            holder["settings"] = dialog
        dialog.show()
        dialog.raise_()

    def policies_applied() -> None:
        # The queue's deadlines were recomputed with the new policies: later refreshes use them
        # too, and the window shows them at once, in the queue and the conversation alike.
        workspace.policies_changed()
        window.refresh()

    def tick() -> Future[int]:
        now = workspace.clock()
        return writer.submit(lambda written: workspace.refresh_sla(now, store=written))

    def open_canned_manager() -> None:
        manager = holder.get("canned") or CannedManager(CannedLibrary(store), tr, window)
        holder["canned"] = manager
        manager.show()

    services = WindowServices(
        agent=agent,
        weighted_length=workspace.weighted_length,
        dark=dark,
        sla_details=workspace.sla_details,
        notices=None if team is not None else workspace.new_notices,  # the server's jobs raise them
        on_tick=None if team is not None else tick,  # the server computes the SLA
        dashboard=dashboard,
        open_settings=open_settings,
        open_canned_manager=open_canned_manager,
        original_source=workspace.original,
        remote_images=workspace,
        switch_language=switch_language,
        avatar=lambda customer_id: avatars.for_customer(store, customer_id),
    )
    window = MainWindow(team.repository if team is not None else store, commands, tr, services)

    def context() -> dict[str, str]:
        conv = window.current_conversation()
        return context_for(
            customer_name=conv.customer_name if conv else "",
            agent_name=agent.capitalize(),
            conversation_number=conv.id if conv else None,
        )

    if after_send is not None:
        window.reply_queued.connect(after_send)
    window.attach_canned(CannedPicker(CannedLibrary(store), tr, context, window))
    window.destroyed.connect(analytics.close)  # a language switch builds a new window and source
    if own_writer:
        window.destroyed.connect(writer.close)
    if team is not None:
        attach_team(window, team, tr)
    return window


def attach_team(window: Any, team: TeamMode, tr: Any) -> None:
    """The window's team pieces: presence (shown, and announced as the agent opens and types),
    refused changes with their way forward, the link and the changes waiting."""
    from inbox.ui.team_panel import TeamPanel, TeamStatus, presence_text

    panel = TeamPanel(team, tr, window)
    status = TeamStatus(team, tr, window)
    window.attach_team(panel, status, lambda cid: presence_text(team.presence_on(cid), tr))
    window.team_status = status
    mine: dict[str, Any] = {"conversation": None, "state": None}

    def opened(conversation_id: int | None) -> None:
        panel.show_conversation(conversation_id)
        if conversation_id == mine["conversation"] and mine["state"] == "replying":
            return  # the same conversation shown again (new data): still replying
        mine.update(conversation=conversation_id, state="viewing" if conversation_id else None)
        team.announce("viewing" if conversation_id else "idle", conversation_id)

    def typed(text: str) -> None:
        conversation_id = mine["conversation"]
        state = "replying" if text.strip() else "viewing"
        if conversation_id is not None and state != mine["state"]:
            mine["state"] = state
            team.announce(state, conversation_id)

    window.opened.append(opened)
    window.composer.draft_changed.connect(typed)
    panel.edit_requested.connect(window.put_in_composer)
    panel.draft_settled.connect(window.clear_composer)
    panel.changed.connect(lambda: window.conversations_changed(frozenset(), frozenset()))
    panel.refresh_refusals()
    opened(window.current_conversation().id if window.current_conversation() else None)


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


def run_app(args: argparse.Namespace) -> int:
    from PySide6.QtWidgets import QApplication

    from inbox.app.http import new_client
    from inbox.ui.event_loop import InboxEventLoop

    team_path = team_store_path(args)
    team: TeamMode | None = None
    http = new_client()  # the process's one client: the shell closes it at quit
    if team_path is not None:
        from inbox.app.team_mode import TeamMode
        from inbox.providers.keyring_store import KeyringSecretStore

        store, demo = Store.open(team_path), False
        team = TeamMode(store, KeyringSecretStore(), http=http)
    else:
        store, demo = choose_store(args)
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Inbox")
    dark = system_prefers_dark(app)
    apply_theme(app, dark)
    shell = Shell(store, dark=dark, demo=demo, team=team, http=http, open_solo=lambda: choose_store(args))
    shell.window.show()
    from inbox.ui.diagnostics import install_dump_on_signal

    diagnostics = install_dump_on_signal(lambda: shell.window)  # kill -USR1: what the window shows, as JSON

    async def main() -> None:
        """Team mode: the replica is kept by the sync core (no provider, SLA or triage runs here);
        solo: the accounts synced here. Settings switches between them without a restart."""
        closed = asyncio.Event()
        app.aboutToQuit.connect(closed.set)
        if shell.team is not None:
            shell.start_team()
        else:
            await shell.start_solo()
        try:
            await closed.wait()
        finally:
            await shell.aclose()

    loop = InboxEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            loop.run_until_complete(main())
    finally:
        shell.writer.close()
        shell.store.close()  # the store open now (Settings may have switched it)
    del diagnostics
    return 0


def screenshot(out: Path, args: argparse.Namespace, *, language: str | None, theme: str, size: tuple[int, int], select: int | None) -> None:
    """Render the main window offscreen to a PNG (docs, checks)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import tempfile

    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    # A screenshot shows the default layout and never changes the agent's remembered one.
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, tempfile.mkdtemp(prefix="inbox-shot-"))
    store, _demo = choose_store(args)
    refresh_all(store)
    app = QApplication.instance() or QApplication([])
    apply_theme(app, theme == "dark")
    writer = StoreWriter(store)
    window = build_window(store, writer=writer, language=language, dark=theme == "dark")
    window.resize(*size)
    window.show()
    if select is not None:
        window.move_selection(select)
    for _ in range(5):
        app.processEvents()
    pixmap = window.grab()
    out.parent.mkdir(parents=True, exist_ok=True)
    if not pixmap.save(str(out)):
        from inbox.errors import InputError

        raise InputError(str(out), "could not write the PNG")
    window.close()
    writer.close()
    store.close()
