"""Composition root of the desktop app: builds the store, services and window, runs qasync."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inbox.cli.paths import default_db_path, demo_db_path
from inbox.live_sync import LiveSync
from inbox.store.repository import Store


def choose_store(args: argparse.Namespace) -> tuple[Store, bool]:
    """The user's store; the demo workspace with ``--demo`` or when nothing is configured yet."""
    from inbox.demo import ensure_demo

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
    language: str | None = None,
    dark: bool = False,
    agent: str | None = None,
    after_send: Callable[[], None] | None = None,
    switch_language: Callable[[str], None] | None = None,
    remote_allowed: set[int] | None = None,
) -> object:
    from PySide6.QtCore import QSettings

    from inbox.canned import context_for
    from inbox.store import avatars
    from inbox.store.analytics import AnalyticsSource
    from inbox.store.canned_store import CannedLibrary, ensure_defaults
    from inbox.ui.canned import CannedPicker
    from inbox.ui.canned_manager import CannedManager
    from inbox.ui.dashboard import Dashboard
    from inbox.ui.i18n import Translator
    from inbox.ui.main_window import MainWindow
    from inbox.workspace import Workspace

    agent = agent or store.setting("agent", "camille")
    language = language or str(QSettings("inbox", "inbox").value("ui/language", "")) or None
    workspace = Workspace(store, agent)  # the queue shows the SLA cached in the store at once
    if remote_allowed is not None:  # remote images allowed per message outlive a language switch
        workspace.remote_allowed = remote_allowed
    ensure_defaults(store)
    tr = Translator(language)

    def send(conversation_id: int, text: str, note: bool, then_status: str, privately: bool) -> None:
        workspace.send_reply(conversation_id, text, note, then_status, privately)
        if after_send is not None:
            after_send()

    def decide(item_id: str, action: str) -> None:
        workspace.decide_reply(item_id, action)
        if after_send is not None:
            after_send()  # the replies held behind it go out now

    # The dashboard reads in a worker thread through a connection of its own (WAL: concurrent
    # readers), so its seconds at a million messages never hold the window's store lock.
    analytics = AnalyticsSource.own_connection(store)
    dashboard = Dashboard(analytics, tr)
    holder: dict[str, object] = {}

    def open_settings() -> None:
        import httpx

        from inbox.providers.keyring_store import KeyringSecretStore
        from inbox.settings_backend import SettingsBackend
        from inbox.ui.settings_dialog import SettingsDialog

        dialog = holder.get("settings")
        if dialog is None:
            http = httpx.AsyncClient(timeout=httpx.Timeout(30.0, connect=10.0))
            dialog = SettingsDialog(SettingsBackend(store, KeyringSecretStore(), http), tr, window)
            holder["settings"] = dialog
        dialog.show()  # type: ignore[attr-defined]
        dialog.raise_()  # type: ignore[attr-defined]

    def open_canned_manager() -> None:
        manager = holder.get("canned") or CannedManager(CannedLibrary(store), tr, window)
        holder["canned"] = manager
        manager.show()  # type: ignore[attr-defined]

    window = MainWindow(
        store,
        tr,
        agent=agent,
        send_reply=send,
        weighted_length=workspace.weighted_length,
        dark=dark,
        sla_details=workspace.sla_details,
        notices=workspace.new_notices,
        on_tick=workspace.tick_sla,
        dashboard=dashboard,
        open_settings=open_settings,
        open_canned_manager=open_canned_manager,
        original_source=workspace.original,
        remote_images=workspace,
        switch_language=switch_language,
        avatar=lambda customer_id: avatars.for_customer(store, customer_id),
        decide_reply=decide,
    )

    def context() -> dict[str, str]:
        conv = window.current_conversation()
        return context_for(
            customer_name=conv.customer_name if conv else "",
            agent_name=agent.capitalize(),
            conversation_number=conv.id if conv else None,
        )

    window.attach_canned(CannedPicker(CannedLibrary(store), tr, context, window))
    window.destroyed.connect(analytics.close)  # a language switch builds a new window and source
    return window


