"""The Qt for Python the project installs must not corrupt the interpreter.

PySide6 6.12.0 on Python 3.11 dropped one reference to ``None`` on every call of a method that
returns nothing; the app then aborted after a few minutes ("Fatal Python error: none_dealloc").
No other test notices, because none runs the window long enough. This one makes many void calls
through the installed PySide6 in a child process (the bad release aborts the interpreter, which
must not take the test worker with it) and checks ``None``'s reference count is unchanged.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

# Void calls of the kinds the window makes all day: a QObject setter, a painter's state calls
# (the queue delegate paints every row), a model's signal emission, a widget update.
PROBE = textwrap.dedent(
    """
    import sys
    from PySide6.QtCore import QObject, QRect, Qt
    from PySide6.QtGui import QColor, QImage, QPainter, QStandardItemModel
    from PySide6.QtWidgets import QApplication, QLabel

    app = QApplication([])
    obj = QObject()
    image = QImage(64, 64, QImage.Format.Format_ARGB32)
    model = QStandardItemModel()
    label = QLabel()

    def round_of_calls():
        # nine void calls
        obj.setObjectName("queue")
        painter = QPainter(image)
        painter.save()
        painter.setPen(QColor("red"))
        painter.drawText(QRect(0, 0, 64, 16), Qt.AlignmentFlag.AlignLeft, "12 min")
        painter.restore()
        painter.end()
        model.layoutChanged.emit()
        label.setText("x")
        label.update()

    for _ in range(50):  # warm up: first calls fill Qt's and Python's caches once
        round_of_calls()
    before = sys.getrefcount(None)
    for _ in range(5000):
        round_of_calls()
    print(5000 * 9, sys.getrefcount(None) - before)
    """
)


def test_void_calls_leave_none_refcount_unchanged() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    if done.returncode != 0:
        pytest.fail(
            f"the installed PySide6 aborted the interpreter after void calls (exit {done.returncode}):\n"
            f"{done.stderr[-2000:]}"
        )
    calls, drift = (int(part) for part in done.stdout.split())
    assert drift == 0, f"{calls} void calls through PySide6 changed None's reference count by {drift}"
