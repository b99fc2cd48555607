"""Keyboard first: the main window's single-key shortcuts (j/k move, r reply, e solve ... the
table in ``inbox.ui.shortcuts``), the tabs' Ctrl+1 / Ctrl+2, and the row of actions beside the
tabs (canned responses, settings, the language), each naming its keys.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QShortcut
from PySide6.QtWidgets import QLineEdit, QMessageBox, QToolBar

from inbox.models import Status
from inbox.ui.shortcuts import SHORTCUTS

if TYPE_CHECKING:  # the window calls these while it builds itself
    from inbox.ui.main_window import MainWindow


def build_toolbar(window: MainWindow) -> QAction:
    """One row to move around: the Queue and Dashboard tabs, which name their shortcuts
    (Ctrl+1, Ctrl+2), and on the same row's right the canned responses, the settings and
    the language (its action returned)."""
    tabs, tr = window.tabs, window.tr_
    for index, keys in enumerate(("Ctrl+1", "Ctrl+2")[: tabs.count()]):
        tabs.setTabText(index, f"{tabs.tabText(index)}  ({keys})")
        go = QAction(tabs.tabText(index), window)
        go.setShortcut(QKeySequence(keys))
        go.triggered.connect(lambda _checked=False, i=index: tabs.setCurrentIndex(i))
        window.addAction(go)  # the shortcut works wherever the focus is in the window
    bar = QToolBar(tr("Views"))
    bar.setObjectName("main-toolbar")
    entries: list[tuple[str, str, Callable[[], None] | None]] = [
        (tr("Canned responses"), "Ctrl+Shift+K", window.services.open_canned_manager),
        (tr("Settings"), "Ctrl+,", window.services.open_settings),
    ]
    for label, keys, slot in entries:
        if slot is None:
            continue
        action = QAction(f"{label}  ({keys})", window)
        action.setShortcut(QKeySequence(keys))
        action.triggered.connect(slot)
        bar.addAction(action)
    other = "en" if tr.language == "fr" else "fr"
    language = QAction("English" if other == "en" else "Français", window)
    language.setToolTip(tr("Switch the interface language"))
    language.triggered.connect(lambda: window.switch_language(other))
    bar.addAction(language)
    tabs.setCornerWidget(bar, Qt.Corner.TopRightCorner)
    return language


def install_shortcuts(window: MainWindow) -> None:
    """The single keys work anywhere in the window except while the agent types (the search
    field, the composer); Escape always goes back to the queue."""

    def typing() -> bool:
        focus = window.focusWidget()
        return isinstance(focus, QLineEdit) or focus is window.composer.editor

    def key(seq: str, fn: Callable[[], None]) -> None:
        def pressed() -> None:
            if not typing():
                window.open_pending()  # a key acts on the row selected, opened if it waits to be
                fn()

        sc = QShortcut(QKeySequence(seq), window)
        sc.setContext(Qt.ShortcutContext.WindowShortcut)
        sc.activated.connect(pressed)

    key("j", lambda: window.move_selection(1))
    key("k", lambda: window.move_selection(-1))
    key("Return", window.thread_view.setFocus)
    key("r", window.focus_reply)
    key("n", window.focus_note)
    key("e", lambda: window.change_status(Status.SOLVED))
    key("p", lambda: window.change_status(Status.PENDING))
    key("o", lambda: window.change_status(Status.OPEN))
    key("a", window.assign_to_me)
    key("Shift+A", window.ask_assignee)
    key("t", window.ask_tag)
    key("!", window.raise_priority)
    key("/", window.search.setFocus)
    key("?", window.show_shortcuts)
    key("m", window.toggle_mute)
    esc = QShortcut(QKeySequence("Escape"), window)
    esc.activated.connect(window.queue.setFocus)


def show_shortcuts(window: MainWindow) -> None:
    """The ? box: every shortcut, in the window's language."""
    fr = window.tr_.language == "fr"
    rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{f if fr else e}</td></tr>" for k, e, f in SHORTCUTS)
    box = QMessageBox(window)
    box.setWindowTitle(window.tr_("Keyboard shortcuts"))
    box.setText(f"<table>{rows}</table>")
    box.open()
