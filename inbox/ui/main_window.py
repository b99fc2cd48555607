"""The agent's main window: views, the queue, the thread with its composer, the customer.

Keyboard first: j/k move, Enter opens, r reply, n note, e solve, p pending, a assign to me, t tag,
/ search, Ctrl+Enter send, ? lists every shortcut. Widgets hold no business rules: they call the
repository and the injected reply sender.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QByteArray, QItemSelectionModel, QModelIndex, QSettings, Qt, QTimer, QUrl
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

from inbox.errors import InputError
from inbox.models import AttachmentFile, Conversation, Direction, QueueSort, Status
from inbox.repository import Repository
from inbox.sla import SlaLogEntry, TargetStatus
from inbox.ui.composer import Composer
from inbox.ui.customer_panel import CustomerPanel
from inbox.ui.filter_chips import FilterChips
from inbox.ui.i18n import Translator
from inbox.ui.icons import icon
from inbox.ui.original_view import OfflineBrowser, OriginalSource, OriginalView, RemoteImageSource
from inbox.ui.queue_delegate import QueueDelegate
from inbox.ui.queue_model import QueueModel
from inbox.ui.shortcuts import SHORTCUTS
from inbox.ui.thread_html import render_thread
from inbox.ui.view_list import COUNT_ROLE, ViewCountDelegate
from inbox.ui.views import QueueView, channel_views, standard_views, tag_view

SendReply = Callable[[int, str, bool, str, bool], None]  # conversation, text, note, then, privately
Clock = Callable[[], datetime]
SlaDetails = Callable[[int], tuple[list[TargetStatus], list[SlaLogEntry]]]
Notices = Callable[[], list[tuple[str, str, int]]]



class MainWindow(QMainWindow):
    """Signals: none of its own; it listens to its children and the injected services."""

    def __init__(
        self,
        repo: Repository,
        tr: Translator,
        *,
        agent: str = "agent",
        send_reply: SendReply | None = None,
        clock: Clock = lambda: datetime.now(UTC),
        weighted_length: Callable[[str], int] = len,
        dark: bool = False,
        sla_details: SlaDetails | None = None,
        notices: Notices | None = None,
        on_tick: Callable[[], None] | None = None,
        dashboard: QWidget | None = None,
        open_settings: Callable[[], None] | None = None,
        open_canned_manager: Callable[[], None] | None = None,
        original_source: OriginalSource | None = None,
        remote_images: RemoteImageSource | None = None,
        switch_language: Callable[[str], None] | None = None,
        avatar: Callable[[int], Path | None] | None = None,
    ) -> None:
        super().__init__()
        self.repo = repo
        self.tr_ = tr
        self.agent = agent
        self.clock = clock
        self.dark = dark
        self._send_reply = send_reply
        self._sla_details = sla_details
        self._notices = notices
        self._on_tick = on_tick
        self.muted = False
        self.watched_views = {"unassigned", "mine"}
        self._seen_new: set[str] = set()
        self.shown_notices: list[tuple[str, str, int]] = []
        self._current: Conversation | None = None
        self.opened: list[Callable[[int | None], None]] = []  # told of each conversation shown
        self.team_panel: QWidget | None = None
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
        self.sort.setAccessibleName("Sort")
        for s, label in ((QueueSort.URGENCY, "SLA ↑"), (QueueSort.NEWEST, "Newest"), (QueueSort.OLDEST, "Oldest"), (QueueSort.PRIORITY, "Priority")):
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
        self.thread_view.setAccessibleName("Thread")
        self.thread_view.setOpenLinks(False)
        self.thread_view.setOpenExternalLinks(False)
        self.thread_view.anchorClicked.connect(self._anchor)
        self._original_source = original_source
        self._remote_images = remote_images
        self._switch_language = switch_language
        self.composer = Composer(tr, weighted_length)
        self.composer.send_requested.connect(self._send)
        self.composer.draft_changed.connect(self._draft_changed)
        self.customer = CustomerPanel(repo, tr, avatar)
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
        self.dashboard = dashboard
        if dashboard is not None:
            self.tabs.addTab(dashboard, tr("Dashboard"))
            self.tabs.currentChanged.connect(self._tab_changed)
            signal = getattr(dashboard, "open_conversation", None)
            if signal is not None:
                signal.connect(self._open_from_dashboard)
        outer.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self._open_settings = open_settings
        self._open_canned_manager = open_canned_manager
        self.canned_picker: QWidget | None = None
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
        bar = QToolBar(self.tr_("Views"))
        bar.setObjectName("main-toolbar")
        bar.setMovable(False)
        self.addToolBar(bar)
        entries: list[tuple[str, str, Callable[[], None] | None]] = [
            (self.tr_("Queue"), "Ctrl+1", lambda: self.tabs.setCurrentIndex(0)),
            (self.tr_("Dashboard"), "Ctrl+2", (lambda: self.tabs.setCurrentIndex(1)) if self.dashboard else None),
            (self.tr_("Canned responses"), "Ctrl+Shift+K", self._open_canned_manager),
            (self.tr_("Settings"), "Ctrl+,", self._open_settings),
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

    def switch_language(self, language: str) -> None:
        """Remember the agent's language; the app rebuilds the window in it at once (or at the
        next start when nothing can rebuild it)."""
        settings = self._settings()
        settings.setValue("ui/language", language)
        settings.sync()
        if self._switch_language is not None:
            self._switch_language(language)
        else:
            self.statusBar().showMessage(self.tr_("The language changes at the next start"), 8000)

    def attach_team(self, panel: QWidget, status: QWidget, presence: Callable[[int], str]) -> None:
        """Team mode: the panel (colleagues here, refused changes) above the thread, the team's
        link in the status bar, colleagues' presence on the queue rows."""
        self.team_panel = panel
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

    def attach_canned(self, picker: QWidget) -> None:
        """Ctrl+K in the composer opens the canned responses; the chosen text is inserted."""
        self.canned_picker = picker
        chosen = getattr(picker, "chosen", None)
        if chosen is not None:
            chosen.connect(self._insert_canned)
        QShortcut(QKeySequence("Ctrl+K"), self.composer.editor).activated.connect(self.open_canned)

    def open_canned(self) -> None:
        if self.canned_picker is None or self._current is None:
            return
        messages = self.repo.messages(self._current.id)
        lang = next((m.meta.get("lang") for m in reversed(messages) if m.meta.get("lang")), None)
        self.canned_picker.open_for(lang)  # type: ignore[attr-defined]

    def _insert_canned(self, text: str) -> None:
        self.composer.editor.insertPlainText(text)
        self.composer.editor.setFocus()

    def _anchor(self, url: QUrl) -> None:
        """Links in the thread never open a browser: only our own actions are followed."""
        if url.scheme() == "inbox" and url.path().startswith("attachment/"):
            self.ask_save_attachment(int(url.path().split("/", 1)[1]))
            return
        if url.scheme() == "inbox" and url.path().startswith("original/") and self._original_source:
            message_id = int(url.path().split("/", 1)[1])
            self.original = OriginalView(self._original_source, message_id, self.tr_, self, self._remote_images)
            self.original.show()

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
            refresh = getattr(self.dashboard, "refresh", None)
            if refresh is not None:
                refresh()

    def _open_from_dashboard(self, conversation_id: int) -> None:
        self.tabs.setCurrentIndex(0)
        self.open_conversation(conversation_id)

    # -- views and queue ------------------------------------------------------------------------

    def refresh_views(self) -> None:
        current = self.views.currentItem()
        key = current.data(Qt.ItemDataRole.UserRole).key if current else getattr(self, "_wanted_view", "open")
        self.views.blockSignals(True)
        self.views.clear()
        entries: list[QueueView | str] = [*standard_views(self.agent), self.tr_("Channels"), *channel_views()]
        tags = self.repo.tags()[:8]
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
        if self.model.rowCount():
            self.queue.setCurrentIndex(self.model.index(0))
        else:
            self._show(None)

    def _open_row(self, index: QModelIndex) -> None:
        self._show(self.model.conversation(index.row()) if index.isValid() else None)

    def open_conversation(self, conversation_id: int) -> None:
        row = self.model.row_of(conversation_id)
        if row >= 0:
            self.queue.setCurrentIndex(self.model.index(row))
        else:
            self._show(self.repo.conversation(conversation_id))

    def _show(self, conv: Conversation | None) -> None:
        self._save_draft()
        self._current = conv
        for opened in self.opened:
            opened(conv.id if conv else None)
        if conv is None:
            self.thread_view.setHtml(f"<p style='color:gray'>{self.tr_('Select a conversation')}</p>")
            self.customer.show_customer(None)
            self.composer.set_conversation(None, "", None, self.clock())
            return
        messages = self.repo.messages(conv.id)
        targets, history = self._sla_details(conv.id) if self._sla_details else ([], [])
        files = {m.id: self.repo.attachment_files(m.id) for m in messages if m.attachments}
        self.thread_view.setHtml(
            render_thread(conv, messages, self.tr_, dark=self.dark, targets=targets, history=history, files=files)
        )
        self.thread_view.verticalScrollBar().setValue(self.thread_view.verticalScrollBar().maximum())
        last_in = max((m.sent_at for m in messages if m.direction is Direction.INBOUND), default=None)
        self.composer.set_conversation(conv, self.repo.draft(conv.id), last_in, self.clock())
        self.customer.show_customer(conv.customer_id, conv.id)

    def current_conversation(self) -> Conversation | None:
        return self._current

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

    def change_status(self, status: Status) -> None:
        if self._current is None:
            return
        self.repo.set_status(self._current.id, status, self.clock(), self.agent)
        self.statusBar().showMessage(f"#{self._current.id} → {self.tr_(status.value)}", 4000)
        self._after_change(advance=status in (Status.SOLVED, Status.PENDING))

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
            self.repo.assign(self._current.id, agent, self.clock(), self.agent)
            self._after_change()

    def raise_priority(self) -> None:
        from inbox.models import Priority

        if self._current is None:
            return
        order = [Priority.LOW, Priority.NORMAL, Priority.HIGH, Priority.URGENT]
        nxt = order[min(order.index(self._current.priority) + 1, len(order) - 1)]
        self.repo.set_priority(self._current.id, nxt, self.clock(), self.agent)
        self._after_change()

    def ask_tag(self) -> None:
        if self._current is None:
            return
        tag, ok = QInputDialog.getText(self, self.tr_("Tag"), self.tr_("Tag"))
        if ok and tag.strip():
            self.repo.add_tag(self._current.id, tag.strip(), self.clock(), self.agent)
            self._after_change()

    def _after_change(self, *, advance: bool = False) -> None:
        """Reload the queue and keep the agent's place: the next conversation when one left."""
        row = max(0, self.queue.currentIndex().row())
        current_id = self._current.id if self._current else None
        self.model.reload()
        self.refresh_views()
        self.count_label.setText(f"{self.model.total()} {self.tr_('conversations')}")
        if not advance and current_id is not None and self.model.row_of(current_id) >= 0:
            row = self.model.row_of(current_id)
        if self.model.rowCount():
            self.queue.setCurrentIndex(self.model.index(min(row, self.model.rowCount() - 1)))
            self._open_row(self.queue.currentIndex())
        else:
            self._show(None)

    def _send(self, text: str, note: bool, then_status: str) -> None:
        if self._current is None or self._send_reply is None:
            return
        conv_id = self._current.id
        privately = self.composer.private.isVisible() and self.composer.private.isChecked()
        self._send_reply(conv_id, text, note, then_status, privately)
        self.repo.save_draft(conv_id, "", self.clock())
        if then_status:
            self.repo.set_status(conv_id, Status(then_status), self.clock(), self.agent)
        self._after_change(advance=bool(then_status))

    def _draft_changed(self, _text: str) -> None:
        self._draft_timer.start()

    def _save_draft(self) -> None:
        """Drafts survive switching conversations and restarts."""
        self._draft_timer.stop()
        if self._current is not None:
            text = self.composer.editor.toPlainText()
            if text != self.repo.draft(self._current.id):
                self.repo.save_draft(self._current.id, text, self.clock())

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
        if getattr(self, "_closed", False):  # closed already: the store may be gone
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
        if self._on_tick is not None:
            self._on_tick()
            self.model.reload()
        if self.dashboard is not None and self.tabs.currentWidget() is self.dashboard:
            refresh = getattr(self.dashboard, "refresh", None)
            if refresh is not None:
                refresh()  # the team lead's view stays live while it is shown
        if self._notices is None:
            return
        for title, text, cid in self._notices():
            self.notify(title, text, cid)

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

    def conversations_changed(self, touched: frozenset[int], new: frozenset[int] = frozenset()) -> None:
        """New data arrived (sync): reload the queue and the open thread, keeping the agent's place;
        a new conversation in a watched view (Unassigned, by default) is announced once."""
        self._announce(new)
        current_id = self._current.id if self._current else None
        self.model.reload()
        self.refresh_views()
        self.count_label.setText(f"{self.model.total()} {self.tr_('conversations')}")
        if current_id is not None and current_id in touched:
            row = self.model.row_of(current_id)
            if row >= 0:
                self.queue.setCurrentIndex(self.model.index(row))
            try:
                shown: Conversation | None = self.repo.conversation(current_id)
            except InputError:  # gone (team mode: merged, or no longer the agent's to see)
                shown = None
            self._show(shown)

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
