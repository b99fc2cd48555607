"""``python -m inbox``: which store to open (the demo, a workspace, a team replica), the Qt
application with its qasync loop and the :class:`~inbox.app.shell.Shell`; screenshots of the window."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from inbox.app.shell import Shell, refresh_all
from inbox.app.theme import apply_theme, system_prefers_dark
from inbox.app.window import build_window
from inbox.cli.paths import default_db_path, demo_db_path, team_db_path
from inbox.store.repository import Store
from inbox.store.writer import StoreWriter

if TYPE_CHECKING:
    from inbox.app.team_mode import TeamMode


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
