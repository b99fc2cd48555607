"""The dashboard's tables: a read-only table model whose countdown column ticks live (time left
before a deadline, or time waited since an instant) and whose rows name their conversation."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

Index = QModelIndex | QPersistentModelIndex
ConversationRole = Qt.ItemDataRole.UserRole + 1


def countdown_text(due: datetime | None, now: datetime) -> str:
    """ "1:05:09" before the deadline, "-0:12:00" once passed."""
    if due is None:
        return ""
    seconds = int((due - now).total_seconds())
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class RowsModel(QAbstractTableModel):
    """A read-only table of rows; column ``countdown_column`` shows a live countdown to the row's
    deadline; ``ConversationRole`` gives the row's conversation id."""

    def __init__(
        self,
        headers: Sequence[str],
        clock: Callable[[], datetime],
        countdown_column: int = -1,
        elapsed: bool = False,
    ) -> None:
        super().__init__(None)
        self.headers = list(headers)
        self.clock = clock
        self.countdown_column = countdown_column
        self.elapsed = elapsed  # show the time since the row's instant instead of until it
        self.rows: list[tuple[list[object], int | None, datetime | None]] = []

    def set_rows(self, rows: Sequence[tuple[list[object], int | None, datetime | None]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section] if 0 <= section < len(self.headers) else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        cells, cid, due = self.rows[index.row()]
        col = index.column()
        if role == ConversationRole:
            return cid
        if col == self.countdown_column:
            now = self.clock()
            if role == Qt.ItemDataRole.DisplayRole:
                if self.elapsed and due is not None:
                    return countdown_text(now + (now - due), now)
                return countdown_text(due, now)
            if role == Qt.ItemDataRole.ForegroundRole and due is not None and not self.elapsed:
                return QColor("#C5221F" if due < now else "#B06000")
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        if role == Qt.ItemDataRole.DisplayRole and col < len(cells):
            value = cells[col]
            return "" if value is None else str(value)
        return None

    def tick(self) -> None:
        if self.rows and self.countdown_column >= 0:
            c = self.countdown_column
            self.dataChanged.emit(self.index(0, c), self.index(len(self.rows) - 1, c))
