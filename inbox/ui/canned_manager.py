"""The manager of canned responses: list and search them, add, edit and delete.

Unsaved edits are saved when another response is selected; a field that is wrong keeps the
agent on the response and says why. Deleting takes a second click. No SQL: the data comes
through ``inbox.ui.canned.CannedEditor``.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import (
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

from inbox.errors import InboxError
from inbox.replies.canned import (
    LANGUAGES,
    PLACEHOLDERS,
    CannedResponse,
    search,
    unknown_placeholders,
    validated,
)
from inbox.ui.canned import CannedEditor, CannedListModel, language_combo
from inbox.ui.i18n import Translator


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
        self.lang = language_combo(tr, with_all=False)
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
