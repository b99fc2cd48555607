"""Team mode in the window: who else is on the open conversation, changes the server refused
(with the reason and the way forward), the link to the server and the changes waiting.

Widgets only: they call the injected :class:`TeamPort` (the app's team mode), never the store.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from inbox.ui.i18n import Translator


class Refusal(Protocol):
    """A change the server refused (``QueuedIntent`` of the replica)."""

    @property
    def seq(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def conversation_id(self) -> int | None: ...
    @property
    def status(self) -> int | None: ...
    @property
    def reason(self) -> str: ...
    @property
    def answer(self) -> dict[str, Any]: ...
    @property
    def body(self) -> dict[str, Any]: ...


class TeamPort(Protocol):
    """What the window's team pieces need from the app's team mode."""

    @property
    def agent(self) -> str: ...
    def link_state(self) -> tuple[str, str]: ...
    def pending_count(self) -> int: ...
    def presence_on(self, conversation_id: int) -> list[tuple[str, str]]: ...
    def announce(self, state: str, conversation_id: int | None) -> None: ...
    def reconnect(self) -> None: ...
    def refusals(self) -> Sequence[Refusal]: ...
    def dismiss(self, seq: int) -> None: ...
    def edit(self, seq: int) -> tuple[int, str] | None: ...
    def send_anyway(self, seq: int) -> None: ...


def presence_text(entries: list[tuple[str, str]], tr: Translator) -> str:
    """ "lea is replying · marc is viewing" in the agent's language."""
    words = {"viewing": tr("is viewing"), "replying": tr("is replying")}
    return " · ".join(f"{agent} {words.get(state, state)}" for agent, state in entries)


def way_forward(refusal: Refusal, tr: Translator) -> str:
    """What the agent can do about a refusal, by what was refused and why."""
    if refusal.status == 409 and refusal.kind == "reply":
        return tr("Messages arrived since you looked: read them, then send anyway, edit or discard your reply.")
    if refusal.status == 409 and refusal.kind == "assign":
        current = refusal.answer.get("current_assignee") or tr("nobody")
        return f"{tr('Now assigned to')} {current}. {tr('Ask them or your team lead before taking it over.')}"
    if refusal.status == 403:
        return tr("You are not a member of this channel account: ask your team lead for access.")
    if refusal.status == 404:
        return tr("This conversation is gone (merged or removed): nothing else to do.")
    return tr("The server did not accept this change: correct it and try again.")


KIND_LABELS = {
    "reply": "Your reply",
    "note": "Your note",
    "status": "Status change",
    "assign": "Assignment",
    "tag_add": "Tag change",
    "tag_remove": "Tag change",
    "priority": "Priority change",
    "identity_link": "Link",
    "identity_unlink": "Link",
    "identity_merge": "Merge",
}


