"""The agent's main window: views, the queue, the thread with its composer, the customer.

Keyboard first: j/k move, Enter opens, r reply, n note, e solve, p pending, a assign to me, t tag,
/ search, Ctrl+Enter send, ? lists every shortcut. Widgets hold no business rules: they call the
read ports and the commands port; a change returns at once and the window
follows it when it landed (the store's writer thread), so it never waits on the disk.

The window is its widgets (``window_widgets``) and one part per job, wired here: moving around
the queue (``queue_navigation``), acting on the open conversation (``conversation_actions``),
staying live (``window_live``), team mode (``window_team``) and the keyboard (``window_keys``).
"""

from __future__ import annotations

from PySide6.QtGui import QCloseEvent

from inbox.ports import Commands, Reads
from inbox.ui import window_keys
from inbox.ui.conversation_actions import ConversationActions
from inbox.ui.i18n import Translator
from inbox.ui.window_live import LiveUpdates
from inbox.ui.window_services import WindowServices
from inbox.ui.window_team import TeamHooks


class MainWindow(ConversationActions, LiveUpdates, TeamHooks):
    """Signals: ``reply_queued()`` once a reply was committed to the outbox (the sync service may
    send it now); ``accounts_shown()`` after the accounts' states were shown again."""

    def __init__(self, repo: Reads, commands: Commands, tr: Translator, services: WindowServices | None = None) -> None:
        super().__init__(repo, commands, tr, services or WindowServices())
        self.views.currentItemChanged.connect(lambda cur, _prev: self._view_selected(cur))
        self._search_timer.timeout.connect(self._apply_search)
        self.sort.currentIndexChanged.connect(lambda _i: self._apply_search())
        self.queue.selectionModel().currentChanged.connect(lambda cur, _prev: self._open_row(cur))
        self.thread_view.anchorClicked.connect(self._anchor)
        self.composer.send_requested.connect(self._send)
        self.composer.draft_changed.connect(self._draft_changed)
        self.customer.open_conversation.connect(self.open_conversation)
        self.customer.customer_changed.connect(lambda: self._after_change())
        self.filter_chips.changed.connect(self._apply_search)
        if self.dashboard is not None:
            self.tabs.currentChanged.connect(self._tab_changed)
            self.dashboard.open_conversation.connect(self._open_from_dashboard)
        self.language_action = window_keys.build_toolbar(self)
        window_keys.install_shortcuts(self)
        self._timer.timeout.connect(self.tick)
        self._timer.start()
        self._slow_timer.timeout.connect(self.slow_tick)
        self._slow_timer.start()
        if self.tray is not None:
            self.tray.messageClicked.connect(self._notice_clicked)
            self.tray.show()
        self._draft_timer.timeout.connect(self._save_draft)
        self._open_timer.timeout.connect(self._open_selected)
        self._restore_layout()
        self.refresh_views()
        self._apply_search()
        self.show_accounts()

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

    def show_shortcuts(self) -> None:
        window_keys.show_shortcuts(self)

    def _tab_changed(self, index: int) -> None:
        if self.dashboard is not None and self.tabs.widget(index) is self.dashboard:
            self.dashboard.refresh()

    def _open_from_dashboard(self, conversation_id: int) -> None:
        self.tabs.setCurrentIndex(0)
        self.open_conversation(conversation_id)

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
        self._open_timer.stop()
        if self.tray is not None:
            self.tray.hide()
        super().closeEvent(event)
