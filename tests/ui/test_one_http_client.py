"""The desktop has one HTTP client: the shell makes it, every part of the app uses that very
client (live sync and its providers, Settings, remote images, team mode), and quitting closes it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from PySide6.QtGui import QAction

from inbox.app.shell import Shell
from inbox.app.team_mode import TeamMode
from inbox.secrets import MemorySecretStore
from inbox.store.repository import Store
from inbox.ui.main_window import MainWindow
from inbox.ui.settings_dialog import SettingsDialog


def test_every_part_uses_the_shell_s_client_and_quitting_closes_it(
    tmp_path: Path, qtbot: object, qasync_loop: asyncio.AbstractEventLoop
) -> None:
    store = Store.open(tmp_path / "inbox.db")
    shell = Shell(store, dark=False, demo=False)
    window = shell.window
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    http = shell.http

    async def body() -> None:
        live = await shell.start_sync(MemorySecretStore())
        assert live.http is http
        [action] = [a for a in window.findChildren(QAction) if a.text().startswith("Settings")]
        action.trigger()
        dialog = window.findChild(SettingsDialog)
        assert dialog is not None and dialog._backend.http is http  # type: ignore[attr-defined]
        assert window.services.remote_images.http is http  # type: ignore[attr-defined]
        dialog.close()
        assert not http.is_closed
        await shell.aclose()  # what run_app does at quit
        assert http.is_closed
        assert live.http is http  # the live sync stopped without closing what it does not own

    qasync_loop.run_until_complete(asyncio.wait_for(body(), 30))
    window.close()
    shell.writer.close()
    store.close()


def test_team_mode_uses_the_client_it_is_given_and_leaves_it_to_its_owner(
    tmp_path: Path, qasync_loop: asyncio.AbstractEventLoop
) -> None:
    from inbox.app.http import new_client

    store = Store.open(tmp_path / "team.db")
    http = new_client()
    team = TeamMode(store, MemorySecretStore(), http=http)
    assert team.http is http

    async def body() -> None:
        await team.stop()
        assert not http.is_closed  # the shell closes it, once
        alone = TeamMode(store, MemorySecretStore())
        await alone.stop()
        assert alone.http.is_closed and alone.http is not http  # one of its own: closed by it
        await http.aclose()

    qasync_loop.run_until_complete(body())
    store.close()
