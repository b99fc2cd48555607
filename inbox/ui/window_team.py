"""Team mode's hooks in the window: the team panel (colleagues here, refused changes) above the
thread, the team's link in the status bar, presence on the queue rows, a refused reply put back
in the composer, a banner for the server's news. Solo mode calls none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from inbox.ui.queue_delegate import QueueDelegate
from inbox.ui.queue_navigation import QueueNavigation

if TYPE_CHECKING:  # types only: the app builds them
    from inbox.ui.team_panel import TeamPanel, TeamStatus


class TeamHooks(QueueNavigation):
    """What the app's team mode calls on the window."""

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
