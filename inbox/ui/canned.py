"""Canned responses in the window: a keyboard picker for the composer and a manager dialog.

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
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListView,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inbox.canned import (
    LANGUAGES,
    PLACEHOLDERS,
    CannedResponse,
    expansion,
    search,
    unknown_placeholders,
    validated,
)
from inbox.errors import InboxError
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


def _language_combo(tr: Translator, with_all: bool) -> QComboBox:
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
        self.language = _language_combo(tr, with_all=True)
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


class CannedManager(QDialog):
    """Add, edit and delete canned responses. Unsaved edits are saved when another response is
    selected; when they cannot be (a field is wrong), the selection stays and says why."""

    def __init__(self, editor: CannedEditor, tr: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._editor = editor
        self._tr = tr
        self._editing: CannedResponse | None = None  # None: a new response
        self._dirty = False
        self._confirm_delete = False
        self.setWindowTitle(tr("Manage canned responses"))
        self.resize(820, 520)
        outer = QHBoxLayout(self)
        left = QVBoxLayout()
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(tr("Search canned responses…"))
        self.filter.setAccessibleName(tr("Search canned responses…"))
        self.filter.setClearButtonEnabled(True)
        self.model = CannedListModel(self)
        self.list = QListView()
        self.list.setModel(self.model)
        self.list.setAccessibleName(tr("Canned responses"))
        self.new_button = QPushButton(tr("New response"))
        left.addWidget(self.filter)
        left.addWidget(self.list, 1)
        left.addWidget(self.new_button)
        outer.addLayout(left, 2)
        right = QVBoxLayout()
        form = QFormLayout()
        self.title = QLineEdit()
        self.lang = _language_combo(tr, with_all=False)
        self.tags = QLineEdit()
        self.tags.setPlaceholderText(tr("comma-separated"))
        self.body = QPlainTextEdit()
        for label, widget in (
            (tr("Title"), self.title),
            (tr("Language"), self.lang),
            (tr("Tags"), self.tags),
            (tr("Text"), self.body),
        ):
            widget.setAccessibleName(label)
            form.addRow(label, widget)
        right.addLayout(form, 1)
        names = "  ".join("{" + n + "}" for n in PLACEHOLDERS)
        help_label = QLabel(f"{tr('Placeholders:')} {names}")
        help_label.setWordWrap(True)
        help_label.setToolTip("\n".join(f"{{{k}}}: {v}" for k, v in PLACEHOLDERS.items()))
        help_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        right.addWidget(help_label)
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName(tr("Message"))
        right.addWidget(self.message)
        buttons = QHBoxLayout()
        self.delete_button = QPushButton(tr("Delete"))
        self.save_button = QPushButton(tr("Save"))
        close = QPushButton(tr("Close"))
        buttons.addWidget(self.delete_button)
        buttons.addStretch(1)
        buttons.addWidget(self.save_button)
        buttons.addWidget(close)
        right.addLayout(buttons)
        outer.addLayout(right, 3)
        self.filter.textChanged.connect(lambda _text: self.reload())
        self.list.selectionModel().currentChanged.connect(self._selected)
        self.new_button.clicked.connect(self.start_new)
        self.save_button.clicked.connect(self.save)
        self.delete_button.clicked.connect(self._delete_clicked)
        close.clicked.connect(self.close)
        self.title.textEdited.connect(self._edited)
        self.tags.textEdited.connect(self._edited)
        self.body.textChanged.connect(self._edited)
        self.lang.currentIndexChanged.connect(self._edited)
        self.reload()
        if self.model.rowCount():
            self.list.setCurrentIndex(self.model.index(0, 0))
        else:
            self.start_new()

    # -- list -----------------------------------------------------------------------------------

    def reload(self, select_id: int | None = None) -> None:
        keep = select_id if select_id is not None else (self._editing.id if self._editing else None)
        self.list.selectionModel().blockSignals(True)
        self.model.set_responses(search(self._editor.responses(), self.filter.text(), None))
        for row in range(self.model.rowCount()):
            item = self.model.response(row)
            if item is not None and item.id == keep:
                self.list.setCurrentIndex(self.model.index(row, 0))
        self.list.selectionModel().blockSignals(False)

    def _selected(self, current: QModelIndex, previous: QModelIndex) -> None:
        item = self.model.response(current.row()) if current.isValid() else None
        if item is None or (self._editing is not None and item.id == self._editing.id):
            return
        if self._dirty and not self.save():
            # keep the agent on the response whose edits could not be saved
            self.list.selectionModel().blockSignals(True)
            self.list.setCurrentIndex(previous)
            self.list.selectionModel().blockSignals(False)
            return
        self._load(item)

    # -- form -----------------------------------------------------------------------------------

    def _load(self, item: CannedResponse | None) -> None:
        self._editing = item
        for widget in (self.title, self.tags, self.body, self.lang):
            widget.blockSignals(True)
        self.title.setText(item.title if item else "")
        self.tags.setText(", ".join(item.tags) if item else "")
        self.body.setPlainText(item.body if item else "")
        lang = (
            item.lang if item else (self._tr.language if self._tr.language in LANGUAGES else "en")
        )
        self.lang.setCurrentIndex(max(0, self.lang.findData(lang)))
        for widget in (self.title, self.tags, self.body, self.lang):
            widget.blockSignals(False)
        self._dirty = False
        self._set_confirm(False)
        self.delete_button.setEnabled(item is not None)
        self._show_warnings()

    def start_new(self) -> None:
        """An empty form; Save adds it as a new response."""
        if self._dirty and not self.save():
            return
        self.list.selectionModel().blockSignals(True)
        self.list.setCurrentIndex(QModelIndex())
        self.list.selectionModel().blockSignals(False)
        self._load(None)
        self.title.setFocus()

    def _edited(self, *_args: object) -> None:
        self._dirty = True
        self._set_confirm(False)
        self._show_warnings()

    def _show_warnings(self, error: str = "") -> None:
        if error:
            self.message.setStyleSheet("color: #C62828")
            self.message.setText(error)
            return
        unknown = unknown_placeholders(self.body.toPlainText())
        self.message.setStyleSheet("color: #B45309")
        if unknown:
            names = ", ".join("{" + n + "}" for n in unknown)
            self.message.setText(f"{self._tr('Not a placeholder the app fills:')} {names}")
        else:
            self.message.clear()

    def save(self) -> bool:
        """Add or update the response in the form; False (and the reason shown) when refused."""
        item_id = self._editing.id if self._editing else 0
        try:
            clean = validated(
                self.title.text(),
                self.body.toPlainText(),
                str(self.lang.currentData()),
                self.tags.text(),
                item_id,
            )
            if self._editing is None:
                saved = self._editor.add(clean.title, clean.body, clean.lang, clean.tags)
            else:
                saved = self._editor.update(clean)
        except InboxError as exc:
            self._show_warnings(str(exc))
            return False
        self._editing = saved
        self._dirty = False
        self.reload(select_id=saved.id)
        self._load(saved)
        return True

    def _set_confirm(self, on: bool) -> None:
        self._confirm_delete = on
        self.delete_button.setText(self._tr("Click again to delete") if on else self._tr("Delete"))

    def _delete_clicked(self) -> None:
        if self._editing is None:
            return
        if not self._confirm_delete:
            self._set_confirm(True)
            return
        try:
            self._editor.delete(self._editing.id)
        except InboxError as exc:
            self._show_warnings(str(exc))
            return
        self._editing = None
        self._dirty = False
        self.reload()
        if self.model.rowCount():
            self._load(self.model.response(0))
            self.list.setCurrentIndex(self.model.index(0, 0))
        else:
            self._load(None)
