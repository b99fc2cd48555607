"""The real window in team mode (pytest-qt, offscreen, a qasync loop), on a real ``inbox serve``:
a colleague's presence on the row and above the thread, a stale reply stopped with its draft and
the colleague's reply shown, Send anyway, and offline with changes counted in the status bar."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import httpx
import pytest
from PySide6.QtWidgets import QApplication

from inbox.app import Shell
from inbox.models import Status
from inbox.providers.keyring_store import KeyringSecretStore
from inbox.store.repository import Store
from inbox.team.sync import Link
from inbox.team_mode import TeamMode
from inbox.ui.event_loop import InboxEventLoop
from inbox.ui.main_window import MainWindow
from inbox.ui.team_panel import TeamPanel
from tests.team.desktop import Desktop, until
from tests.team.servers import PASSWORDS, TeamServer

pytestmark = pytest.mark.servers


@pytest.fixture()
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    errors: list[dict[str, object]] = []
    ev = InboxEventLoop(qapp)
    ev.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    asyncio.set_event_loop(ev)
    yield ev
    ev.close()
    asyncio.set_event_loop(None)
    assert not errors, errors


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
        assert team.pending_count() == 1
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
        assert status.text() == "Team: offline · 2 changes waiting"
        assert window.repo.conversation(conv.id).status is Status.PENDING
        assert window.repo.conversation(conv.id).assignee == "marc"
        team_server.start()
        team.reconnect()
        await until(lambda: status.text() == "Team: online", "back online, nothing waiting", limit=60)
        assert not window.banner.isVisible()
        await until(lambda: (lea.store.conversation(conv.id).assignee, lea.store.conversation(conv.id).status)
                    == ("marc", Status.PENDING), "lea sees marc's changes")  # fmt: skip

    play(loop, tmp_path, team_server, qtbot, scenario)
