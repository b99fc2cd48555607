"""The composer: answers on the conversation's channel and surface, with that surface's limits.

Signals: ``send_requested(str text, bool note, str then_status)``; ``draft_changed(str)``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from PySide6.QtCore import Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from inbox.models import Conversation, Surface
from inbox.ui.i18n import Translator
from inbox.ui.text import countdown

X_LIMIT = 280
MESSENGER_WINDOW = timedelta(hours=24)


class Composer(QWidget):
    send_requested = Signal(str, bool, str)
    draft_changed = Signal(str)

    def __init__(self, tr: Translator, weighted_length: Callable[[str], int] = len) -> None:
        super().__init__()
        self._tr = tr
        self._weighted = weighted_length
        self._conv: Conversation | None = None
        self._last_inbound: datetime | None = None
        self._now = datetime.now().astimezone()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        top = QHBoxLayout()
        self.surface = QLabel()
        self.limit = QLabel()
        self.note = QCheckBox(tr("Private note (only the team sees it)"))
        self.note.toggled.connect(self._update_limits)
        self.private = QCheckBox(tr("Reply privately"))
        self.private.setToolTip(tr("Move a public post to a direct message (X) or answer a comment in Messenger"))
        self.private.toggled.connect(self._update_limits)
        top.addWidget(self.surface)
        top.addStretch(1)
        top.addWidget(self.limit)
        top.addWidget(self.private)
        top.addWidget(self.note)
        layout.addLayout(top)
        self.editor = QPlainTextEdit()
        self.editor.setPlaceholderText(tr("Write a reply…") + "  (Ctrl+Enter)")
        self.editor.setAccessibleName(tr("Reply"))
        self.editor.setMaximumHeight(130)
        self.editor.textChanged.connect(self._changed)
        layout.addWidget(self.editor)
        buttons = QHBoxLayout()
        self.send = QPushButton(tr("Send") + "  Ctrl+Enter")
        self.send_pending = QPushButton(tr("Send and set pending") + "  Ctrl+Shift+P")
        self.send_solved = QPushButton(tr("Send and solve") + "  Ctrl+Shift+S")
        self.send.clicked.connect(lambda: self._send(""))
        self.send_pending.clicked.connect(lambda: self._send("pending"))
        self.send_solved.clicked.connect(lambda: self._send("solved"))
        buttons.addStretch(1)
        for b in (self.send_pending, self.send_solved, self.send):
            buttons.addWidget(b)
        layout.addLayout(buttons)
        QShortcut(QKeySequence("Ctrl+Return"), self.editor).activated.connect(lambda: self._send(""))
        QShortcut(QKeySequence("Ctrl+Enter"), self.editor).activated.connect(lambda: self._send(""))
        QShortcut(QKeySequence("Ctrl+Shift+P"), self.editor).activated.connect(lambda: self._send("pending"))
        QShortcut(QKeySequence("Ctrl+Shift+S"), self.editor).activated.connect(lambda: self._send("solved"))

    def set_conversation(self, conv: Conversation | None, draft: str, last_inbound: datetime | None, now: datetime) -> None:
        self._conv = conv
        self._last_inbound = last_inbound
        self._now = now
        self.editor.blockSignals(True)
        self.editor.setPlainText(draft)
        self.editor.blockSignals(False)
        self.note.setChecked(False)
        self.private.setChecked(False)
        self.private.setVisible(conv is not None and conv.surface in (Surface.MENTION, Surface.COMMENT))
        self.setEnabled(conv is not None)
        self._update_limits()

    def update_conversation(self, conv: Conversation, last_inbound: datetime | None, now: datetime) -> None:
        """The open conversation changed (a new message, a status): its limits follow, while what
        the agent is writing, where the cursor is and the note or private choice stay."""
        self._conv = conv
        self._last_inbound = last_inbound
        self._now = now
        self.private.setVisible(conv.surface in (Surface.MENTION, Surface.COMMENT))
        self._update_limits()

    def tick(self, now: datetime) -> None:
        self._now = now
        self._update_limits()

    def surface_label(self) -> str:
        if self._conv is None or self._conv.surface is None:
            return ""
        if self.private.isChecked() and self._conv.surface is Surface.MENTION:
            return self._tr("Reply by DM")
        if self.private.isChecked() and self._conv.surface is Surface.COMMENT:
            return self._tr("Reply on Messenger")
        return {
            Surface.MENTION: self._tr("Reply as public post"),
            Surface.DM: self._tr("Reply by DM"),
            Surface.MESSENGER: self._tr("Reply on Messenger"),
            Surface.COMMENT: self._tr("Reply to comment"),
            Surface.EMAIL: self._tr("Reply by email"),
            Surface.FORM: self._tr("Reply by email"),
        }.get(self._conv.surface, "")

    def _update_limits(self) -> None:
        self.surface.setText(self._tr("Note") if self.note.isChecked() else self.surface_label())
        text = self.editor.toPlainText()
        conv = self._conv
        self.limit.setStyleSheet("")
        allowed = bool(text.strip())
        if conv is None or self.note.isChecked():
            self.limit.clear()
        elif conv.surface is Surface.MENTION and not self.private.isChecked():
            left = X_LIMIT - self._weighted(text)
            self.limit.setText(f"{left} {self._tr('characters left')}")
            if left < 0:
                self.limit.setStyleSheet("color: #C62828; font-weight: bold")
                allowed = False
        elif conv.surface is Surface.MESSENGER and self._last_inbound is not None:
            remaining = (self._last_inbound + MESSENGER_WINDOW - self._now).total_seconds()
            if remaining > 0:
                self.limit.setText(f"{self._tr('Messenger window closes in')} {countdown(remaining)}")
                if remaining < 3600:
                    self.limit.setStyleSheet("color: #E08A00; font-weight: bold")
            else:
                self.limit.setText(self._tr("Messenger window closed: the customer must write first"))
                self.limit.setStyleSheet("color: #C62828; font-weight: bold")
                allowed = False
        else:
            self.limit.clear()
        for b in (self.send, self.send_pending, self.send_solved):
            b.setEnabled(allowed)

    def _changed(self) -> None:
        self._update_limits()
        self.draft_changed.emit(self.editor.toPlainText())

    def _send(self, then_status: str) -> None:
        if not self.send.isEnabled():
            return
        text = self.editor.toPlainText().strip()
        if not text:
            return
        self.send_requested.emit(text, self.note.isChecked(), then_status)
        self.editor.clear()
