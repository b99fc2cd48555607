"""The main window's widgets and the state its parts share, laid out and not yet wired.

``MainWindow`` is this plus its behaviour, one module per job: ``queue_navigation`` (views,
search, the queue, keeping the agent's place, opening a conversation), ``conversation_actions``
(what the agent does to the open conversation), ``window_live`` (the timers, notifications, new
data), ``window_team`` (team mode's hooks) and ``window_keys`` (the toolbar and the keyboard).
Each part reads the widgets declared here; none builds a widget another one uses.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMainWindow,
    QSplitter,
    QSystemTrayIcon,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from inbox.models import Conversation, QueueSort
from inbox.ports import Commands, Reads
from inbox.ui.composer import Composer
from inbox.ui.customer_panel import CustomerPanel
from inbox.ui.filter_chips import FilterChips
from inbox.ui.i18n import Translator
from inbox.ui.icons import icon
from inbox.ui.original_view import OfflineBrowser, OriginalView
from inbox.ui.queue_delegate import QueueDelegate
from inbox.ui.queue_list import QueueList
from inbox.ui.queue_model import QueueModel
from inbox.ui.view_list import ViewCountDelegate
from inbox.ui.window_services import WindowServices

if TYPE_CHECKING:  # types only: the app builds and passes them
    from inbox.ui.canned import CannedPicker
    from inbox.ui.team_panel import TeamPanel, TeamStatus


class WindowWidgets(QMainWindow):
    """The views column, the queue, the thread with its composer, the customer, the banner, the
    tabs and the status bar, over the read port, the commands port and the app's services.

    Signals: ``reply_queued()`` once a reply was committed to the outbox (the sync service may
    send it now); ``accounts_shown()`` after the accounts' states were shown again."""

    reply_queued = Signal()
    accounts_shown = Signal()  # the accounts' states were read again (the sync reported)
    _landed = Signal(object, object)  # a command's future and what to do then, on the Qt thread

    def __init__(self, repo: Reads, commands: Commands, tr: Translator, services: WindowServices) -> None:
        super().__init__()
        self.repo = repo
        self.commands = commands
        self.tr_ = tr
        self.services = services
        self.agent = services.agent
        self.clock = services.clock
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
        self.canned_picker: CannedPicker | None = None  # attach_canned
        self.original: OriginalView | None = None  # the last message opened as its original
        self._wanted_view = "open"  # the view to select once the views are listed (the last one left)
        self._closed = False  # closed already: the store may be gone
        self._last_notice: int | None = None  # the conversation of the last tray notification
        self.setWindowTitle("Inbox")
        self.setWindowIcon(icon("app"))
        self.resize(1440, 860)

        self.views = QListWidget()
        self.views.setAccessibleName(tr("Views"))
        self.views.setMaximumWidth(260)
        self.views.setItemDelegate(ViewCountDelegate(self.views))
        self.views.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.search = QLineEdit()
        self.search.setPlaceholderText(tr("Search all messages (/)"))
        self.search.setAccessibleName(tr("Search all messages (/)"))
        self.search.setClearButtonEnabled(True)
        self._search_timer = QTimer(self, singleShot=True, interval=150)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.sort = QComboBox()
        self.sort.setAccessibleName(tr("Sort"))
        for s, label in ((QueueSort.URGENCY, tr("Most urgent")), (QueueSort.NEWEST, tr("Newest")),
                         (QueueSort.OLDEST, tr("Oldest")), (QueueSort.PRIORITY, tr("Priority"))):
            self.sort.addItem(label, s.value)

        self.model = QueueModel(repo)
        self.model.now = self.clock()
        self.queue = QueueList()
        self.queue.setAccessibleName(tr("Queue"))
        self.queue.setModel(self.model)
        self.queue.setItemDelegate(QueueDelegate(tr))
        self.count_label = QLabel()

        self.thread_view = OfflineBrowser()  # a mail naming a local file or remote image loads nothing
        self.thread_view.setAccessibleName(tr("Thread"))
        self.thread_view.setOpenLinks(False)
        self.thread_view.setOpenExternalLinks(False)
        self.composer = Composer(tr, services.weighted_length)
        self.customer = CustomerPanel(repo, commands, tr, services.avatar)
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
        self.dashboard = services.dashboard
        if self.dashboard is not None:
            self.tabs.addTab(self.dashboard, tr("Dashboard"))
        outer.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.account_label = QLabel()
        self.statusBar().addPermanentWidget(self.account_label)

        self._timer = QTimer(self, interval=1000)  # the one timer of every countdown
        self._slow_timer = QTimer(self, interval=30_000)  # SLA states and notifications
        self.tray = QSystemTrayIcon(icon("app"), self) if QSystemTrayIcon.isSystemTrayAvailable() else None
        self._draft_timer = QTimer(self, singleShot=True, interval=600)  # the draft saved as typed
        # A view switch opens its first row on the next turn of the event loop, once the new queue
        # has painted (QueueNavigation._open_row); _open_later is set while it selects that row.
        self._open_timer = QTimer(self, singleShot=True, interval=0)
        self._open_later = False

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

    def _settings(self) -> QSettings:
        return QSettings("inbox", "inbox")
