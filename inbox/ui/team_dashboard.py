"""The team lead's dashboard in team mode: the server's figures (``GET /v1/dashboard``) for the
whole team, and reassignment of a conversation at risk from there.

Signals: ``open_conversation(int)``. Reads run on the app's event loop; the view shows
"Updating…" meanwhile and keeps the last figures when the server cannot be reached.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from inbox.ui.i18n import Translator


class TeamFigures(Protocol):
    async def dashboard(self) -> dict[str, Any]: ...
    def reassign(self, conversation_id: int, expected: str | None, assignee: str | None) -> None: ...


def _item(value: object, align_right: bool = False) -> QTableWidgetItem:
    item = QTableWidgetItem(str(value))
    item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable)
    if align_right:
        item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class TeamDashboard(QWidget):
    open_conversation = Signal(int)

    def __init__(self, source: TeamFigures, tr: Translator, describe_error: Callable[[BaseException], str],
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.source = source
        self.tr_ = tr
        self._describe = describe_error
        self.task: asyncio.Task[None] | None = None
        self.figures: dict[str, Any] = {}
        layout = QVBoxLayout(self)
        self.state = QLabel()
        layout.addWidget(self.state)
        layout.addWidget(QLabel(f"<b>{tr('Agents')}</b>"))
        self.agents = QTableWidget(0, 5)
        self.agents.setHorizontalHeaderLabels([tr("Agent"), tr("Open"), tr("At risk"), tr("Breached"), tr("Online")])
        self.agents.verticalHeader().hide()
        layout.addWidget(self.agents, 1)
        layout.addWidget(QLabel(f"<b>{tr('SLA at risk')}</b>"))
        self.at_risk = QTableWidget(0, 4)
        self.at_risk.setHorizontalHeaderLabels(["#", tr("Customer"), tr("Assignee"), tr("SLA")])
        self.at_risk.verticalHeader().hide()
        self.at_risk.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.at_risk.cellDoubleClicked.connect(self._open)
        layout.addWidget(self.at_risk, 2)
        row = QHBoxLayout()
        row.addWidget(QLabel(tr("Reassign the selected conversation to")))
        self.assignee = QComboBox()
        self.assignee.setAccessibleName(tr("Assignee"))
        row.addWidget(self.assignee, 1)
        self.reassign_button = QPushButton(tr("Reassign"))
        self.reassign_button.clicked.connect(self.reassign_selected)
        row.addWidget(self.reassign_button)
        layout.addLayout(row)

    def refresh(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self.task is not None and not self.task.done():
            return
        self.state.setText(self.tr_("Updating…"))
        self.task = loop.create_task(self._load())

    async def _load(self) -> None:
        try:
            figures = await self.source.dashboard()
        except Exception as exc:  # shown in place; the last figures stay
            self.state.setText(f"{self.tr_('Team figures not updated')}: {self._describe(exc)}")
            return
        finally:
            self.task = None
        self.show_figures(figures)

    def show_figures(self, figures: dict[str, Any]) -> None:
        self.figures = figures
        self.state.setText(f"{self.tr_('Online')}: {', '.join(figures.get('online', [])) or '—'}")
        agents = figures.get("agents", [])
        self.agents.setRowCount(len(agents))
        for r, a in enumerate(agents):
            self.agents.setItem(r, 0, _item(a.get("display_name") or a["agent"]))
            for c, key in enumerate(("open", "at_risk", "breached"), start=1):
                self.agents.setItem(r, c, _item(a.get(key, 0), True))
            self.agents.setItem(r, 4, _item("●" if a.get("online") else ""))
        risky = figures.get("at_risk", [])
        self.at_risk.setRowCount(len(risky))
        for r, conv in enumerate(risky):
            self.at_risk.setItem(r, 0, _item(conv["id"], True))
            self.at_risk.setItem(r, 1, _item(conv.get("customer_name") or conv.get("subject", "")))
            self.at_risk.setItem(r, 2, _item(conv.get("assignee") or "—"))
            self.at_risk.setItem(r, 3, _item(self.tr_(conv.get("sla_state") or "")))
        self.assignee.clear()
        self.assignee.addItem(self.tr_("nobody"), "")
        for a in agents:
            self.assignee.addItem(a.get("display_name") or a["agent"], a["agent"])

    def selected(self) -> dict[str, Any] | None:
        row = self.at_risk.currentRow()
        risky = self.figures.get("at_risk", [])
        return risky[row] if 0 <= row < len(risky) else None

    def reassign_selected(self) -> None:
        conv = self.selected()
        if conv is None:
            self.state.setText(self.tr_("Select a conversation first"))
            return
        assignee = str(self.assignee.currentData() or "") or None
        self.source.reassign(int(conv["id"]), conv.get("assignee"), assignee)
        self.state.setText(f"#{conv['id']} → {assignee or self.tr_('nobody')}")

    def _open(self, row: int, _column: int) -> None:
        risky = self.figures.get("at_risk", [])
        if 0 <= row < len(risky):
            self.open_conversation.emit(int(risky[row]["id"]))
