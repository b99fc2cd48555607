"""What the window shows, as JSON, for a bug report or a test driving the real app from outside.

``snapshot(window)`` reads only what is on screen, from the widgets' texts and the models'
display roles: the queue's rows (with the colleague badge the row delegate paints), the open
thread's header (who else is there), the banners, the status bar, the composer. It is written on
SIGUSR1 (``install_dump_on_signal``) to the path in ``INBOX_DIAGNOSTICS_FILE`` (else
``diagnostics.json`` in the app's data folder); no message bodies beyond what is visible, no secret.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, QSocketNotifier, Qt
from PySide6.QtWidgets import QLabel

from inbox.ui.queue_delegate import QueueDelegate
from inbox.ui.queue_model import ConversationRole
from inbox.ui.view_list import COUNT_ROLE
from inbox.ui.views import QueueView

if TYPE_CHECKING:  # the window is built by the app
    from inbox.ui.main_window import MainWindow

log = logging.getLogger(__name__)

THREAD_CHARS = 4000  # enough of the open thread to see its newest messages


def _label(widget: object) -> dict[str, Any] | None:
    if not isinstance(widget, QLabel):
        return None
    return {"visible": widget.isVisible(), "text": widget.text() if widget.isVisible() else ""}


def snapshot(window: MainWindow) -> dict[str, Any]:
    """The window as the agent sees it now (only visible texts; a hidden badge is empty)."""
    model = window.model
    delegate = window.queue.itemDelegate()
    presence = delegate.presence if isinstance(delegate, QueueDelegate) else None
    rows = []
    for row in range(model.rowCount()):
        index = model.index(row)
        conv = index.data(ConversationRole)
        rows.append({
            "id": conv.id if conv is not None else None,
            "text": index.data(Qt.ItemDataRole.DisplayRole),
            # the badge the delegate paints on line 2 (empty when none is painted)
            "badge": (presence(conv.id) if presence is not None and conv is not None else ""),
            "assignee": conv.assignee if conv is not None else None,
            "status": conv.status.value if conv is not None else None,
        })  # fmt: skip
    current = window.current_conversation()
    views = window.views.currentItem()
    view = views.data(Qt.ItemDataRole.UserRole) if views is not None else None
    panel, status = window.team_panel, window.team_status  # team mode only
    thread_text = window.thread_view.toPlainText() if window.thread_view.isVisible() else ""
    return {
        "title": window.windowTitle(),
        "view": views.text() if views is not None else "",
        "view_key": view.key if isinstance(view, QueueView) else None,
        "views": [{"text": item.text(), "count": item.data(COUNT_ROLE)}
                  for item in (window.views.item(i) for i in range(window.views.count()))],  # fmt: skip
        "queue": rows,
        "open": {
            "id": current.id if current is not None else None,
            "presence": _label(panel.presence) if panel is not None else None,
            "refusal": {"visible": panel.refusal.isVisible(), "text": _label(panel.refusal_text)} if panel is not None else None,
            "thread": thread_text[-THREAD_CHARS:],
        },
        "banner": _label(window.banner),
        "status_bar": window.statusBar().currentMessage(),
        "team_status": _label(status),
        "composer": {
            "text": window.composer.editor.toPlainText(),
            "enabled": window.composer.editor.isEnabled(),
            "focused": window.composer.editor.hasFocus(),
        },
    }


def default_path() -> Path:
    found = os.environ.get("INBOX_DIAGNOSTICS_FILE")
    if found:
        return Path(found)
    import platformdirs

    return Path(platformdirs.user_data_dir("inbox", "inbox")) / "diagnostics.json"


def write_snapshot(window: MainWindow, path: Path, *, screenshot: bool = False) -> Path:
    """Write the snapshot (and, with ``screenshot``, the window's picture beside it) atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if screenshot:
        window.grab().save(str(path.with_suffix(".png")))
    partial = path.with_suffix(".part")
    partial.write_text(json.dumps(snapshot(window), ensure_ascii=False, indent=1), encoding="utf-8")
    partial.replace(path)  # a reader never sees half a file
    return path


class DumpOnSignal(QObject):
    """SIGUSR1 → the window's snapshot (and picture) at ``default_path()``; SIGUSR1 is caught
    through a wakeup socket, so the dump runs on the Qt thread between events."""

    def __init__(self, window: Callable[[], MainWindow], path: Path | None = None) -> None:
        super().__init__()
        self._window = window
        self.path = path or default_path()
        self._reader, writer = socket.socketpair()
        self._reader.setblocking(False)
        writer.setblocking(False)
        self._writer = writer
        signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        signal.signal(signal.SIGUSR1, lambda _signum, _frame: None)  # the wakeup byte does the work
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read, self)
        self._notifier.activated.connect(self._woken)

    def _woken(self) -> None:
        try:
            received = self._reader.recv(64)
        except BlockingIOError:
            return
        if bytes([signal.SIGUSR1]) in received:
            try:
                write_snapshot(self._window(), self.path, screenshot=True)
            except Exception:  # a diagnostic never takes the app down
                log.exception("could not write the diagnostics snapshot")


def install_dump_on_signal(window: Callable[[], MainWindow]) -> DumpOnSignal | None:
    """Where the platform has SIGUSR1 (not Windows)."""
    if not hasattr(signal, "SIGUSR1"):
        return None
    return DumpOnSignal(window)
