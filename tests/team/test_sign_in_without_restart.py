"""Signing in to a team from Settings while Inbox runs solo switches the open window to the team's
queue (the solo sync stopped, the replica opened, the sync core connected), and signing out goes
back to the solo store: no restart either way. The real Settings team form, a real ``inbox serve``."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from inbox.app.shell import Shell
from inbox.app.team_mode import SoloTeamSignIn, TeamMode, team_error_text
from inbox.cli.paths import team_db_path
from inbox.providers.keyring_store import KeyringSecretStore
from inbox.store.repository import Store
from inbox.team.commands import TeamPortCommands
from inbox.ui.i18n import Translator
from inbox.ui.settings_team import TeamTab
from tests import qt_loop
from tests.team.desktop import until
from tests.team.servers import PASSWORDS, TeamServer

pytestmark = pytest.mark.servers
loop = qt_loop.loop  # the app's qasync loop, as a fixture


def test_signing_in_and_out_in_settings_switches_the_open_window(
    loop: asyncio.AbstractEventLoop, tmp_path: Path, team_server: TeamServer, qtbot: object
) -> None:
    solo_path = tmp_path / "solo.db"
    solo = Store.open(solo_path)
    shell = Shell(solo, dark=False, demo=False, open_solo=lambda: (Store.open(solo_path), False))
    solo_window = shell.window  # (the shell closes the windows it replaces)
    solo_window.show()

    async def form(backend: object, sign_in: bool) -> TeamTab:
        tab = TeamTab(backend, Translator("en"), team_error_text)  # type: ignore[arg-type]
        qtbot.addWidget(tab)  # type: ignore[attr-defined]
        if sign_in:
            tab.url.setText(team_server.url)
            tab.agent.setText("marc")
            tab.password.setText(PASSWORDS["marc"])
            tab.sign_in_button.click()
        else:
            tab.sign_out_button.click()
        assert tab.task is not None
        await tab.task
        return tab

    async def main() -> None:
        await shell.start_solo()
        assert shell.team is None and shell.live is not None
        # Settings → Team in the solo window: the same backend the window builds.
        tab = await form(SoloTeamSignIn(team_db_path(), KeyringSecretStore(), joined=shell.team_joined), True)
        assert tab.status.text().startswith("Signed in: Marc (agent) @ ") and "opening the team queue" in tab.status.text()
        await until(lambda: shell.team is not None and shell.window is not solo_window, "the window switched to team mode")
        team = shell.team
        assert isinstance(team, TeamMode) and shell.live is None  # the solo sync stopped
        window = shell.window
        assert isinstance(window.commands, TeamPortCommands)
        assert window.windowTitle() == "Inbox — marc"
        await until(lambda: team.link_state()[0] == "online", "connected to the server")
        await until(lambda: window.model.rowCount() == 5, "the team's queue shown")
        assert shell.store.where != solo.where  # the replica, its own file
        # Signing out in Settings (team mode's form) goes back to the solo store.
        await form(team, False)
        await until(lambda: shell.team is None and shell.window is not window, "back to solo")
        assert shell.live is not None and Path(str(shell.store.where)) == solo_path
        assert shell.window.model.rowCount() == 0  # the solo store's (empty) queue
        await shell.stop_services()

    loop.run_until_complete(main())
    shell.window.close()
    shell.writer.close()
    shell.store.close()
