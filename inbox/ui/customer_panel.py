"""The customer panel: who this is on every channel, CRM number, notes, suggestions, history.

Signals: ``open_conversation(int)`` when the agent picks a past conversation.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from inbox.ports import Commands, ConversationReads
from inbox.ui.i18n import Translator
from inbox.ui.icons import icon
from inbox.ui.text import one_line


class CustomerPanel(QWidget):
    """Signals: ``open_conversation(int)``, ``customer_changed()`` once a merge or a suggestion
    the agent resolved has landed."""

    open_conversation = Signal(int)
    customer_changed = Signal()
    _landed = Signal(object, int)  # a command's future, the customer to show then

    def __init__(
        self,
        repo: ConversationReads,
        commands: Commands,
        tr: Translator,
        avatar: Callable[[int], Path | None] | None = None,
    ) -> None:
        super().__init__()
        self._repo = repo
        self._commands = commands
        self._landed.connect(self._command_landed)
        self._avatar = avatar
        self._tr = tr
        self._customer_id: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        self.picture = QLabel()
        self.picture.setFixedSize(56, 56)
        self.picture.setAccessibleName(tr("Profile picture"))
        self.picture.hide()
        self.name = QLabel()
        self.name.setTextFormat(Qt.TextFormat.PlainText)
        font = self.name.font()
        font.setPointSizeF(font.pointSizeF() * 1.25)
        font.setBold(True)
        self.name.setFont(font)
        self.name.setWordWrap(True)
        self.crm = QLabel()
        self.crm.setTextFormat(Qt.TextFormat.PlainText)
        self.notes = QLabel()
        self.notes.setWordWrap(True)
        self.notes.setTextFormat(Qt.TextFormat.PlainText)
        self.identities = QListWidget()
        self.identities.setAccessibleName(tr("Identities"))
        self.identities.setMaximumHeight(120)
        self.suggestions = QListWidget()
        self.suggestions.setAccessibleName(tr("Suggested links"))
        self.suggestions.setMaximumHeight(90)
        self.accept = QPushButton(tr("Accept"))
        self.reject = QPushButton(tr("Reject"))
        self.accept.clicked.connect(lambda: self._resolve(True))
        self.reject.clicked.connect(lambda: self._resolve(False))
        self.history = QListWidget()
        self.history.setAccessibleName(tr("History"))
        for lst in (self.identities, self.suggestions, self.history):
            lst.setWordWrap(True)
            lst.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.history.itemActivated.connect(self._activated)
        self.history.itemClicked.connect(self._activated)
        self.identities_label = QLabel(tr("Identities"))
        self.suggestions_label = QLabel(tr("Suggested links"))
        self.history_label = QLabel(tr("History"))
        head = QHBoxLayout()
        head.addWidget(self.picture)
        head.addWidget(self.name, 1)
        layout.addLayout(head)
        for w in (self.crm, self.notes, self.identities_label, self.identities, self.suggestions_label, self.suggestions):
            layout.addWidget(w)
        buttons = QHBoxLayout()
        buttons.addWidget(self.accept)
        buttons.addWidget(self.reject)
        layout.addLayout(buttons)
        layout.addWidget(self.history_label)
        layout.addWidget(self.history, 1)
        self.merge = QPushButton(tr("Merge into…"))
        self.merge.setAccessibleName(tr("Merge into…"))
        self.merge.clicked.connect(self.ask_merge)
        layout.addWidget(self.merge)
        self.show_customer(None)

    def show_customer(self, customer_id: int | None, current_conversation: int | None = None) -> None:
        self._customer_id = customer_id
        self.identities.clear()
        self.history.clear()
        self.suggestions.clear()
        if customer_id is None:
            self.picture.hide()
            self.name.setText(self._tr("no customer"))
            self.crm.clear()
            self.notes.clear()
            self._toggle_suggestions(False)
            return
        customer = self._repo.customer(customer_id)
        picture = self._avatar(customer_id) if self._avatar else None
        pixmap = QPixmap(str(picture)) if picture is not None else QPixmap()
        self.picture.setVisible(not pixmap.isNull())
        if not pixmap.isNull():
            self.picture.setPixmap(pixmap.scaled(56, 56, Qt.AspectRatioMode.KeepAspectRatio,
                                                 Qt.TransformationMode.SmoothTransformation))
        self.name.setText(one_line(customer.display_name, 80) + ("  ★ VIP" if customer.vip else ""))
        self.crm.setText(f"{self._tr('CRM number')}: {customer.crm_number or '—'}")
        self.notes.setText(one_line(customer.notes, 400))
        self.notes.setVisible(bool(customer.notes))
        for ident in self._repo.identities(customer_id):
            text = ident.handle or ident.display_name or ident.key
            if ident.kind.value == "facebook" and not ident.handle:
                text = f"{ident.display_name or 'Facebook'} (id {ident.key})"
            if ident.followers:
                text += f"   ({ident.followers:,} {self._tr('followers')})".replace(",", " ")
            item = QListWidgetItem(icon(_identity_icon(ident.kind.value)), one_line(text, 80))
            self.identities.addItem(item)
        for s in self._repo.suggestions(customer_id):
            who = s.identity.handle or s.identity.display_name or s.identity.key
            item = QListWidgetItem(
                one_line(
                    f"{s.identity.kind.value} {who} → #{s.customer_id} {s.customer_name} ({reason_text(s.reason, self._tr)})",
                    140,
                )
            )
            item.setData(Qt.ItemDataRole.UserRole, s.id)
            self.suggestions.addItem(item)
        self._toggle_suggestions(self.suggestions.count() > 0)
        if self.suggestions.count():
            self.suggestions.setCurrentRow(0)
        for conv in self._repo.customer_conversations(customer_id):
            marker = "▶ " if conv.id == current_conversation else ""
            sla = f" · SLA {self._tr(conv.sla_state)}" if conv.sla_state in ("met", "breached", "warning") else ""
            text = f"{marker}{conv.last_message_at:%d/%m} · {self._tr(conv.status.value)}{sla} · {one_line(conv.subject, 60)}"
            item = QListWidgetItem(icon(conv.channel.value), text)
            item.setData(Qt.ItemDataRole.UserRole, conv.id)
            self.history.addItem(item)

    def ask_merge(self) -> None:
        """Merge this customer into another one (by number): every identity and conversation is kept."""
        if self._customer_id is None:
            return
        target, ok = QInputDialog.getInt(self, self._tr("Merge into…"), self._tr("Customer"), 1, 1)
        if ok:
            self.merge_into(target)

    def merge_into(self, target: int) -> None:
        if self._customer_id is None or target == self._customer_id:
            return
        self._follow(self._commands.merge_customers(target, self._customer_id), target)

    def _follow(self, pending: Future[None], customer_id: int) -> None:
        def landed(done: Future[None]) -> None:
            with contextlib.suppress(RuntimeError):  # the panel was deleted meanwhile
                self._landed.emit(done, customer_id)

        pending.add_done_callback(landed)

    def _command_landed(self, done: Future[None], customer_id: int) -> None:
        if done.exception() is None:
            self.show_customer(customer_id)
            self.customer_changed.emit()

    def _toggle_suggestions(self, visible: bool) -> None:
        for w in (self.suggestions_label, self.suggestions, self.accept, self.reject):
            w.setVisible(visible)

    def _resolve(self, accept: bool) -> None:
        item = self.suggestions.currentItem()
        if item is None:
            return
        if self._customer_id is not None:
            suggestion = int(item.data(Qt.ItemDataRole.UserRole))
            self._follow(self._commands.resolve_suggestion(suggestion, accept), self._customer_id)

    def _activated(self, item: QListWidgetItem) -> None:
        value = item.data(Qt.ItemDataRole.UserRole)
        if value is not None:
            self.open_conversation.emit(int(value))


def _identity_icon(kind: str) -> str:
    return {"twitter": "twitter", "facebook": "facebook", "email": "email", "phone": "form"}.get(kind, "email")


def reason_text(reason: str, tr: Translator) -> str:
    """Why the store suggests a link ("wrote a@b.fr", "same name: Léa Martin"), in the UI's language."""
    for phrase, sep in (("same name", ": "), ("wrote", " ")):
        if reason.startswith(phrase + sep):
            return f"{tr(phrase)}{sep}{reason[len(phrase) + len(sep):]}"
    return reason
