"""The real window in team mode (pytest-qt, offscreen, a qasync loop), on a real ``inbox serve``:
a colleague's presence on the row and above the thread, a stale reply stopped with its draft and
the colleague's reply shown, Send anyway, and offline with changes counted in the status bar."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest

from inbox.app.shell import Shell
from inbox.app.team_mode import TeamMode
from inbox.models import Status
from inbox.providers.keyring_store import KeyringSecretStore
from inbox.store.repository import Store
from inbox.team.sync import Link
from inbox.ui.main_window import MainWindow
from inbox.ui.team_panel import TeamPanel
from tests import qt_loop
from tests.team.desktop import Desktop, until
from tests.team.servers import PASSWORDS, TeamServer

pytestmark = pytest.mark.servers
loop = qt_loop.loop  # the app's qasync loop, as a fixture


def play(loop: asyncio.AbstractEventLoop, tmp_path: Path, server: TeamServer, qtbot: object,
         scenario: Callable[[MainWindow, TeamMode, Desktop], Awaitable[None]]) -> None:  # fmt: skip
    """marc in the real window, lea on a headless desktop."""

    async def main() -> None:
        store = Store.open(tmp_path / "marc.db")
        team = TeamMode(store, KeyringSecretStore())
        await team.account.join(server.url, "marc", PASSWORDS["marc"])
        async with httpx.AsyncClient(timeout=10) as http:
            lea = Desktop(tmp_path / "lea.db", "lea", http)
            await lea.join(server.url)
            lea.start()
            shell = Shell(store, dark=False, demo=False, team=team)
            window = shell.window
            qtbot.addWidget(window)  # type: ignore[attr-defined]
            window.show()
            shell.start_team()
            try:
                await until(lambda: team.link_state()[0] == "online", "marc online")
                await until(lambda: lea.sync is not None and lea.sync.link is Link.ONLINE, "lea online")
                await until(lambda: window.model.rowCount() == 5, "marc's queue filled from the server")
                window.queue.setCurrentIndex(window.model.index(0))  # marc opens the first conversation
                await scenario(window, team, lea)
            finally:
                await lea.stop()
                await team.stop()
        # Closed after the last await: closing the last window quits the application's loop.
        window.close()
        store.close()

    loop.run_until_complete(main())


def test_presence_and_a_stale_reply_in_the_window(
    loop: asyncio.AbstractEventLoop, tmp_path: Path, team_server: TeamServer, qtbot: object
) -> None:
    async def scenario(window: MainWindow, team: TeamMode, lea: Desktop) -> None:
        panel = window.team_panel
        assert isinstance(panel, TeamPanel)
        conv = window.current_conversation()
        assert conv is not None
        assert lea.sync is not None
        # lea opens the conversation marc has open: marc sees it on the thread and on the row.
        await lea.sync.announce("viewing", conv.id)
        await until(lambda: panel.presence.isVisible() and panel.presence.text() == "lea is viewing", "lea viewing shown")
        delegate = window.queue.itemDelegate()
        assert delegate.presence is not None and delegate.presence(conv.id) == "lea is viewing"  # type: ignore[attr-defined]
        # marc types: lea's desktop learns he is replying.
        window.composer.editor.setPlainText("We are looking into it")
        await until(lambda: lea.sync.presence_on(conv.id) == [("marc", "replying")], "lea sees marc replying")
        # marc's desktop falls behind (its sync paused) while lea answers first.
        assert team.sync is not None
        await team.sync.stop()
        lea.commands.reply(conv.id, "Your parcel left this morning.")
        await until(lambda: lea.replica.pending_count() == 0, "lea's reply applied")
        window.composer.send_requested.emit("We are looking into it", False, "")
        await until(lambda: team.pending_count() == 1, "marc's reply queued (on the writer thread)")
        team.start()
        await until(lambda: panel.refusal.isVisible(), "marc told his reply was stopped")
        text = panel.refusal_text.text()
        assert "Your parcel left this morning." in text and "We are looking into it" in text
        assert panel.send_anyway.isVisible() and panel.edit.isVisible() and panel.discard.isVisible()
        await until(lambda: any(m.text == "Your parcel left this morning." for m in window.repo.messages(conv.id)),
                    "lea's reply in marc's thread")  # fmt: skip
        assert window.repo.draft(conv.id) == "We are looking into it"
        assert "Your parcel left this morning." in window.thread_view.toPlainText()
        panel.send_anyway.click()
        await until(lambda: team.pending_count() == 0 and not panel.refusal.isVisible(), "sent anyway")
        await until(lambda: any(m.text == "We are looking into it" and m.id > 0 for m in window.repo.messages(conv.id)),
                    "marc's reply applied")  # fmt: skip
        assert window.repo.draft(conv.id) == ""

    play(loop, tmp_path, team_server, qtbot, scenario)


def test_offline_banner_and_changes_waiting_in_the_status_bar(
    loop: asyncio.AbstractEventLoop, tmp_path: Path, team_server: TeamServer, qtbot: object
) -> None:
    async def scenario(window: MainWindow, team: TeamMode, lea: Desktop) -> None:
        status = window.team_status  # type: ignore[attr-defined]
        assert status.text() == "Team: online"
        team_server.stop()
        await until(lambda: team.link_state()[0] == "offline", "marc offline")
        assert window.banner.isVisible() and "Offline" in window.banner.text()
        conv = window.current_conversation()
        assert conv is not None
        window.assign_to_me()
        window.change_status(Status.PENDING)  # (the window moves on to the next conversation)
        await until(lambda: status.text() == "Team: offline · 2 changes waiting", "2 changes waiting (queued by the writer)")
        assert window.repo.conversation(conv.id).status is Status.PENDING
        assert window.repo.conversation(conv.id).assignee == "marc"
        team_server.start()
        team.reconnect()
        await until(lambda: status.text() == "Team: online", "back online, nothing waiting", limit=60)
        assert not window.banner.isVisible()
        await until(lambda: (lea.store.conversation(conv.id).assignee, lea.store.conversation(conv.id).status)
                    == ("marc", Status.PENDING), "lea sees marc's changes")  # fmt: skip

    play(loop, tmp_path, team_server, qtbot, scenario)


def test_settings_team_section_signs_in_and_out(
    loop: asyncio.AbstractEventLoop, tmp_path: Path, team_server: TeamServer, qtbot: object
) -> None:
    from inbox.app.team_mode import SoloTeamSignIn, team_error_text
    from inbox.ui.i18n import Translator
    from inbox.ui.settings_team import TeamTab

    backend = SoloTeamSignIn(tmp_path / "team.db", KeyringSecretStore())
    tab = TeamTab(backend, Translator("en"), team_error_text)
    qtbot.addWidget(tab)  # type: ignore[attr-defined]
    assert tab.status.text() == "Not in a team: Inbox works on this computer only."

    async def attempt(password: str) -> None:
        tab.url.setText(team_server.url)
        tab.agent.setText("marc")
        tab.password.setText(password)
        tab.sign_in_button.click()
        assert tab.task is not None
        await tab.task

    async def main() -> None:
        await attempt("not-the-password")
        assert tab.status.text() == "Not signed in: unknown name or wrong password"
        assert tab.password.text() == ""  # never kept by the form
        await attempt(PASSWORDS["marc"])
        assert tab.status.text().startswith("Signed in: Marc (agent) @ " + team_server.url)
        assert backend.team_state() == (team_server.url, "marc", True)
        tab.sign_out_button.click()
        assert tab.task is not None
        await tab.task
        assert tab.status.text() == "Signed out; drafts kept: 0"
        assert backend.team_state() is None

    loop.run_until_complete(main())


def test_an_unreachable_server_in_settings_is_said_plainly(
    loop: asyncio.AbstractEventLoop, tmp_path: Path, qtbot: object
) -> None:
    from inbox.app.team_mode import SoloTeamSignIn, team_error_text
    from inbox.ui.i18n import Translator
    from inbox.ui.settings_team import TeamTab
    from tests.server.conftest import free_port

    tab = TeamTab(SoloTeamSignIn(tmp_path / "team.db", KeyringSecretStore()), Translator("en"), team_error_text)
    qtbot.addWidget(tab)  # type: ignore[attr-defined]
    url = f"http://127.0.0.1:{free_port()}"

    async def main() -> None:
        tab.url.setText(url)
        tab.agent.setText("marc")
        tab.password.setText("whatever-password")
        tab.sign_in_button.click()
        assert tab.task is not None
        await tab.task

    loop.run_until_complete(main())
    assert tab.status.text().startswith(f"Not signed in: the team server {url} cannot be reached")


def test_the_dashboard_shows_the_servers_figures_and_reassigns(
    loop: asyncio.AbstractEventLoop, tmp_path: Path, team_server: TeamServer, qtbot: object
) -> None:
    import psycopg

    from inbox.app.team_mode import team_error_text
    from inbox.ui.i18n import Translator
    from inbox.ui.team_dashboard import TeamDashboard

    with psycopg.connect(team_server.dsn, autocommit=True) as conn:
        conn.execute("UPDATE conversations SET sla_state = 'warning', assignee = 'marc' WHERE id = 2")

    async def main() -> None:
        store = Store.open(tmp_path / "lea.db")
        team = TeamMode(store, KeyringSecretStore())
        await team.account.join(team_server.url, "lea", PASSWORDS["lea"])
        team.start()
        try:
            await until(lambda: team.link_state()[0] == "online", "lea online")
            board = TeamDashboard(team, Translator("en"), team_error_text)
            qtbot.addWidget(board)  # type: ignore[attr-defined]
            board.refresh()
            await until(lambda: board.agents.rowCount() == 3, "figures shown")
            rows = {board.agents.item(r, 0).text(): board.agents.item(r, 1).text() for r in range(3)}
            assert rows == {"Lea": "0", "Marc": "1", "Yanis": "0"}
            assert board.at_risk.rowCount() == 1 and board.at_risk.item(0, 0).text() == "2"
            assert {"lea", "marc", "yanis"} <= set(team.repository.agent_names())  # for the Shift+A picker
            board.at_risk.setCurrentCell(0, 0)
            board.assignee.setCurrentIndex(board.assignee.findData("yanis"))
            board.reassign_selected()
            await until(lambda: team.replica.intent(1) is not None and team.pending_count() == 0, "reassignment answered")
            assert team.refusals() == []
            with psycopg.connect(team_server.dsn) as conn:
                assert conn.execute("SELECT assignee FROM conversations WHERE id = 2").fetchone() == ("yanis",)
        finally:
            await team.stop()
            store.close()

    loop.run_until_complete(main())


def test_signing_out_in_the_window_empties_the_queue_and_keeps_the_draft(
    loop: asyncio.AbstractEventLoop, tmp_path: Path, team_server: TeamServer, qtbot: object
) -> None:
    from inbox.app.team_mode import team_error_text
    from inbox.ui.i18n import Translator
    from inbox.ui.settings_team import TeamTab

    async def scenario(window: MainWindow, team: TeamMode, lea: Desktop) -> None:
        conv = window.current_conversation()
        assert conv is not None
        window.composer.editor.setPlainText("a reply I have not sent")
        tab = TeamTab(team, Translator("en"), team_error_text)
        qtbot.addWidget(tab)  # type: ignore[attr-defined]
        assert tab.status.text() == f"marc @ {team_server.url}: signed in"
        window.open_conversation(window.model.conversation(1).id)  # the draft is saved on leaving it
        tab.sign_out_button.click()
        assert tab.task is not None
        await tab.task
        assert tab.status.text() == "Signed out; drafts kept: 1"
        assert window.model.rowCount() == 0
        assert window.current_conversation() is None
        assert window.banner.isVisible() and "Signed out" in window.banner.text()
        assert team.replica.kept_drafts() == {conv.id: "a reply I have not sent"}

    play(loop, tmp_path, team_server, qtbot, scenario)


def test_team_words_passed_to_tr_through_variables_have_their_french() -> None:
    """What refused and the link's states reach ``tr()`` from tables, out of the catalogue test's sight."""
    from inbox.ui.i18n import Translator
    from inbox.ui.team_panel import KIND_LABELS

    french = Translator("fr")
    words = {*KIND_LABELS.values(), *(link.value for link in Link)}
    assert [w for w in sorted(words) if french(w) == w and w not in ("Agents",)] == []
