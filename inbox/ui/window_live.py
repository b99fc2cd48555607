"""The window kept live: the one timer of every countdown, the 30 s tick (SLA states, the
dashboard shown, new warnings and breaches), desktop notifications (muted with m), new data from
the sync (the queue re-read, new conversations in a watched view announced once) and the
accounts' states in the status bar.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtWidgets import QSystemTrayIcon

from inbox.ui.queue_navigation import QueueNavigation
from inbox.ui.views import standard_views


class LiveUpdates(QueueNavigation):
    """Timers, notifications and the sync's news."""

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