def refresh_all(store: Store) -> int:
    from inbox.workspace import refresh_sla

    return refresh_sla(store, datetime.now(UTC))


async def background_triage(store: Store, shell: Shell, interval: float = 30.0) -> None:
    """Profile pictures, sentiment, priority rules and crisis detection, off the UI thread,
    every ``interval`` seconds."""
    import logging

    import httpx

    from inbox.workspace import fetch_avatars, triage_pass

    loop = asyncio.get_running_loop()
    async with httpx.AsyncClient(timeout=httpx.Timeout(15.0, connect=5.0)) as http:
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
                shell.window.notify("Crisis alert", "A burst of negative public messages: see the dashboard")
            shell.window.model.reload()
            await asyncio.sleep(interval)


class Shell:
    """The window the app shows now (rebuilt when the agent switches language) and the services
    that talk to it through this holder, so a new window gets every update."""

    def __init__(self, store: Store, *, dark: bool, demo: bool) -> None:
        self.store = store
        self.dark = dark
        self.demo = demo
        self.live: LiveSync | None = None
        self.remote_allowed: set[int] = set()  # messages whose remote images the agent allowed
        self.window: Any = self.build(None)

    def build(self, language: str | None) -> Any:
        window: Any = build_window(
            self.store,
            language=language,
            dark=self.dark,
            after_send=self.wake,
            switch_language=self.switch,
            remote_allowed=self.remote_allowed,
        )
        if self.demo:
            window.setWindowTitle("Inbox — demo workspace")
            window.statusBar().showMessage(window.tr_("demo workspace: replies are kept in the outbox, nothing is sent"))
        return window

    def wake(self) -> None:
        if self.live is not None:
            self.live.wake_outbox()

    def switch(self, language: str) -> None:
        old = self.window
        new = self.build(language)
        new.setGeometry(old.geometry())
        new.show()  # before the old one closes, so the app does not quit
        self.window = new
        old.close()
        old.deleteLater()

    def show_accounts(self) -> None:
        self.window.show_accounts()

    def conversations_changed(self, touched: frozenset[int], new: frozenset[int]) -> None:
        self.window.conversations_changed(touched, new)


def run_app(args: argparse.Namespace) -> int:
    from PySide6.QtWidgets import QApplication

    from inbox.ui.event_loop import InboxEventLoop

    store, demo = choose_store(args)
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Inbox")
    dark = system_prefers_dark(app)
    apply_theme(app, dark)
    shell = Shell(store, dark=dark, demo=demo)
    shell.window.show()

    async def main() -> None:
        closed = asyncio.Event()
        app.aboutToQuit.connect(closed.set)  # type: ignore[attr-defined]
        if not demo:
            from inbox.providers.keyring_store import KeyringSecretStore

            shell.live = LiveSync(
                store,
                KeyringSecretStore(),
                on_accounts=shell.show_accounts,
                on_conversations=shell.conversations_changed,
            )
            await shell.live.start()
        loop = asyncio.get_running_loop()
        # Every deadline recomputed once after start (the cached ones show meanwhile).
        await loop.run_in_executor(None, refresh_all, store)
        shell.window.model.reload()
        analysis = loop.create_task(background_triage(store, shell))
        try:
            await closed.wait()
        finally:
            analysis.cancel()
            if shell.live is not None:
                await shell.live.stop()

    loop = InboxEventLoop(app)
    asyncio.set_event_loop(loop)
    try:
        with loop:
            loop.run_until_complete(main())
    finally:
        store.close()
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
    window = build_window(store, language=language, dark=theme == "dark")
    window.resize(*size)  # type: ignore[attr-defined]
    window.show()  # type: ignore[attr-defined]
    if select is not None:
        window.move_selection(select)  # type: ignore[attr-defined]
    for _ in range(5):
        app.processEvents()  # type: ignore[union-attr]
    pixmap = window.grab()  # type: ignore[attr-defined]
    out.parent.mkdir(parents=True, exist_ok=True)
    if not pixmap.save(str(out)):
        from inbox.errors import InputError

        raise InputError(str(out), "could not write the PNG")
    window.close()  # type: ignore[attr-defined]
    store.close()
