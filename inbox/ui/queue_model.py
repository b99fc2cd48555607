"""The queue as a lazy Qt model over the repository: pages of conversations fetched on demand."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, Qt, QTimer

from inbox.errors import InboxError
from inbox.models import Conversation, QueueFilter
from inbox.ports import QueueReads
from inbox.ui.text import age, countdown, one_line

ConversationRole = Qt.ItemDataRole.UserRole + 1
PAGE = 100  # rows loaded when the view scrolls near its end: ~10 ms at 1M, inside a 16 ms frame
#: How many conversation ids of a view are read (in the queue's order) at a time: sorting the view
#: is the costly part of a page (8 of 15 ms at 1M), so it is done once for twenty pages, and a
#: page scrolled into view only reads its rows by id.
ORDER_AHEAD = 2000
#: The next page's rows are read this long after a page was shown, in the pause between two
#: frames, so that the frame which reaches the end of the loaded rows only inserts them (reading
#: and building 100 rows is a third of a page-load frame at 1M).
PREFETCH_MS = 40

Index = QModelIndex | QPersistentModelIndex


def sla_badge(conv: Conversation, now: datetime) -> tuple[str, str] | None:
    """A row's SLA badge at ``now``: the state that colours it (``breached`` once due) and its
    label ("12m", "-25m", "⏸" while paused); None when the row shows none."""
    if not conv.sla_state or conv.sla_due_at is None or conv.sla_state == "met":
        return None
    remaining = (conv.sla_due_at - now).total_seconds()
    state = "breached" if remaining < 0 else conv.sla_state
    return state, ("⏸" if state == "paused" else countdown(remaining))


def clock_face(conv: Conversation, now: datetime) -> tuple[tuple[str, str] | None, str]:
    """What of a row the clock changes: its SLA badge and its age ("3 min"; in English, the
    French age turns at the same moments)."""
    return sla_badge(conv, now), age(conv.last_message_at, now)


class QueueModel(QAbstractListModel):
    """Conversations matching a :class:`QueueFilter`, most urgent first, loaded a page at a time.

    Signals: the standard model signals only.
    """

    def __init__(self, repo: QueueReads, parent: object | None = None) -> None:
        super().__init__(None)
        self._repo = repo
        self._filter = QueueFilter()
        self._rows: list[Conversation] = []
        self._order: list[int] = []  # the view's ids in order, as far as read
        self._next = 0  # the position in _order of the next page to load
        self._total = 0
        self._updating = False  # a reload is moving rows: no page is fetched meanwhile
        self._ahead: tuple[list[int], list[Conversation]] | None = None  # the next page, read early
        self._prefetch = QTimer(self)
        self._prefetch.setSingleShot(True)
        self._prefetch.setInterval(PREFETCH_MS)
        self._prefetch.timeout.connect(self._read_ahead)
        self.now = datetime.now(UTC)

    @property
    def filter(self) -> QueueFilter:
        return self._filter

    def set_filter(self, flt: QueueFilter) -> None:
        self.beginResetModel()
        self._filter = flt
        self._total = self._repo.count(flt)
        self._rows = self._first_rows(PAGE)
        self.endResetModel()

    def _first_rows(self, wanted: int) -> list[Conversation]:
        """The view's order read again, and its first ``wanted`` conversations."""
        self._ahead = None  # rows read before this may be stale
        self._order = self._repo.queue_order(self._filter, limit=max(ORDER_AHEAD, wanted))
        self._next = min(wanted, len(self._order))
        self._prefetch.start()
        return self._repo.queue_rows(self._order[: self._next])

    def reload(self) -> None:
        """Re-read what is loaded (after a change, a sync or the SLA tick), keeping at least as
        many rows, in place: rows that left are removed, rows that moved are moved, new rows are
        inserted and the others repainted. No reset, so the view keeps its selection, current
        row and scroll position on the same conversations (persistent indexes follow them)."""
        wanted = max(PAGE, len(self._rows))
        self._total = self._repo.count(self._filter)
        fresh = self._first_rows(wanted)
        self._updating = True
        try:
            self._apply(fresh)
        finally:
            self._updating = False

    def _apply(self, fresh: list[Conversation]) -> None:
        fresh_ids = {c.id for c in fresh}
        # 1. Rows whose conversation left the view, bottom up, in contiguous blocks.
        row = len(self._rows) - 1
        while row >= 0:
            if self._rows[row].id in fresh_ids:
                row -= 1
                continue
            last = row
            while row - 1 >= 0 and self._rows[row - 1].id not in fresh_ids:
                row -= 1
            self.beginRemoveRows(QModelIndex(), row, last)
            del self._rows[row : last + 1]
            self.endRemoveRows()
            row -= 1
        # 2. The rows that stay, in their new order (a layout change moves persistent indexes).
        kept = {c.id for c in self._rows}
        order = [c.id for c in fresh if c.id in kept]
        if order != [c.id for c in self._rows]:
            self.layoutAboutToBeChanged.emit()
            new_row = {cid: i for i, cid in enumerate(order)}
            old = self.persistentIndexList()
            self.changePersistentIndexList(
                old, [self.index(new_row[self._rows[i.row()].id]) if i.isValid() else QModelIndex() for i in old]
            )
            by_id = {c.id: c for c in self._rows}
            self._rows = [by_id[cid] for cid in order]
            self.layoutChanged.emit()
        # 3. New conversations where they belong, in contiguous blocks.
        row = 0
        while row < len(fresh):
            if fresh[row].id in kept:
                row += 1
                continue
            first = row
            while row + 1 < len(fresh) and fresh[row + 1].id not in kept:
                row += 1
            self.beginInsertRows(QModelIndex(), first, row)
            self._rows[first:first] = fresh[first : row + 1]
            self.endInsertRows()
            row += 1
        # 4. Every row's data (status, SLA, preview) as read now.
        self._rows = list(fresh)
        if self._rows:
            self.dataChanged.emit(self.index(0), self.index(len(self._rows) - 1))

    def total(self) -> int:
        return self._total

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return (
            not parent.isValid()
            and not self._updating
            and (self._next < len(self._order) or len(self._order) < self._total)
        )

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._updating:
            return
        if self._next >= len(self._order) and not self._read_order_further():
            self._total = len(self._rows)
            return
        ids = self._order[self._next : self._next + PAGE]
        self._next += len(ids)
        early, self._ahead = self._ahead, None
        rows = early[1] if early is not None and early[0] == ids else self._repo.queue_rows(ids)
        self._prefetch.start()
        shown = {c.id for c in self._rows}
        more = [c for c in rows if c.id not in shown]
        if not more:
            return
        self.beginInsertRows(QModelIndex(), len(self._rows), len(self._rows) + len(more) - 1)
        self._rows.extend(more)
        self.endInsertRows()

    def _read_order_further(self) -> bool:
        """The view's next ids in order after those read; False when there are none."""
        more = self._repo.queue_order(self._filter, limit=ORDER_AHEAD, offset=len(self._order))
        self._order.extend(more)
        return bool(more)

    def _read_ahead(self) -> None:
        """One step ahead of the scroll, in a pause: the view's next ids in order when the next
        page is the last of those read (then the rows, in the next pause), else the next page's
        rows. Any reload drops them; rows are read again then, as every loaded row is."""
        if self._updating:
            return
        try:
            if self._next + PAGE >= len(self._order) and len(self._order) < self._total:
                if self._read_order_further():
                    self._prefetch.start()
                return
            ids = self._order[self._next : self._next + PAGE]
            if ids and (self._ahead is None or self._ahead[0] != ids):
                self._ahead = (ids, self._repo.queue_rows(ids))
        except InboxError:  # only a head start: the page read when reached says what failed
            self._ahead = None

    def conversation(self, row: int) -> Conversation | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def find_row(self, conversation_id: int) -> int:
        """The row of a conversation in the view, loading further pages when it is past the
        loaded ones (a re-sort moved it down); -1 when it is not in the view."""
        row = self.row_of(conversation_id)
        ids = self._filter.conversation_ids
        if row >= 0 or (ids is not None and conversation_id not in ids):
            return row
        if not self._repo.count(dataclasses.replace(self._filter, conversation_ids=(conversation_id,))):
            return -1
        while row < 0 and self.canFetchMore():
            self.fetchMore()
            row = self.row_of(conversation_id)
        return row

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
        """Move the clock and repaint the visible rows whose countdown or age it changed (one
        timer drives every countdown; most rows change once a minute, not every second)."""
        before, self.now = self.now, now
        if not self._rows or first > last:
            return
        rows = range(max(0, first), min(len(self._rows) - 1, last) + 1)
        changed = [row for row in rows if clock_face(self._rows[row], now) != clock_face(self._rows[row], before)]
        if changed:
            self.dataChanged.emit(self.index(changed[0]), self.index(changed[-1]), [Qt.ItemDataRole.DisplayRole])
