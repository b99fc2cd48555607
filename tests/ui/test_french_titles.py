"""French all the way: with the interface in French (INBOX_LANG=fr or the live switch), the main
window's title and the title of every dialog it opens are French, not the English ones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer, QUrl
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from inbox.app.demo import build_demo
from inbox.app.shell import Shell
from inbox.app.solo import SoloCommands
from inbox.store.repository import Store
from inbox.ui.canned_manager import CannedManager
from inbox.ui.main_window import MainWindow
from inbox.ui.settings_dialog import SettingsDialog
from inbox.ui.window_services import WindowServices
from tests.ui.conftest import done_now

BUILT = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    build_demo(tmp_path / "demo.db", BUILT)
    s = Store.open(tmp_path / "demo.db")
    yield s
    s.close()


def modal_title(qtbot: QtBot, open_modal: Callable[[], None]) -> str:
    """Open a modal dialog (QInputDialog, QFileDialog), read its title once it is shown, close it."""
    seen: list[str] = []

    def read_and_close() -> None:
        dialog = QApplication.activeModalWidget()
        assert isinstance(dialog, QDialog)
        seen.append(dialog.windowTitle())
        dialog.reject()

    QTimer.singleShot(0, read_and_close)  # runs inside the dialog's own event loop
    open_modal()
    assert len(seen) == 1
    return seen[0]


def action(window: MainWindow, keys: str) -> QAction:
    return next(a for a in window.findChildren(QAction) if a.shortcut().toString() == keys)


def child(window: QWidget, kind: type[QWidget]) -> QWidget:
    found = [w for w in window.findChildren(kind) if w.isVisible()]
    assert len(found) == 1, kind
    return found[0]


def titles(qtbot: QtBot, window: MainWindow, store: Store) -> dict[str, str]:
    """The title of the window and of each dialog the agent can open from it."""
    out = {"main window": window.windowTitle()}
    action(window, "Ctrl+,").trigger()
    out["settings"] = child(window, SettingsDialog).windowTitle()
    action(window, "Ctrl+Shift+K").trigger()
    out["canned manager"] = child(window, CannedManager).windowTitle()
    window.open_canned()
    assert window.canned_picker is not None and window.canned_picker.isVisible()
    out["canned responses"] = window.canned_picker.windowTitle()
    window.show_shortcuts()
    out["keyboard shortcuts"] = child(window, QMessageBox).windowTitle()
    conv = window.current_conversation()
    assert conv is not None
    window._anchor(QUrl(f"inbox:original/{store.messages(conv.id)[0].id}"))
    out["original formatting"] = window.original.windowTitle()
    out["assignee"] = modal_title(qtbot, window.ask_assignee)
    out["tag"] = modal_title(qtbot, window.ask_tag)
    out["merge customers"] = modal_title(qtbot, window.customer.ask_merge)
    out["export CSV"] = modal_title(qtbot, window.dashboard._ask_export)  # type: ignore[union-attr]
    for dialog in window.findChildren(QDialog):
        dialog.close()
    return out


def shown(qtbot: QtBot, shell: Shell) -> MainWindow:
    window = shell.window
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    window.show()
    return window


def test_every_title_is_french_in_french(qtbot: QtBot, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOX_LANG", "en")
    english_window = shown(qtbot, Shell(store, dark=False, demo=True))
    english = titles(qtbot, english_window, store)
    assert english["main window"] == "All open — Inbox — demo workspace"
    english_window.close()

    monkeypatch.setenv("INBOX_LANG", "fr")
    french_window = shown(qtbot, Shell(store, dark=False, demo=True))
    assert french_window.tr_.language == "fr"
    french = titles(qtbot, french_window, store)
    french_window.close()
    assert french["main window"] == "Toutes ouvertes — Inbox — espace de démonstration"
    assert french.keys() == english.keys()
    same = {name: title for name, title in french.items() if title == english[name] or not title}
    assert same == {}, "these titles stay English in French"


def test_the_live_switch_gives_a_french_title(qtbot: QtBot, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INBOX_LANG", "en")
    shell = Shell(store, dark=False, demo=True)
    first = shown(qtbot, shell)
    english = first.windowTitle()
    first.language_action.trigger()
    second = shown(qtbot, shell)
    assert second.tr_.language == "fr"
    assert second.windowTitle() != english
    assert second.windowTitle().startswith("Toutes ouvertes")
    pending = next(i for i in range(second.views.count()) if second.views.item(i).text().startswith("En attente"))
    second.views.setCurrentRow(pending)
    assert second.windowTitle() == "En attente — Inbox — espace de démonstration"
    second.close()


def test_sla_notifications_are_french(qtbot: QtBot, store: Store, solo_commands: Callable[..., SoloCommands]) -> None:
    from datetime import timedelta

    from inbox.app.workspace import Workspace
    from inbox.ui.i18n import Translator

    workspace = Workspace(store, "camille", clock=lambda: BUILT + timedelta(minutes=40))
    workspace.tick_sla()
    window = MainWindow(store, solo_commands(store, clock=workspace.clock), Translator("fr"),
                        WindowServices(agent="camille", clock=workspace.clock, notices=workspace.new_notices,
                                       on_tick=done_now(workspace.tick_sla)))  # fmt: skip
    qtbot.addWidget(window)
    window.slow_tick()
    titles = {title for title, _text, _cid in window.shown_notices}
    assert titles, "the demo has SLA warnings and breaches in its last hour"
    assert all(title.startswith(("SLA dépassé : ", "Alerte SLA : ")) for title in titles), titles
    window.close()
