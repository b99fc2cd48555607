"""The app's asyncio loop: qasync's QObjects are deleted by Qt, later, never by Python mid-signal."""

from __future__ import annotations

import asyncio
import socket

import shiboken6
from PySide6.QtCore import QCoreApplication, QEvent
from PySide6.QtWidgets import QApplication

from inbox.ui.event_loop import InboxEventLoop


def test_a_reader_removed_from_its_own_callback_is_deleted_later_by_qt(qapp: QApplication) -> None:
    loop = InboxEventLoop(qapp)
    asyncio.set_event_loop(loop)
    left, right = socket.socketpair()
    try:
        seen: list[object] = []
        done = loop.create_future()

        def readable() -> None:
            seen.append(left.recv(16))
            notifier = loop._read_notifiers[left.fileno()]
            loop.remove_reader(left.fileno())  # inside the notifier's own activated signal
            seen.append(shiboken6.isValid(notifier) and notifier.parent() is qapp)  # Qt owns it now
            done.set_result(notifier)

        loop.add_reader(left.fileno(), readable)
        right.send(b"ping")
        notifier = loop.run_until_complete(asyncio.wait_for(done, 5))
        assert seen == [b"ping", True]
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
        assert not shiboken6.isValid(notifier)  # and deleted it once the signal was over
    finally:
        left.close()
        right.close()
        loop.close()
        asyncio.set_event_loop(None)


def test_closing_the_loop_hands_its_timer_and_signaller_to_qt(qapp: QApplication) -> None:
    loop = InboxEventLoop(qapp)
    timer, signaller = loop._timer, loop._QEventLoop__call_soon_signaller
    loop.run_until_complete(asyncio.sleep(0))
    loop.close()
    assert timer.parent() is qapp and signaller.parent() is qapp
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)
    assert not shiboken6.isValid(timer) and not shiboken6.isValid(signaller)
