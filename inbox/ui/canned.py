"""Canned responses in the window: the keyboard picker for the composer (manager: canned_manager).

The picker (``CannedPicker``) filters as the agent types, Up/Down move, Enter inserts the
response with the conversation's placeholders filled, Esc closes. Placeholders with no value stay
visible (``{order}``) and the preview says so before inserting. Both widgets get their data from
a small Protocol (the store's ``CannedLibrary`` in the app, a list in tests): no SQL here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol

from PySide6.QtCore import (
    QAbstractListModel,
    QEvent,
    QItemSelectionModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from inbox.replies.canned import (
    LANGUAGES,
    CannedResponse,
    expansion,
    search,
)
from inbox.ui.i18n import Translator

Index = QModelIndex | QPersistentModelIndex
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


class CannedSource(Protocol):
    """Where the picker reads responses from."""

    def responses(self) -> Sequence[CannedResponse]: ...


class CannedEditor(CannedSource, Protocol):
    """What the manager needs to change responses; errors are InboxError naming the field."""

    def add(self, title: str, body: str, lang: str, tags: Iterable[str]) -> CannedResponse: ...

    def update(self, response: CannedResponse) -> CannedResponse: ...

    def delete(self, response_id: int) -> None: ...


class CannedListModel(QAbstractListModel):
    """A list of responses: the title (with its language) shown, the response under ``RESPONSE``."""

    RESPONSE = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: list[CannedResponse] = []

    def set_responses(self, rows: Sequence[CannedResponse]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def response(self, row: int) -> CannedResponse | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        item = self.response(index.row()) if index.isValid() else None
        if item is None:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return f"{item.title}   [{item.lang.upper()}]"
        if role == Qt.ItemDataRole.ToolTipRole:
            return item.body
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{item.title}, {LANGUAGE_NAMES.get(item.lang, item.lang)}"
        if role == self.RESPONSE:
            return item
        return None


def language_combo(tr: Translator, with_all: bool) -> QComboBox:
    combo = QComboBox()
    if with_all:
        combo.addItem(tr("All languages"), "")
    for code in LANGUAGES:
        combo.addItem(LANGUAGE_NAMES[code], code)
    return combo


class CannedPicker(QDialog):
    """Pick a canned response from the keyboard; it comes back expanded for the conversation.

    Signals: ``chosen(str)`` with the text to insert (placeholders without a value kept as
    ``{name}``). Open it with :meth:`open_for`; it closes itself after a choice or on Esc.
    """

    chosen = Signal(str)

    def __init__(
        self,
        source: CannedSource,
        tr: Translator,
        context_provider: Callable[[], Mapping[str, str]],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._source = source
        self._tr = tr
        self._context = context_provider
        self._all: list[CannedResponse] = []
        self.setWindowTitle(tr("Canned responses"))
        self.setAccessibleName(tr("Canned responses"))
        self.resize(560, 420)
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.query = QLineEdit()
        self.query.setPlaceholderText(tr("Search canned responses…"))
        self.query.setAccessibleName(tr("Search canned responses…"))
        self.query.setClearButtonEnabled(True)
        self.language = language_combo(tr, with_all=True)
        self.language.setAccessibleName(tr("Language"))
        top.addWidget(self.query, 1)
        top.addWidget(self.language)
        layout.addLayout(top)
        self.model = CannedListModel(self)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setAccessibleName(tr("Canned responses"))
        self.list.setUniformItemSizes(True)
        layout.addWidget(self.list, 3)
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setAccessibleName(tr("Preview"))
        layout.addWidget(self.preview, 2)
        self.missing = QLabel()
        self.missing.setStyleSheet("color: #B45309")
        self.missing.setWordWrap(True)
        layout.addWidget(self.missing)
        hint = QLabel(tr("↑↓ choose · Enter insert · Esc close"))
        hint.setEnabled(False)
        layout.addWidget(hint)
        self.query.textChanged.connect(self._refilter)
        self.language.currentIndexChanged.connect(self._refilter)
        self.list.activated.connect(lambda _index: self.accept_current())
        selection = self.list.selectionModel()
        selection.currentChanged.connect(lambda *_: self._show_preview())
        self.query.installEventFilter(self)
        self.list.installEventFilter(self)

    def open_for(self, lang: str | None = None) -> None:
        """Reload the responses, preselect the conversation's language, show and focus."""
        self._all = list(self._source.responses())
        index = self.language.findData(lang if lang in LANGUAGES else "")
        self.language.blockSignals(True)
        self.language.setCurrentIndex(max(0, index))
        self.language.blockSignals(False)
        self.query.blockSignals(True)
        self.query.clear()
        self.query.blockSignals(False)
        self._refilter()
        self.show()
        self.raise_()
        self.activateWindow()
        self.query.setFocus()

    def current(self) -> CannedResponse | None:
        index = self.list.currentIndex()
        return self.model.response(index.row()) if index.isValid() else None

    def accept_current(self) -> None:
        item = self.current()
        if item is None:
            return
        text = expansion(item.body, self._context()).text
        self.hide()
        self.chosen.emit(text)

    def _refilter(self) -> None:
        lang = self.language.currentData() or None
        self.model.set_responses(search(self._all, self.query.text(), lang))
        if self.model.rowCount():
            self.list.setCurrentIndex(self.model.index(0, 0))
        self._show_preview()

    def _show_preview(self) -> None:
        item = self.current()
        if item is None:
            self.preview.setPlainText(self._tr("No canned response matches"))
            self.missing.clear()
            return
        result = expansion(item.body, self._context())
        self.preview.setPlainText(result.text)
        if result.missing:
            names = ", ".join("{" + n + "}" for n in result.missing)
            self.missing.setText(f"{self._tr('To complete before sending:')} {names}")
        else:
            self.missing.clear()

    def _move(self, step: int) -> None:
        count = self.model.rowCount()
        if not count:
            return
        row = self.list.currentIndex().row()
        row = min(count - 1, max(0, (row if row >= 0 else -step) + step))
        self.list.selectionModel().setCurrentIndex(
            self.model.index(row, 0), QItemSelectionModel.SelectionFlag.ClearAndSelect
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.KeyPress or not isinstance(event, QKeyEvent):
            return super().eventFilter(watched, event)
        key = event.key()
        page = max(1, self.list.height() // max(1, self.list.sizeHintForRow(0)) - 1)
        steps: dict[int, int] = {
            Qt.Key.Key_Down.value: 1,
            Qt.Key.Key_Up.value: -1,
            Qt.Key.Key_PageDown.value: page,
            Qt.Key.Key_PageUp.value: -page,
        }
        if watched is self.query and key in steps:
            self._move(steps[int(key)])
            return True
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept_current()
            return True
        return super().eventFilter(watched, event)
