"""UI test fixtures: a qasync loop that fails the test on any unhandled asyncio error."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import TypeVar

import pytest
from PySide6.QtWidgets import QApplication

from inbox.app.solo import SoloCommands
from inbox.app.workspace import Workspace
from inbox.store.repository import Store
from inbox.store.writer import StoreWriter
from inbox.ui.event_loop import InboxEventLoop

T = TypeVar("T")


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


def done_now(job: Callable[[], T]) -> Callable[[], Future[T]]:
    """An ``on_tick`` for a window under test: runs ``job`` at once on the test's thread and
    hands the window a finished future (the app runs it on the store's writer thread)."""

    def tick() -> Future[T]:
        future: Future[T] = Future()
        future.set_result(job())
        return future

    return tick


@pytest.fixture()
def solo_commands() -> Iterator[Callable[[Store], SoloCommands]]:
    """Build the app's solo commands over a store (its own writer thread, closed after the test)."""
    writers: list[StoreWriter] = []

    def build(store: Store, agent: str = "camille", clock: Callable[[], datetime] | None = None) -> SoloCommands:
        writer = StoreWriter(store)
        writers.append(writer)
        return SoloCommands(writer, Workspace(store, agent, clock=clock or (lambda: datetime.now(UTC))))

    yield build
    for writer in writers:
        writer.close()
