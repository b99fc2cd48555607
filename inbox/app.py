"""Composition root of the desktop app: builds the store, services and window, runs qasync."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

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
) -> object:
    from inbox.ui.i18n import Translator
    from inbox.ui.main_window import MainWindow
    from inbox.workspace import Workspace

    agent = agent or store.setting("agent", "camille")
    workspace = Workspace(store, agent)
    workspace.refresh_sla(datetime.now(UTC))
    tr = Translator(language)

    def send(conversation_id: int, text: str, note: bool, then_status: str) -> None:
        workspace.send_reply(conversation_id, text, note, then_status)
        if after_send is not None:
            after_send()

    return MainWindow(
        store,
        tr,
        agent=agent,
        send_reply=send,
        weighted_length=workspace.weighted_length,
        dark=dark,
        sla_details=workspace.sla_details,
        notices=workspace.new_notices,
        on_tick=workspace.tick_sla,
    )


def run_app(args: argparse.Namespace) -> int:
    import qasync
    from PySide6.QtWidgets import QApplication

    store, demo = choose_store(args)
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("Inbox")
    dark = system_prefers_dark(app)
    apply_theme(app, dark)
    live: LiveSync | None = None
    window = build_window(store, dark=dark, after_send=lambda: live.wake_outbox() if live else None)
    if demo:
        window.setWindowTitle("Inbox — demo workspace")  # type: ignore[attr-defined]
        window.statusBar().showMessage(  # type: ignore[attr-defined]
            window.tr_("demo workspace: replies are kept in the outbox, nothing is sent")  # type: ignore[attr-defined]
        )
    window.show()  # type: ignore[attr-defined]

    async def main() -> None:
        nonlocal live
        closed = asyncio.Event()
        app.aboutToQuit.connect(closed.set)  # type: ignore[attr-defined]
        if not demo:
            from inbox.providers.keyring_store import KeyringSecretStore

            live = LiveSync(
                store,
                KeyringSecretStore(),
                on_accounts=window.show_accounts,  # type: ignore[attr-defined]
                on_conversations=window.conversations_changed,  # type: ignore[attr-defined]
            )
            await live.start()
        try:
            await closed.wait()
        finally:
            if live is not None:
                await live.stop()

    loop = qasync.QEventLoop(app)
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
    from PySide6.QtWidgets import QApplication

    store, _demo = choose_store(args)
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
