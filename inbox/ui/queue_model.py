"""The queue as a lazy Qt model over the repository: pages of conversations fetched on demand."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt

from inbox.models import Conversation, QueueFilter
from inbox.ports import QueueReads
from inbox.ui.text import one_line

ConversationRole = Qt.ItemDataRole.UserRole + 1
PAGE = 200

Index = QModelIndex | QPersistentModelIndex


class QueueModel(QAbstractListModel):
    """Conversations matching a :class:`QueueFilter`, most urgent first, loaded a page at a time.

    Signals: the standard model signals only.
    """

    def __init__(self, repo: QueueReads, parent: object | None = None) -> None:
        super().__init__(None)
        self._repo = repo
        self._filter = QueueFilter()
        self._rows: list[Conversation] = []
        self._total = 0
        self.now = datetime.now(UTC)

    @property
    def filter(self) -> QueueFilter:
        return self._filter

    def set_filter(self, flt: QueueFilter) -> None:
        self.beginResetModel()
        self._filter = flt
        self._total = self._repo.count(flt)
        self._rows = self._repo.queue(flt, limit=PAGE, offset=0)
        self.endResetModel()

    def reload(self) -> None:
        """Re-read what is loaded (after a change or a sync), keeping at least as many rows."""
        wanted = max(PAGE, len(self._rows))
        self.beginResetModel()
        self._total = self._repo.count(self._filter)
        self._rows = self._repo.queue(self._filter, limit=wanted, offset=0)
        self.endResetModel()

    def total(self) -> int:
        return self._total

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid():
            return
        more = self._repo.queue(self._filter, limit=PAGE, offset=len(self._rows))
        if not more:
            self._total = len(self._rows)
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(more) - 1)
        self._rows.extend(more)
        self.endInsertRows()

    def conversation(self, row: int) -> Conversation | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, conversation_id: int) -> int:
        for i, c in enumerate(self._rows):
            if c.id == conversation_id:
                return i
        return -1

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        conv = self._rows[index.row()]
        if role == ConversationRole:
            return conv
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return f"{conv.channel.value}: {conv.customer_name} — {one_line(conv.subject, 120)}"
        if role == Qt.ItemDataRole.ToolTipRole:
            return one_line(conv.preview or conv.subject, 300)
        return None

    def tick(self, now: datetime, first: int, last: int) -> None:
        """Move the clock and repaint only the visible rows (one timer drives every countdown)."""
        self.now = now
        if self._rows and first <= last:
            first = max(0, first)
            last = min(len(self._rows) - 1, last)
            self.dataChanged.emit(self.index(first), self.index(last), [Qt.ItemDataRole.DisplayRole])
