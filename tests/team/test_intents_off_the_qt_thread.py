"""Team mode never waits on the file either: while another program holds the replica's write
lock, a change the agent makes is queued on the writer thread, the window keeps processing
events, and the intent lands (and goes to the server) once the lock is released."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from inbox.app.shell import Shell
from inbox.app.team_mode import TeamMode
from inbox.models import Status
from inbox.providers.keyring_store import KeyringSecretStore
from inbox.store.repository import Store
from tests import qt_loop
from tests.team.desktop import until
from tests.team.servers import PASSWORDS, TeamServer

pytestmark = pytest.mark.servers
loop = qt_loop.loop  # the app's qasync loop, as a fixture


def test_a_team_change_waits_for_the_lock_while_the_window_keeps_running(
    loop: asyncio.AbstractEventLoop, tmp_path: Path, team_server: TeamServer, qtbot: object
) -> None:
    path = tmp_path / "marc.db"

    async def main() -> None:
        store = Store.open(path)
        team = TeamMode(store, KeyringSecretStore())
        await team.account.join(team_server.url, "marc", PASSWORDS["marc"])
        shell = Shell(store, dark=False, demo=False, team=team)
        window = shell.window
        qtbot.addWidget(window)  # type: ignore[attr-defined]
        window.show()
        shell.start_team()
        try:
            await until(lambda: team.link_state()[0] == "online", "marc online")
            await until(lambda: window.model.rowCount() == 5, "marc's queue filled from the server")
            window.queue.setCurrentIndex(window.model.index(0))
            conv = window.current_conversation()
            assert conv is not None and conv.status is not Status.SOLVED
            other_program = sqlite3.connect(path, isolation_level=None)
            other_program.execute("BEGIN IMMEDIATE")  # holds the replica's write lock
            other_program.execute("UPDATE team_state SET next_seq = next_seq")
            ticks: list[int] = []
            timer = QTimer(interval=20)
            timer.timeout.connect(lambda: ticks.append(1))
            timer.start()
            try:
                window.change_status(Status.SOLVED)  # returns at once: the intent waits on the writer
                await until(lambda: len(ticks) >= 25, "the window's timers kept firing", limit=10)
                assert team.replica.pending() == [] and team.replica.rejections() == []  # still waiting
                assert store.conversation(conv.id).status is not Status.SOLVED
                window.move_selection(1)  # the window still answers the agent (reads need no lock)
            finally:
                other_program.execute("COMMIT")
                other_program.close()
                timer.stop()
            # Released: the intent is queued, applied to the replica, and accepted by the server.
            await until(lambda: store.conversation(conv.id).status is Status.SOLVED, "the status change landed")
            await until(lambda: team.pending_count() == 0 and not team.refusals(), "the server accepted it")
        finally:
            await team.stop()
        window.close()
        store.close()

    loop.run_until_complete(main())
