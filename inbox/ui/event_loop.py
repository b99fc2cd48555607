"""The asyncio loop over Qt's event loop: qasync's, with Qt-side lifetimes for its QObjects.

qasync 0.28 (the newest release) lets Python own the QObjects it makes: a ``QSocketNotifier`` per
watched socket, a timer and a signaller. Python deletes such an object the moment its last
reference goes, which can be inside that notifier's own ``activated`` signal (asyncio removes a
reader from its callback), or in whatever thread the garbage collector happens to run. With
PySide6 >= 6.8 that crashes at random (qasync issue #154, PYSIDE-3165): a window test here
segfaulted about once in eight runs of ``tests/ui``. qasync fixed it after 0.28 (pull request
#158) by parenting those objects to the application and deleting them with ``deleteLater``; this
subclass does the same until a release carries the fix.
"""

from __future__ import annotations

import itertools
from typing import Any

import qasync
from PySide6.QtCore import QCoreApplication, QObject


def _retire(obj: QObject | None) -> None:
    """Hand ``obj`` to Qt and delete it on the next turn of the event loop, in its own thread."""
    if obj is None:
        return
    try:
        app = QCoreApplication.instance()
        if app is not None and obj.thread() == app.thread():
            obj.setParent(app)  # Qt owns it now: dropping the Python wrapper no longer deletes it
        obj.deleteLater()
    except RuntimeError:  # already deleted on the C++ side
        pass


class InboxEventLoop(qasync.QEventLoop):  # type: ignore[misc]
    """``qasync.QEventLoop`` whose socket notifiers, timer and signaller are deleted by Qt."""

    def _add_reader(self, fd: Any, callback: Any, *args: Any) -> None:
        replaced = self._read_notifiers.get(fd)
        super()._add_reader(fd, callback, *args)
        _retire(replaced)

    def _remove_reader(self, fd: Any) -> Any:
        notifier = None if self.is_closed() else self._read_notifiers.get(fd)
        removed = super()._remove_reader(fd)
        _retire(notifier)
        return removed

    def _add_writer(self, fd: Any, callback: Any, *args: Any) -> None:
        replaced = self._write_notifiers.get(fd)
        super()._add_writer(fd, callback, *args)
        _retire(replaced)

    def _remove_writer(self, fd: Any) -> Any:
        notifier = None if self.is_closed() else self._write_notifiers.get(fd)
        removed = super()._remove_writer(fd)
        _retire(notifier)
        return removed

    def close(self) -> None:
        if self.is_running() or self.is_closed():
            super().close()
            return
        notifiers = list(itertools.chain(self._read_notifiers.values(), self._write_notifiers.values()))
        timer = self._timer
        signaller = getattr(self, "_QEventLoop__call_soon_signaller", None)
        super().close()
        for obj in (*notifiers, timer, signaller):
            _retire(obj)