class TeamPanel(QWidget):
    """Above the thread: colleagues on this conversation, and the oldest refused change.

    Signals: ``edit_requested(conversation_id, text)`` (put the text in the composer),
    ``draft_settled(conversation_id)`` (a refused reply was sent anyway or discarded: empty the
    composer), ``changed()`` (a refusal was settled: reload).
    """

    edit_requested = Signal(int, str)
    draft_settled = Signal(int)
    changed = Signal()

    def __init__(self, port: TeamPort, tr: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.port = port
        self.tr_ = tr
        self.conversation_id: int | None = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.presence = QLabel()
        self.presence.setAccessibleName(tr("Who else is here"))
        self.presence.setStyleSheet("background:#FFF4E5; color:#8A4B00; padding:3px 8px; font-weight:bold")
        self.presence.hide()
        layout.addWidget(self.presence)
        self.refusal = QFrame()
        self.refusal.setFrameShape(QFrame.Shape.StyledPanel)
        self.refusal.setStyleSheet("QFrame { background:#FDECEA; } QLabel { color:#5F2120; }")
        box = QVBoxLayout(self.refusal)
        self.refusal_text = QLabel()
        self.refusal_text.setWordWrap(True)
        self.refusal_text.setTextFormat(Qt.TextFormat.RichText)
        box.addWidget(self.refusal_text)
        buttons = QHBoxLayout()
        self.send_anyway = QPushButton(tr("Send anyway"))
        self.edit = QPushButton(tr("Edit"))
        self.discard = QPushButton(tr("Discard"))
        self.dismiss = QPushButton(tr("Dismiss"))
        for button in (self.send_anyway, self.edit, self.discard, self.dismiss):
            buttons.addWidget(button)
        buttons.addStretch(1)
        box.addLayout(buttons)
        layout.addWidget(self.refusal)
        self.refusal.hide()
        self.current: Refusal | None = None
        self.send_anyway.clicked.connect(lambda: self._settle(self.port.send_anyway))
        self.discard.clicked.connect(lambda: self._settle(self.port.dismiss))
        self.dismiss.clicked.connect(lambda: self._settle(self.port.dismiss))
        self.edit.clicked.connect(self._edit)

    def show_conversation(self, conversation_id: int | None) -> None:
        self.conversation_id = conversation_id
        self.refresh_presence()

    def refresh_presence(self) -> None:
        entries = self.port.presence_on(self.conversation_id) if self.conversation_id else []
        self.presence.setText(presence_text(entries, self.tr_))
        self.presence.setVisible(bool(entries))

    def refresh_refusals(self) -> None:
        refusals = list(self.port.refusals())
        self.current = refusals[0] if refusals else None
        if self.current is None:
            self.refusal.hide()
            return
        r = self.current
        label = self.tr_(KIND_LABELS.get(r.kind, r.kind))
        where = f" #{r.conversation_id}" if r.conversation_id else ""
        parts = [f"<b>{html.escape(label)}{where} · {html.escape(self.tr_('the server said no'))}</b>: {html.escape(r.reason)}",
                 html.escape(way_forward(r, self.tr_))]  # fmt: skip
        arrived = r.answer.get("new_messages") or []
        if r.kind == "reply" and arrived:
            parts.append(f"<b>{html.escape(self.tr_('What arrived since'))}</b>")
            for m in arrived[-5:]:
                who = m.get("author_agent") or m.get("author_name") or ""
                kind = self.tr_("note") if m.get("private") else ""
                parts.append(f"• {html.escape(who)} {html.escape(kind)}: {html.escape(str(m.get('text', ''))[:300])}")
            parts.append(f"<i>{html.escape(self.tr_('Your reply'))}: {html.escape(str(r.body.get('text', ''))[:300])}</i>")
        if len(refusals) > 1:
            parts.append(f"({len(refusals) - 1} {html.escape(self.tr_('more refused changes'))})")
        self.refusal_text.setText("<br>".join(parts))
        stale_reply = r.kind == "reply" and r.status == 409
        self.send_anyway.setVisible(stale_reply)
        self.edit.setVisible(r.kind == "reply")
        self.discard.setVisible(r.kind == "reply")
        self.dismiss.setVisible(r.kind != "reply")
        self.refusal.show()

    def _settle(self, action: Callable[[int], None]) -> None:
        settled = self.current
        if settled is not None:
            action(settled.seq)
        self.refresh_refusals()
        if settled is not None and settled.kind == "reply" and settled.conversation_id is not None:
            self.draft_settled.emit(settled.conversation_id)
        self.changed.emit()

    def _edit(self) -> None:
        if self.current is None:
            return
        found = self.port.edit(self.current.seq)
        self.refresh_refusals()
        if found is not None:
            self.edit_requested.emit(*found)
        self.changed.emit()


class TeamStatus(QLabel):
    """The status bar's team field: the link to the server and the changes waiting to go."""

    def __init__(self, port: TeamPort, tr: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.port = port
        self.tr_ = tr
        self.setAccessibleName(tr("Team"))
        self.refresh()

    def refresh(self) -> None:
        link, _reason = self.port.link_state()
        pending = self.port.pending_count()
        text = f"{self.tr_('Team')}: {self.tr_(link)}"
        if pending:
            text += f" · {pending} {self.tr_('changes waiting')}"
        self.setText(text)


def banner_text(port: TeamPort, tr: Translator) -> str | None:
    """The window's banner in team mode: offline or signed out, else none."""
    link, reason = port.link_state()
    if link == "offline":
        return tr("Offline: you can read and change everything; changes wait and go out when the server is back")
    if link == "signed out":
        return tr("Signed out of your team: sign in again in Settings (your drafts and waiting changes are kept)")
    return None
