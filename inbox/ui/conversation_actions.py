"""What the agent does to the open conversation: reply or note (then a status), solve, pending,
assign, tag, raise the priority; decide on a reply that failed or may have been sent; save an
attachment; open a message's original; insert a canned response. Each change goes to the
commands port and the window follows it once it landed.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

from PySide6.QtCore import QUrl
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFileDialog, QInputDialog

from inbox.models import AttachmentFile, Priority, Status
from inbox.ui.original_view import OriginalView
from inbox.ui.queue_navigation import QueueNavigation

if TYPE_CHECKING:  # types only: the app builds and passes it
    from inbox.ui.canned import CannedPicker


class ConversationActions(QueueNavigation):
    """The thread pane's actions on the open conversation (``_current``)."""

    def focus_reply(self) -> None:
        self.composer.note.setChecked(False)
        self.composer.editor.setFocus()

    def focus_note(self) -> None:
        self.composer.note.setChecked(True)
        self.composer.editor.setFocus()

    def change_status(self, status: Status) -> None:
        if self._current is None:
            return
        self.statusBar().showMessage(f"#{self._current.id} → {self.tr_(status.value)}", 4000)
        self.change_status_of(self._current.id, status)

    def change_status_of(self, conversation_id: int, status: Status) -> None:
        advance = status in (Status.SOLVED, Status.PENDING)
        self.when_landed(self.commands.set_status(conversation_id, status), lambda: self._after_change(advance=advance))

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
