"""The window never waits on a write: while another program holds the store's write lock, a
status change waits on the writer thread, the window keeps processing events, and the change
lands once the lock is released."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer

from inbox.app.demo import build_demo
from inbox.app.solo import SoloCommands
from inbox.app.workspace import Workspace
from inbox.models import Status
from inbox.store.repository import Store
from inbox.store.writer import StoreWriter
from inbox.ui.i18n import Translator
from inbox.ui.main_window import MainWindow
from inbox.ui.window_services import WindowServices

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture()
def path(tmp_path: Path) -> Path:
    build_demo(tmp_path / "demo.db", NOW)
    return tmp_path / "demo.db"


@pytest.fixture()
def window(qtbot: object, path: Path) -> Iterator[tuple[MainWindow, Store]]:
    store = Store.open(path)
    writer = StoreWriter(store)
    w = MainWindow(store, SoloCommands(writer, Workspace(store, "camille", clock=lambda: NOW)),
                   Translator("en"), WindowServices(agent="camille", clock=lambda: NOW))  # fmt: skip
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.show()
    yield w, store
    w.close()
    writer.close()
    store.close()


def test_a_status_change_waits_for_the_lock_while_the_window_keeps_running(
    qtbot: object, path: Path, window: tuple[MainWindow, Store]
) -> None:
    bot = qtbot  # type: ignore[assignment]
    w, store = window
    conversation = w.current_conversation()
    assert conversation is not None and conversation.status is not Status.SOLVED
    other_program = sqlite3.connect(path, isolation_level=None)
    other_program.execute("BEGIN IMMEDIATE")  # holds the write lock
    other_program.execute("UPDATE settings SET value = value")
    ticks: list[int] = []
    timer = QTimer(interval=20)
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start()
    try:
        w.change_status(Status.SOLVED)  # returns at once: the write waits on the writer thread
        bot.waitUntil(lambda: len(ticks) >= 25)  # type: ignore[attr-defined]  # the event loop runs
        assert store.conversation(conversation.id).status is not Status.SOLVED  # still waiting
        w.move_selection(1)  # the window still answers the agent (reads need no write lock)
    finally:
        other_program.execute("COMMIT")
        other_program.close()
    bot.waitUntil(lambda: store.conversation(conversation.id).status is Status.SOLVED)  # type: ignore[attr-defined]
    assert store.events(conversation.id)[-1].kind.value == "status"
    timer.stop()
