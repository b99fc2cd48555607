"""The agent's main window: views, the queue, the thread with its composer, the customer.

Keyboard first: j/k move, Enter opens, r reply, n note, e solve, p pending, a assign to me, t tag,
/ search, Ctrl+Enter send, ? lists every shortcut. Widgets hold no business rules: they call the
read ports and the commands port; a change returns at once and the window
follows it when it landed (the store's writer thread), so it never waits on the disk.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
from collections.abc import Callable
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from PySide6.QtCore import QByteArray, QItemSelectionModel, QModelIndex, QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QSystemTrayIcon,
    QTabWidget,
    QToolBar,
    QVBoxLayout,
    QWidget,
)

from inbox.models import AttachmentFile, Conversation, Direction, Priority, QueueSort, Status
from inbox.ports import Commands, Reads
from inbox.ui.composer import Composer
from inbox.ui.customer_panel import CustomerPanel
from inbox.ui.filter_chips import FilterChips
from inbox.ui.i18n import Translator
from inbox.ui.icons import icon
from inbox.ui.original_view import OfflineBrowser, OriginalView
from inbox.ui.place import QueuePlace, ScrollPlace
from inbox.ui.queue_delegate import QueueDelegate
from inbox.ui.queue_model import QueueModel
from inbox.ui.shortcuts import SHORTCUTS
from inbox.ui.thread_html import render_thread
from inbox.ui.view_list import COUNT_ROLE, ViewCountDelegate, update_counts
from inbox.ui.views import QueueView, channel_views, standard_views, tag_view
from inbox.ui.window_services import WindowServices

if TYPE_CHECKING:  # types only: the app builds and passes them
    from inbox.ui.canned import CannedPicker
    from inbox.ui.team_panel import TeamPanel, TeamStatus




class MainWindow(QMainWindow):
    """Signals: ``reply_queued()`` once a reply was committed to the outbox (the sync service may
    send it now); ``accounts_shown()`` after the accounts' states were shown again."""

    reply_queued = Signal()
    accounts_shown = Signal()  # the accounts' states were read again (the sync reported)
    _landed = Signal(object, object)  # a command's future and what to do then, on the Qt thread

    def __init__(self, repo: Reads, commands: Commands, tr: Translator, services: WindowServices | None = None) -> None:
        super().__init__()
        services = services or WindowServices()
        self.repo = repo
        self.commands = commands
        self.tr_ = tr
        self.services = services
        self.agent = services.agent
        self.clock = clock = services.clock
        self.dark = services.dark
        self._landed.connect(self._command_landed)
        self.muted = False
        self.watched_views = {"unassigned", "mine"}
        self._seen_new: set[str] = set()
        self.shown_notices: list[tuple[str, str, int]] = []
        self._current: Conversation | None = None
        self._reloading = False  # the queue is being re-read: the place is restored after
        self._workspace_note = ""
        self.opened: list[Callable[[int | None], None]] = []  # told of each conversation shown
        self.team_panel: TeamPanel | None = None  # team mode only (attach_team)
        self.team_status: TeamStatus | None = None
        self._wanted_view = "open"  # the view to select once the views are listed (the last one left)
        self._closed = False  # closed already: the store may be gone
        self.setWindowTitle("Inbox")
        self.setWindowIcon(icon("app"))
        self.resize(1440, 860)

        self.views = QListWidget()
        self.views.setAccessibleName(tr("Views"))
        self.views.setMaximumWidth(260)
        self.views.setItemDelegate(ViewCountDelegate(self.views))
        self.views.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.views.currentItemChanged.connect(lambda cur, _prev: self._view_selected(cur))
        self.search = QLineEdit()
        self.search.setPlaceholderText(tr("Search all messages (/)"))
        self.search.setAccessibleName(tr("Search all messages (/)"))
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=150)
        self._search_timer.timeout.connect(self._apply_search)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.sort = QComboBox()
        self.sort.setAccessibleName(tr("Sort"))
        for s, label in ((QueueSort.URGENCY, tr("Most urgent")), (QueueSort.NEWEST, tr("Newest")),
                         (QueueSort.OLDEST, tr("Oldest")), (QueueSort.PRIORITY, tr("Priority"))):
            self.sort.addItem(label, s.value)
        self.sort.currentIndexChanged.connect(lambda _i: self._apply_search())

        self.model = QueueModel(repo)
        self.model.now = clock()
        self.queue = QListView()
        self.queue.setAccessibleName(tr("Queue"))
        self.queue.setModel(self.model)
        self.queue.setItemDelegate(QueueDelegate(tr))
        self.queue.setUniformItemSizes(True)
        self.queue.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.queue.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.queue.selectionModel().currentChanged.connect(lambda cur, _prev: self._open_row(cur))
        self.count_label = QLabel()

        self.thread_view = OfflineBrowser()  # a mail naming a local file or remote image loads nothing
        self.thread_view.setAccessibleName(tr("Thread"))
        self.thread_view.setOpenLinks(False)
        self.thread_view.setOpenExternalLinks(False)
        self.thread_view.anchorClicked.connect(self._anchor)
        self.composer = Composer(tr, services.weighted_length)
        self.composer.send_requested.connect(self._send)
        self.composer.draft_changed.connect(self._draft_changed)
        self.customer = CustomerPanel(repo, commands, tr, services.avatar)
        self.customer.open_conversation.connect(self.open_conversation)
        self.customer.customer_changed.connect(lambda: self._after_change())
        self.customer.setMaximumWidth(360)

        self.banner = QLabel(tr("Offline: replies wait in the outbox and go out when the network is back"))
        self.banner.setStyleSheet("background:#5F6368; color:white; padding:4px 8px")
        self.banner.hide()

        queue_box = QWidget()
        ql = QVBoxLayout(queue_box)
        ql.setContentsMargins(0, 0, 0, 0)
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.sort)
        ql.addLayout(top)
        self.filter_chips = FilterChips(tr)
        self.filter_chips.changed.connect(self._apply_search)
        self.chips = self.filter_chips.chips
        ql.addWidget(self.filter_chips)
        ql.addWidget(self.count_label)
        ql.addWidget(self.queue, 1)
        conversation_box = QWidget()
        cl = QVBoxLayout(conversation_box)
        cl.setContentsMargins(0, 0, 0, 0)
        self._conversation_layout = cl
        cl.addWidget(self.thread_view, 1)
        cl.addWidget(self.composer)
        splitter = QSplitter()
        self.splitter = splitter
        for w in (self.views, queue_box, conversation_box, self.customer):
            splitter.addWidget(w)
        splitter.setSizes([215, 415, 505, 290])  # fits 1440 px: the views column keeps French names whole
        splitter.setChildrenCollapsible(False)
        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(self.banner)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(splitter, tr("Queue"))
        self.dashboard = dashboard = services.dashboard
        if dashboard is not None:
            self.tabs.addTab(dashboard, tr("Dashboard"))
            self.tabs.currentChanged.connect(self._tab_changed)
            dashboard.open_conversation.connect(self._open_from_dashboard)
        outer.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.canned_picker: CannedPicker | None = None
        self._build_toolbar()
        self.account_label = QLabel()
        self.statusBar().addPermanentWidget(self.account_label)

        self._install_shortcuts()
        self._timer = QTimer(self, interval=1000)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        self._slow_timer = QTimer(self, interval=30_000)  # SLA states and notifications
        self._slow_timer.timeout.connect(self.slow_tick)
        self._slow_timer.start()
        self.tray = QSystemTrayIcon(icon("app"), self) if QSystemTrayIcon.isSystemTrayAvailable() else None
        if self.tray is not None:
            self.tray.messageClicked.connect(self._notice_clicked)
            self.tray.show()
        self._last_notice: int | None = None
        self._draft_timer = QTimer(self, singleShot=True, interval=600)
        self._draft_timer.timeout.connect(self._save_draft)
        self._restore_layout()
        self.refresh_views()
        self._apply_search()
        self.show_accounts()

    def _build_toolbar(self) -> None:
        """One row to move around: the Queue and Dashboard tabs, which name their shortcuts
        (Ctrl+1, Ctrl+2), and on the same row's right the canned responses, the settings and
        the language."""
        for index, keys in enumerate(("Ctrl+1", "Ctrl+2")[: self.tabs.count()]):
            self.tabs.setTabText(index, f"{self.tabs.tabText(index)}  ({keys})")
            go = QAction(self.tabs.tabText(index), self)
            go.setShortcut(QKeySequence(keys))
            go.triggered.connect(lambda _checked=False, i=index: self.tabs.setCurrentIndex(i))
            self.addAction(go)  # the shortcut works wherever the focus is in the window
        bar = QToolBar(self.tr_("Views"))
        bar.setObjectName("main-toolbar")
        entries: list[tuple[str, str, Callable[[], None] | None]] = [
            (self.tr_("Canned responses"), "Ctrl+Shift+K", self.services.open_canned_manager),
            (self.tr_("Settings"), "Ctrl+,", self.services.open_settings),
        ]
        for label, keys, slot in entries:
            if slot is None:
                continue
            action = QAction(f"{label}  ({keys})", self)
            action.setShortcut(QKeySequence(keys))
            action.triggered.connect(slot)
            bar.addAction(action)
        other = "en" if self.tr_.language == "fr" else "fr"
        self.language_action = QAction("English" if other == "en" else "Français", self)
        self.language_action.setToolTip(self.tr_("Switch the interface language"))
        self.language_action.triggered.connect(lambda: self.switch_language(other))
        bar.addAction(self.language_action)
        self.tabs.setCornerWidget(bar, Qt.Corner.TopRightCorner)

    def switch_language(self, language: str) -> None:
        """Remember the agent's language; the app rebuilds the window in it at once (or at the
        next start when nothing can rebuild it)."""
        settings = self._settings()
        settings.setValue("ui/language", language)
        settings.sync()
        if self.services.switch_language is not None:
            self.services.switch_language(language)
        else:
            self.statusBar().showMessage(self.tr_("The language changes at the next start"), 8000)

    def attach_team(self, panel: TeamPanel, status: TeamStatus, presence: Callable[[int], str]) -> None:
        """Team mode: the panel (colleagues here, refused changes) above the thread, the team's
        link in the status bar, colleagues' presence on the queue rows."""
        self.team_panel = panel
        self.team_status = status
        self._conversation_layout.insertWidget(0, panel)
        self.statusBar().addPermanentWidget(status)
        self.account_label.hide()  # the server polls the channel accounts, not this desktop
        delegate = self.queue.itemDelegate()
        if isinstance(delegate, QueueDelegate):
            delegate.presence = presence

    def set_banner(self, text: str | None) -> None:
        """Show (or hide, with None) the banner above everything."""
        if text:
            self.banner.setText(text)
        self.banner.setVisible(bool(text))

    def put_in_composer(self, conversation_id: int, text: str) -> None:
        """Open a conversation with ``text`` in its composer (a refused reply to edit)."""
        self.open_conversation(conversation_id)
        if self._current is not None and self._current.id == conversation_id:
            self.composer.editor.setPlainText(text)
            self.composer.editor.setFocus()

    def clear_composer(self, conversation_id: int) -> None:
        """The draft of ``conversation_id`` went (sent anyway, discarded): empty the composer."""
        if self._current is not None and self._current.id == conversation_id:
            self.composer.editor.clear()
            self._save_draft()

    def attach_canned(self, picker: CannedPicker) -> None:
        """Ctrl+K in the composer opens the canned responses; the chosen text is inserted."""
        self.canned_picker = picker
        picker.chosen.connect(self._insert_canned)
        QShortcut(QKeySequence("Ctrl+K"), self.composer.editor).activated.connect(self.open_canned)

    def open_canned(self) -> None:
        if self.canned_picker is None or self._current is None:
            return
        messages = self.repo.messages(self._current.id)
        lang = next((m.meta.get("lang") for m in reversed(messages) if m.meta.get("lang")), None)
        self.canned_picker.open_for(lang)

    def _insert_canned(self, text: str) -> None:
        self.composer.editor.insertPlainText(text)
        self.composer.editor.setFocus()

    def _anchor(self, url: QUrl) -> None:
        """Links in the thread never open a browser: only our own actions are followed."""
        if url.scheme() == "inbox" and url.path().startswith("attachment/"):
            self.ask_save_attachment(int(url.path().split("/", 1)[1]))
            return
        if url.scheme() == "inbox" and url.path().startswith("outbox/"):
            self.decide_reply(*url.path().split("/", 2)[1:])
            return
        if url.scheme() == "inbox" and url.path().startswith("original/") and self.services.original_source:
            message_id = int(url.path().split("/", 1)[1])
            self.original = OriginalView(self.services.original_source, message_id, self.tr_, self, self.services.remote_images)
            self.original.show()

    def decide_reply(self, action: str, item_id: str) -> None:
        """Mark as sent, send again or drop a reply that failed or may have been sent; the
        replies held behind it then go on (a refusal, e.g. decided meanwhile by the CLI, is
        shown in the status bar)."""
        if self._current is None:
            return
        conv_id = self._current.id

        def decided() -> None:
            self.reply_queued.emit()  # the sync sends what was held behind it
            if self._current is not None and self._current.id == conv_id:
                self._show(self.repo.conversation(conv_id))

        self.when_landed(self.commands.decide_reply(unquote(item_id), action), decided)

    def attachment(self, file_id: int) -> AttachmentFile | None:
        if self._current is None:
            return None
        for message in self.repo.messages(self._current.id):
            for kept in self.repo.attachment_files(message.id):
                if kept.id == file_id:
                    return kept
        return None

    def ask_save_attachment(self, file_id: int) -> None:
        """Attachments are saved where the agent chooses, never opened or rendered by us."""
        kept = self.attachment(file_id)
        if kept is None:
            return
        target, _filter = QFileDialog.getSaveFileName(self, self.tr_("Save attachment"), kept.filename)
        if target:
            self.save_attachment(file_id, Path(target))

    def save_attachment(self, file_id: int, target: Path) -> bool:
        kept = self.attachment(file_id)
        if kept is None or not kept.path.exists():
            self.statusBar().showMessage(self.tr_("The attachment file is missing"), 6000)
            return False
        shutil.copyfile(kept.path, target)
        self.statusBar().showMessage(f"{self.tr_('Saved')}: {target}", 6000)
        return True

    def _tab_changed(self, index: int) -> None:
        if self.dashboard is not None and self.tabs.widget(index) is self.dashboard:
            self.dashboard.refresh()

    def _open_from_dashboard(self, conversation_id: int) -> None:
        self.tabs.setCurrentIndex(0)
        self.open_conversation(conversation_id)

    # -- views and queue ------------------------------------------------------------------------

    def refresh_views(self) -> None:
        """The views and their counts; when the views are the same ones, only the counts change
        (the column keeps its selection and scroll position)."""
        tags = self.repo.tags()[:8]
        keys = [v.key for v in (*standard_views(self.agent), *channel_views(), *(tag_view(t) for t, _n in tags))]
        if update_counts(self.views, keys, lambda v: self.repo.count(v.filter), lambda v: self.tr_(v.label)):
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
            count = self.repo.count(entry.filter)
            item = QListWidgetItem(self.tr_(entry.label))
            item.setData(COUNT_ROLE, count)
            item.setToolTip(f"{self.tr_(entry.label)}: {count}")
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
            self.queue.setCurrentIndex(self.model.index(0))
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
        self._show(self.model.conversation(index.row()) if index.isValid() else None)

    def open_conversation(self, conversation_id: int) -> None:
        row = self.model.row_of(conversation_id)
        if row >= 0:
            self.queue.setCurrentIndex(self.model.index(row))
        else:
            self._show(self.repo.conversation(conversation_id))

    def _show(self, conv: Conversation | None) -> None:
        """Open a conversation; showing the open one again (it changed) keeps the thread's scroll
        position and the composer as they are (text, cursor, note or reply)."""
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

    def current_conversation(self) -> Conversation | None:
        return self._current

    def hand_over(self) -> int | None:
        """For a window replacing this one (a language switch): the reply being written saved
        on its conversation, and that conversation."""
        self._save_draft()
        return self._current.id if self._current else None

    # -- actions ----------------------------------------------------------------------------------

    def _install_shortcuts(self) -> None:
        def key(seq: str, fn: Callable[[], None]) -> None:
            sc = QShortcut(QKeySequence(seq), self)
            sc.setContext(Qt.ShortcutContext.WindowShortcut)
            sc.activated.connect(lambda: None if self._typing() else fn())

        key("j", lambda: self.move_selection(1))
        key("k", lambda: self.move_selection(-1))
        key("Return", self.thread_view.setFocus)
        key("r", self.focus_reply)
        key("n", self.focus_note)
        key("e", lambda: self.change_status(Status.SOLVED))
        key("p", lambda: self.change_status(Status.PENDING))
        key("o", lambda: self.change_status(Status.OPEN))
        key("a", self.assign_to_me)
        key("Shift+A", self.ask_assignee)
        key("t", self.ask_tag)
        key("!", self.raise_priority)
        key("/", self.search.setFocus)
        key("?", self.show_shortcuts)
        key("m", self.toggle_mute)
        esc = QShortcut(QKeySequence("Escape"), self)
        esc.activated.connect(self.queue.setFocus)

    def _typing(self) -> bool:
        focus = self.focusWidget()
        return isinstance(focus, (QLineEdit,)) or focus is self.composer.editor

    def move_selection(self, step: int) -> None:
        row = self.queue.currentIndex().row() + step
        if row >= self.model.rowCount() and self.model.canFetchMore():
            self.model.fetchMore()
        if 0 <= row < self.model.rowCount():
            self.queue.selectionModel().setCurrentIndex(
                self.model.index(row), QItemSelectionModel.SelectionFlag.ClearAndSelect
            )

    def focus_reply(self) -> None:
        self.composer.note.setChecked(False)
        self.composer.editor.setFocus()

    def focus_note(self) -> None:
        self.composer.note.setChecked(True)
        self.composer.editor.setFocus()

    def when_landed(self, pending: Future[Any], then: Callable[[], None] = lambda: None) -> None:
        """Run ``then`` on the Qt thread once a command landed; a refused one is shown instead."""
        def landed(done: Future[Any]) -> None:
            with contextlib.suppress(RuntimeError):  # the window was deleted meanwhile
                self._landed.emit(done, then)

        pending.add_done_callback(landed)

    def _command_landed(self, done: Future[Any], then: Callable[[], None]) -> None:
        if self._closed:
            return
        error = done.exception()
        if error is not None:
            self.statusBar().showMessage(str(error), 10_000)
            return
        then()

    def change_status(self, status: Status) -> None:
        if self._current is None:
            return
        self.statusBar().showMessage(f"#{self._current.id} → {self.tr_(status.value)}", 4000)
        self.change_status_of(self._current.id, status)

    def assign_to_me(self) -> None:
        self.assign_to(self.agent)

    def ask_assignee(self) -> None:
        """Assign to any agent (typing filters the list; empty unassigns)."""
        if self._current is None:
            return
        names = [""] + self.repo.agent_names()
        current = self._current.assignee or ""
        name, ok = QInputDialog.getItem(self, self.tr_("Assignee"), self.tr_("Assignee"), names,
                                        names.index(current) if current in names else 0, True)
        if ok:
            self.assign_to(name.strip() or None)

    def assign_to(self, agent: str | None) -> None:
        if self._current is not None:
            self.when_landed(self.commands.assign(self._current.id, agent), self._after_change)

    def raise_priority(self) -> None:
        if self._current is None:
            return
        order = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]
        nxt = order[min(order.index(self._current.priority) + 1, len(order) - 1)]
        self.when_landed(self.commands.set_priority(self._current.id, nxt), self._after_change)

    def ask_tag(self) -> None:
        if self._current is None:
            return
        tag, ok = QInputDialog.getText(self, self.tr_("Tag"), self.tr_("Tag"))
        if ok and tag.strip():
            self.when_landed(self.commands.add_tag(self._current.id, tag.strip()), self._after_change)

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

    def _send(self, text: str, note: bool, then_status: str) -> None:
        if self._current is None:
            return
        conv_id = self._current.id
        privately = self.composer.private.isVisible() and self.composer.private.isChecked()
        self._draft_timer.stop()
        sent = self.commands.note(conv_id, text) if note else self.commands.reply(conv_id, text, privately=privately)
        self.commands.save_draft(conv_id, "")

        def committed() -> None:  # the status changes only once the reply is in the outbox
            if not note:
                self.reply_queued.emit()
            if then_status:
                self.change_status_of(conv_id, Status(then_status))
            else:
                self._after_change()

        self.when_landed(sent, committed)

    def change_status_of(self, conversation_id: int, status: Status) -> None:
        advance = status in (Status.SOLVED, Status.PENDING)
        self.when_landed(self.commands.set_status(conversation_id, status), lambda: self._after_change(advance=advance))

    def _draft_changed(self, _text: str) -> None:
        self._draft_timer.start()

    def _save_draft(self) -> None:
        """Drafts survive switching conversations and restarts."""
        self._draft_timer.stop()
        if self._current is not None:
            text = self.composer.editor.toPlainText()
            if text != self.repo.draft(self._current.id):
                self.commands.save_draft(self._current.id, text)

    def _settings(self) -> QSettings:
        return QSettings("inbox", "inbox")

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

    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed:
            super().closeEvent(event)
            return
        self._closed = True
        self._save_layout()
        self._save_draft()
        self._timer.stop()
        self._slow_timer.stop()
        self._search_timer.stop()
        if self.tray is not None:
            self.tray.hide()
        super().closeEvent(event)

    def show_shortcuts(self) -> None:
        fr = self.tr_.language == "fr"
        rows = "".join(f"<tr><td><b>{k}</b></td><td>&nbsp;&nbsp;{f if fr else e}</td></tr>" for k, e, f in SHORTCUTS)
        box = QMessageBox(self)
        box.setWindowTitle(self.tr_("Keyboard shortcuts"))
        box.setText(f"<table>{rows}</table>")
        box.open()

    # -- live state -----------------------------------------------------------------------------

    def tick(self) -> None:
        """The one timer: countdowns of the visible rows and the composer's window."""
        now = self.clock()
        first = self.queue.indexAt(self.queue.viewport().rect().topLeft()).row()
        last = self.queue.indexAt(self.queue.viewport().rect().bottomLeft()).row()
        if last < 0:
            last = self.model.rowCount() - 1
        self.model.tick(now, max(first, 0), last)
        self.composer.tick(now)

    def slow_tick(self) -> None:
        """Every 30 s: SLA states that changed, then new warnings and breaches, once each."""
        if self.services.on_tick is not None:
            self.when_landed(self.services.on_tick(), self.reload_queue)
        if self.dashboard is not None and self.tabs.currentWidget() is self.dashboard:
            self.dashboard.refresh()  # the team lead's view stays live while it is shown
        if self.services.notices is None:
            return
        for title, text, cid in self.services.notices():
            self.notify(self.tr_(title), text, cid)  # "SLA breached: first reply" ... are in the catalogue

    def notify(self, title: str, text: str, conversation_id: int | None = None) -> None:
        """A desktop notification (system tray), unless muted; also kept in the status bar."""
        self.shown_notices.append((title, text, conversation_id or 0))
        self.statusBar().showMessage(f"{title} — {text}", 10_000)
        if self.muted or self.tray is None:
            return
        self._last_notice = conversation_id
        self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Warning, 8000)

    def _notice_clicked(self) -> None:
        if self._last_notice is not None:
            self.open_conversation(self._last_notice)
            self.raise_()
            self.activateWindow()

    def toggle_mute(self) -> None:
        self.muted = not self.muted
        self.statusBar().showMessage(self.tr_("Notifications muted" if self.muted else "Notifications on"), 4000)

    def refresh(self) -> None:
        """Everything shown may have changed (new SLA policies): the queue, the views and the
        open conversation are read again."""
        self._after_change()

    def conversations_changed(self, touched: frozenset[int], new: frozenset[int] = frozenset()) -> None:
        """New data arrived (sync): reload the queue and the open thread, keeping the agent's place;
        a new conversation in a watched view (Unassigned, by default) is announced once."""
        self._announce(new)
        self.reload_queue(touched)

    def _announce(self, new: frozenset[int]) -> None:
        if not new:
            return
        watched = [v for v in standard_views(self.agent) if v.key in self.watched_views]
        for conversation_id in sorted(new):
            if self._announced(conversation_id):
                continue
            for view in watched:
                flt = dataclasses.replace(view.filter, conversation_ids=(conversation_id,))
                if self.repo.count(flt):
                    conv = self.repo.conversation(conversation_id)
                    self.notify(
                        f"{self.tr_('New conversation')} · {self.tr_(view.label)}",
                        f"{conv.customer_name} — {conv.subject[:80]}",
                        conversation_id,
                    )
                    break

    def _announced(self, conversation_id: int) -> bool:
        key = f"new:{conversation_id}"
        if key in self._seen_new:
            return True
        self._seen_new.add(key)
        return False

    def show_accounts(self) -> None:
        parts = []
        offline = False
        for account in self.repo.accounts():
            state, reason = self.repo.account_state(account.id)
            offline = offline or state == "offline"
            parts.append(f"{account.name}: {self.tr_(state)}" + (f" ({reason})" if reason and state != "offline" else ""))
        self.account_label.setText("   ·   ".join(parts))
        self.banner.setVisible(offline)
        self.accounts_shown.emit()
