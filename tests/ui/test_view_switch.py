"""One way to move between the queue and the dashboard: the tabs, which name their shortcuts;
the row above them no longer repeats them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QToolBar
from pytestqt.qtbot import QtBot

from inbox.app.demo import build_demo
from inbox.app.window import build_window
from inbox.store.repository import Store
from inbox.ui.main_window import MainWindow


@pytest.fixture()
def window(qtbot: QtBot, tmp_path: Path) -> Iterator[MainWindow]:
    build_demo(tmp_path / "demo.db", datetime(2026, 11, 23, 15, 0, tzinfo=UTC))
    store = Store.open(tmp_path / "demo.db")
    w = build_window(store, language="en")
    assert isinstance(w, MainWindow)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()
    store.close()


def test_the_tabs_are_the_one_way_between_views_and_show_their_shortcuts(qtbot: QtBot, window: MainWindow) -> None:
    assert [window.tabs.tabText(i) for i in range(window.tabs.count())] == ["Queue  (Ctrl+1)", "Dashboard  (Ctrl+2)"]
    bars = window.findChildren(QToolBar)
    texts = [a.text() for bar in bars for a in bar.actions()]
    assert not any(t.startswith(("Queue", "Dashboard")) for t in texts), texts
    assert any(t.startswith("Settings") for t in texts) and any(t.startswith("Canned responses") for t in texts)
    # the remaining actions sit on the tabs' row: no row of their own above it
    assert all(bar.parent() is not window for bar in bars)
    window.queue.setFocus()
    qtbot.keyClick(window.queue, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentWidget() is window.dashboard
    qtbot.keyClick(window.tabs.currentWidget(), Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.tabs.currentIndex() == 0
