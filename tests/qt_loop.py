"""The qasync event loop the app runs on, for tests that drive the real window and its services."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from PySide6.QtWidgets import QApplication

from inbox.ui.event_loop import InboxEventLoop


@pytest.fixture()
def loop(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """A qasync loop (as ``run_app`` makes it); an unhandled asyncio error fails the test."""
    errors: list[dict[str, object]] = []
    ev = InboxEventLoop(qapp)
    ev.set_exception_handler(lambda _loop, ctx: errors.append(ctx))
    asyncio.set_event_loop(ev)
    yield ev
    ev.close()
    asyncio.set_event_loop(None)
    assert not errors, errors
