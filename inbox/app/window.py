"""The main window put together for a store: its ports (solo or team), the workspace's services,
Settings, canned responses, and in team mode its presence and refusal pieces."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any

from inbox.cli.paths import team_db_path
from inbox.store.repository import Store
from inbox.store.writer import StoreWriter

if TYPE_CHECKING:
    import httpx
    from PySide6.QtWidgets import QWidget

    from inbox.app.team_mode import TeamMode
    from inbox.ui.i18n import Translator
    from inbox.ui.main_window import MainWindow


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
        # The queue's deadlines were recomputed with the new policies (every later refresh reads
        # them from the store too): the window shows them at once, queue and conversation alike.
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


def attach_team(window: MainWindow, team: TeamMode, tr: Translator) -> None:
    """The window's team pieces: presence (shown, and announced as the agent opens and types),
    refused changes with their way forward, the link and the changes waiting."""
    from inbox.ui.team_panel import TeamPanel, TeamStatus, presence_text

    panel = TeamPanel(team, tr, window)
    status = TeamStatus(team, tr, window)
    window.attach_team(panel, status, lambda cid: presence_text(team.presence_on(cid), tr))
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
    current = window.current_conversation()
    opened(current.id if current is not None else None)
