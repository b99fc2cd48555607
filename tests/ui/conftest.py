"""UI test fixtures: a qasync loop that fails the test on any unhandled asyncio error."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from inbox.ui.event_loop import InboxEventLoop


@pytest.fixture()
def qasync_loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync event loop over the test's QApplication, set as the current loop.

    Drive it with ``qasync_loop.run_until_complete(coro)``. Tasks still pending at the end are
    cancelled (a widget that forgets to cancel its own shows up as an error); an exception that
    no one retrieved, or any other error reported to the loop's handler, fails the test.
    """
    errors: list[dict[str, object]] = []
    # closing a test's only window must not quit the app (and stop the loop) mid-test
    quit_on_close = qapp.quitOnLastWindowClosed()
    qapp.setQuitOnLastWindowClosed(False)
    loop = InboxEventLoop(qapp)
    loop.set_exception_handler(lambda _loop, context: errors.append(context))
    asyncio.set_event_loop(loop)
    try:
        yield loop
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    finally:
        loop.close()
        asyncio.set_event_loop(None)
        qapp.setQuitOnLastWindowClosed(quit_on_close)
    assert not errors, f"unhandled asyncio errors: {errors}"
    assert not pending, f"tasks left running after the test: {pending}"
