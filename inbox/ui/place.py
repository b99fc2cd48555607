"""The agent's place in the window: which conversation is open, how far the queue and the thread
are scrolled. Taken before the queue is re-read (SLA tick, sync, a change) and given back after,
so a refresh never moves the agent; when the open conversation left the view, the row that took
its place is chosen (or the previous one when it was last)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtWidgets import QAbstractItemView, QAbstractScrollArea

from inbox.models import Conversation


@dataclass(frozen=True, slots=True)
class ScrollPlace:
    """A scroll area's vertical position; at the bottom it stays at the bottom (a new message
    at the end of a thread the agent was following shows)."""

    value: int
    at_bottom: bool

    @classmethod
    def of(cls, area: QAbstractScrollArea) -> ScrollPlace:
        bar = area.verticalScrollBar()
        return cls(bar.value(), bar.maximum() > 0 and bar.value() >= bar.maximum())

    def restore(self, area: QAbstractScrollArea) -> None:
        bar = area.verticalScrollBar()
        bar.setValue(bar.maximum() if self.at_bottom else self.value)


@dataclass(frozen=True, slots=True)
class QueuePlace:
    """The open conversation, its row and the loaded rows' conversations, before a reload."""

    conversation_id: int | None
    row: int
    ids: tuple[int, ...]
    scroll: ScrollPlace

    @classmethod
    def take(
        cls, conversation_id: int | None, queue: QAbstractItemView, conversation: Callable[[int], Conversation | None]
    ) -> QueuePlace:
        rows = (conversation(i) for i in range(queue.model().rowCount()))
        return cls(conversation_id, queue.currentIndex().row(), tuple(c.id for c in rows if c), ScrollPlace.of(queue))

    def successor(self, row_of: Callable[[int], int]) -> int:
        """The row to open when the open conversation left the view, in the re-read queue: the
        first conversation below it that is still there, else the nearest one above; -1 when
        none of the rows before are left."""
        below = self.ids[self.row + 1 :] if self.row >= 0 else ()
        above = reversed(self.ids[: max(self.row, 0)])
        for cid in (*below, *above):
            row = row_of(cid)
            if row >= 0:
                return row
        return -1
