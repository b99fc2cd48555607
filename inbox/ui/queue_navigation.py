"""Moving around the queue: the views column with its counts, search, sort and filter chips,
the queue itself, opening a conversation (with its draft kept), and keeping the agent's place
when the queue is read again (a tick, a sync, a change): the same conversation open and
selected, the same scroll position. The window's layout and last view are remembered here too.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QByteArray, QItemSelectionModel, QModelIndex, Qt
from PySide6.QtWidgets import QListWidgetItem

from inbox.models import Conversation, Direction, QueueSort, Status
from inbox.ui.icons import icon
from inbox.ui.place import QueuePlace, ScrollPlace
from inbox.ui.thread_html import render_thread
from inbox.ui.view_list import COUNT_ROLE, update_counts
from inbox.ui.views import QueueView, channel_views, standard_views, tag_view
from inbox.ui.window_widgets import WindowWidgets


class QueueNavigation(WindowWidgets):
    """The views, the queue and the open conversation (the other parts of the window build on
    it: they act on the conversation it opened and ask it to re-read the queue)."""

    def refresh_views(self) -> None:
        """The views and their counts; when the views are the same ones, only the counts change
        (the column keeps its selection and scroll position)."""
        tags = self.repo.tags()[:8]
        tagged = {tag_view(t).key: n for t, n in tags}  # a tag's view counts what tags() counted

        def count(view: QueueView) -> int:
            return tagged[view.key] if view.key in tagged else self.repo.count(view.filter)

        keys = [v.key for v in (*standard_views(self.agent), *channel_views(), *(tag_view(t) for t, _n in tags))]
        if update_counts(self.views, keys, count, lambda v: self.tr_(v.label)):
            return
        current = self.views.currentItem()
        key = current.data(Qt.ItemDataRole.UserRole).key if current else self._wanted_view
        self.views.blockSignals(True)
        self.views.clear()
        entries: list[QueueView | str] = [*standard_views(self.agent), self.tr_("Channels"), *channel_views()]
        if tags:
            entries.append(self.tr_("Tags"))
            entries.extend(tag_view(t) for t, _n in tags)
        for entry in entries:
            if isinstance(entry, str):
                header = QListWidgetItem(entry.upper())
                header.setFlags(Qt.ItemFlag.NoItemFlags)
                self.views.addItem(header)
                continue
            n = count(entry)
            item = QListWidgetItem(self.tr_(entry.label))
            item.setData(COUNT_ROLE, n)
            item.setToolTip(f"{self.tr_(entry.label)}: {n}")
            if entry.key.startswith("channel:"):
                item.setIcon(icon(entry.key.split(":", 1)[1]))
            item.setData(Qt.ItemDataRole.UserRole, entry)
            self.views.addItem(item)
            if entry.key == key:
                self.views.setCurrentItem(item)
        self.views.blockSignals(False)

    def _view_selected(self, item: QListWidgetItem | None) -> None:
        if item is not None and isinstance(item.data(Qt.ItemDataRole.UserRole), QueueView):
            self._apply_search()

    def current_view(self) -> QueueView:
        item = self.views.currentItem()
        view = item.data(Qt.ItemDataRole.UserRole) if item else None
        return view if isinstance(view, QueueView) else standard_views(self.agent)[2]

    def _apply_search(self) -> None:
        flt = self.filter_chips.narrow(self.current_view().filter)
        flt = dataclasses.replace(flt, sort=QueueSort(self.sort.currentData()))
        text = self.search.text().strip()
        if text:
            flt = dataclasses.replace(flt, conversation_ids=self.repo.search_conversation_ids(text), statuses=frozenset(Status))
        self.model.set_filter(flt)
        self.count_label.setText(f"{self.model.total()} {self.tr_('conversations')}")
        self._update_title()
        if self.model.rowCount():
            # The new queue paints first; its first row opens on the next turn of the event loop
            # (rendering a thread takes ~100 ms at 100k conversations: a view switch waited on it).
            # A window not shown yet (being built) has nothing to paint: the row opens at once.
            self._open_later = self.isVisible()
            try:
                self.queue.setCurrentIndex(self.model.index(0))
            finally:
                self._open_later = False
        else:
            self._show(None)

    def set_workspace_note(self, note: str) -> None:
        """Words after the title (already in the window's language): the demo workspace says so."""
        self._workspace_note = note
        self._update_title()

    def _update_title(self) -> None:
        """The title names the open view, in the agent's language (the taskbar tells which queue
        this window shows)."""
        parts = [self.tr_(self.current_view().label), "Inbox", self._workspace_note]
        self.setWindowTitle(" — ".join(p for p in parts if p))

    def _open_row(self, index: QModelIndex) -> None:
        if self._reloading:
            return
        if self._open_later:
            self._open_timer.start()  # _open_selected, once the queue has painted
            return
        self._show(self.model.conversation(index.row()) if index.isValid() else None)

    def _open_selected(self) -> None:
        index = self.queue.currentIndex()
        self._show(self.model.conversation(index.row()) if index.isValid() else None)

    def open_pending(self) -> None:
        """Open now the row a view switch selected, when it waits for the next turn of the event
        loop: whatever reads or acts on the open conversation sees the one selected."""
        if self._open_timer.isActive():
            self._open_selected()

    def current_conversation(self) -> Conversation | None:
        self.open_pending()
        return self._current

    def open_conversation(self, conversation_id: int) -> None:
        self.open_pending()  # the row may be the one selected already, waiting to open
        row = self.model.row_of(conversation_id)
        if row >= 0:
            self.queue.setCurrentIndex(self.model.index(row))
        else:
            self._show(self.repo.conversation(conversation_id))

    def _show(self, conv: Conversation | None) -> None:
        """Open a conversation; showing the open one again (it changed) keeps the thread's scroll
        position and the composer as they are (text, cursor, note or reply)."""
        self._open_timer.stop()  # a conversation opened by name wins over a row waiting to open
        self._save_draft()
        again = conv is not None and self._current is not None and conv.id == self._current.id
        thread_place = ScrollPlace.of(self.thread_view)
        self._current = conv
        for opened in self.opened:
            opened(conv.id if conv else None)
        if conv is None:
            self.thread_view.setHtml(f"<p style='color:gray'>{self.tr_('Select a conversation')}</p>")
            self.customer.show_customer(None)
            self.composer.set_conversation(None, "", None, self.clock())
            return
        messages = self.repo.messages(conv.id)
        targets, history = self.services.sla_details(conv.id) if self.services.sla_details else ([], [])
        files = {m.id: self.repo.attachment_files(m.id) for m in messages if m.attachments}
        self.thread_view.setHtml(
            render_thread(conv, messages, self.tr_, dark=self.dark, targets=targets, history=history, files=files)
        )
        last_in = max((m.sent_at for m in messages if m.direction is Direction.INBOUND), default=None)
        if again:
            thread_place.restore(self.thread_view)
            self.composer.update_conversation(conv, last_in, self.clock())
        else:
            self.thread_view.verticalScrollBar().setValue(self.thread_view.verticalScrollBar().maximum())
            self.composer.set_conversation(conv, self.repo.draft(conv.id), last_in, self.clock())
        self.customer.show_customer(conv.customer_id, conv.id)

    def hand_over(self) -> int | None:
        """For a window replacing this one (a language switch): the reply being written saved
        on its conversation, and that conversation."""
        self.open_pending()
        self._save_draft()
        return self._current.id if self._current else None

    def move_selection(self, step: int) -> None:
        row = self.queue.currentIndex().row() + step
        if row >= self.model.rowCount() and self.model.canFetchMore():
            self.model.fetchMore()
        if 0 <= row < self.model.rowCount():
            self.queue.selectionModel().setCurrentIndex(
                self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect
            )

    def _after_change(self, *, advance: bool = False) -> None:
        """Reload the queue after the agent changed something, keeping their place; ``advance``
        (solved, pending): on to the next conversation even when this one stays in the view."""
        current_id = self._current.id if self._current else None
        self.reload_queue(frozenset({current_id}) if current_id is not None else frozenset())
        if advance and self._current is not None and self._current.id == current_id:
            self.move_selection(1)

    def reload_queue(self, touched: frozenset[int] = frozenset()) -> None:
        """Re-read the queue and the views' counts (SLA tick, sync, a change) without moving the
        agent: the same conversation stays open and selected, the queue keeps its scroll
        position, the thread and the composer are left as they are (the thread is re-read,
        at the same scroll position, when its conversation is in ``touched``). When the open
        conversation left the view, the row that took its place opens; its draft stays saved
        on its own conversation."""
        self.open_pending()
        place = QueuePlace.take(self._current.id if self._current else None, self.queue, self.model.conversation)
        self._reloading = True
        try:
            self.model.reload()
            self.refresh_views()
        finally:
            self._reloading = False
        self.count_label.setText(f"{self.model.total()} {self.tr_('conversations')}")
        cid = place.conversation_id
        if cid is not None and cid not in place.ids:  # opened from elsewhere (history, dashboard)
            if cid in touched:
                self._show(self.repo.conversation(cid))
            self.queue.verticalScrollBar().setValue(place.scroll.value)
            return
        row = -1 if cid is None else self.model.find_row(cid)
        if row < 0 and cid is not None:
            row = place.successor(self.model.row_of)
            if row < 0 and self.model.rowCount():
                row = min(max(place.row, 0), self.model.rowCount() - 1)
        if row >= 0:
            self.queue.selectionModel().setCurrentIndex(
                self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
            conv = self.model.conversation(row)
            if conv is not None and (self._current is None or self._current.id != conv.id or conv.id in touched):
                self._show(conv)
        elif cid is not None:
            self._show(None)
        self.queue.doItemsLayout()  # the scroll range of the rows as they are now, then the place
        self.queue.verticalScrollBar().setValue(place.scroll.value)

    def _draft_changed(self, _text: str) -> None:
        self._draft_timer.start()

    def _save_draft(self) -> None:
        """Drafts survive switching conversations and restarts."""
        self._draft_timer.stop()
        if self._current is not None:
            text = self.composer.editor.toPlainText()
            if text != self.repo.draft(self._current.id):
                self.commands.save_draft(self._current.id, text)

    def _restore_layout(self) -> None:
        """Window geometry, column widths, last view and sort, as the agent left them."""
        settings = self._settings()
        geometry = settings.value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        splitter = settings.value("window/splitter")
        if isinstance(splitter, QByteArray):
            self.splitter.restoreState(splitter)
        self._wanted_view = str(settings.value("queue/view", "open"))
        sort = self.sort.findData(str(settings.value("queue/sort", QueueSort.URGENCY.value)))
        if sort >= 0:
            self.sort.blockSignals(True)
            self.sort.setCurrentIndex(sort)
            self.sort.blockSignals(False)

    def _save_layout(self) -> None:
        settings = self._settings()
        settings.setValue("window/geometry", self.saveGeometry())
        settings.setValue("window/splitter", self.splitter.saveState())
        settings.setValue("queue/view", self.current_view().key)
        settings.setValue("queue/sort", self.sort.currentData())
        settings.sync()
