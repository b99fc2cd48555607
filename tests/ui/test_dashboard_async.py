"""The dashboard reads its figures off the Qt thread when a qasync loop runs: the window keeps
processing events while the source is read, the figures appear once read, a result overtaken by
a newer refresh is dropped, and closing cancels the reading."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

import pytest
from PySide6.QtCore import QTimer

from inbox.sla.reports import Snapshot
from inbox.ui.dashboard import Dashboard
from inbox.ui.i18n import Translator
from tests.ui.test_dashboard import NOW, FakeSource, cell


class HeldSource(FakeSource):
    """A source whose n-th snapshot waits until the test releases it (or 10 s pass)."""

    def __init__(self, held: int = 1) -> None:
        super().__init__()
        self.entered = [threading.Event() for _ in range(held)]
        self.release = [threading.Event() for _ in range(held)]
        self.released_in_time: list[bool] = []
        self.read_on: list[threading.Thread] = []
        self.calls = 0
        self.fail = False

    def snapshot(self, now: datetime) -> Snapshot:
        self.read_on.append(threading.current_thread())
        n, self.calls = self.calls, self.calls + 1
        if n < len(self.release):
            self.entered[n].set()
            self.released_in_time.append(self.release[n].wait(10))
        if self.fail:
            raise RuntimeError("disk gone")
        snap = super().snapshot(now)
        return Snapshot(**{**{f: getattr(snap, f) for f in Snapshot.__slots__},  # type: ignore[attr-defined]
                           "open_by_channel": {"email": {"new": 100 + n}}})  # fmt: skip


async def until(condition: Callable[[], bool], what: str) -> None:
    """Let the loop run until ``condition`` holds (bounded: a hang fails instead of waiting)."""
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"never happened: {what}")


@pytest.fixture()
def make_board(qtbot: object) -> Iterator[Callable[[FakeSource], Dashboard]]:
    made: list[Dashboard] = []

    def make(source: FakeSource) -> Dashboard:
        board = Dashboard(source, Translator("en"), clock=lambda: NOW)
        qtbot.addWidget(board)  # type: ignore[attr-defined]
        board.resize(1200, 800)
        made.append(board)
        return board

    yield make
    for board in made:
        board.close()


def test_refresh_reads_in_a_worker_while_the_qt_thread_keeps_running(
    qasync_loop: asyncio.AbstractEventLoop, make_board: Callable[[FakeSource], Dashboard]
) -> None:
    source = HeldSource()
    board = make_board(source)
    ticks: list[int] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(1))

    async def scenario() -> None:
        timer.start()
        board.show()  # first shown: reads the figures
        assert board.updating and not board.status.isHidden()
        assert board.status.text() == "Updating…"
        await until(source.entered[0].is_set, "the worker reads the snapshot")
        seen = len(ticks)
        await until(lambda: len(ticks) >= seen + 5, "the Qt thread runs its timers meanwhile")
        assert board.snapshot is None and board.open_model.rowCount() == 0  # nothing yet
        source.release[0].set()
        await until(lambda: board.snapshot is not None, "the figures are applied")
        timer.stop()

    qasync_loop.run_until_complete(scenario())
    assert source.released_in_time == [True]  # released by the test, not by the 10 s bound
    assert source.read_on[0] is not threading.main_thread()
    assert cell(board.open_model, 0, 1) == "100"
    assert cell(board.report_model, 0, 0) == "email"
    assert not board.updating and board.status.isHidden()


def test_a_result_overtaken_by_a_newer_refresh_is_dropped(
    qasync_loop: asyncio.AbstractEventLoop, make_board: Callable[[FakeSource], Dashboard]
) -> None:
    source = HeldSource()
    board = make_board(source)

    async def scenario() -> None:
        board.show()
        await until(source.entered[0].is_set, "the first reading is under way")
        board.by.setCurrentIndex(board.by.findData("agent"))  # a newer refresh, live figures too
        await until(lambda: board.snapshot is not None, "the newer figures are applied")
        assert cell(board.open_model, 0, 1) == "101" and cell(board.report_model, 0, 0) == "camille"
        source.release[0].set()
        await until(lambda: len(source.asked) >= 5, "the first reading ends")  # 2 groupings, then 3
        await asyncio.sleep(0.05)  # give a wrongly kept result every chance to land

    qasync_loop.run_until_complete(scenario())
    assert cell(board.open_model, 0, 1) == "101" and cell(board.report_model, 0, 0) == "camille"
    assert board.report is not None and board.report.by == "agent"


def test_a_refresh_asked_again_at_once_joins_the_reading_under_way(
    qasync_loop: asyncio.AbstractEventLoop, make_board: Callable[[FakeSource], Dashboard]
) -> None:
    source = HeldSource()
    board = make_board(source)
    board.JOIN_S = 3600.0  # a second refresh always comes "at once"

    async def scenario() -> None:
        board.show()  # showing the tab: showEvent ...
        board.refresh()  # ... and the tab switch both ask
        await until(source.entered[0].is_set, "the reading is under way")
        source.release[0].set()
        await until(lambda: board.snapshot is not None, "the figures are applied")

    qasync_loop.run_until_complete(scenario())
    assert source.calls == 1


def test_closing_cancels_the_reading_and_a_failure_is_shown(
    qasync_loop: asyncio.AbstractEventLoop, make_board: Callable[[FakeSource], Dashboard]
) -> None:
    source = HeldSource()
    board = make_board(source)

    async def scenario() -> None:
        board.show()
        await until(source.entered[0].is_set, "the reading is under way")
        board.close()
        assert not board.updating
        source.release[0].set()
        await until(lambda: len(source.asked) >= 2, "the reading ends")
        await asyncio.sleep(0.05)
        assert board.snapshot is None  # dropped: the board was closed
        failing = HeldSource(held=0)
        failing.fail = True
        other = make_board(failing)
        other.show()
        await until(lambda: not other.updating, "the failed reading ends")
        assert other.status.text() == "The figures could not be read" and not other.status.isHidden()

    qasync_loop.run_until_complete(scenario())


def test_without_a_running_loop_the_figures_are_read_at_once(
    make_board: Callable[[FakeSource], Dashboard],
) -> None:
    source = HeldSource(held=0)
    board = make_board(source)
    board.show()
    assert source.read_on == [threading.main_thread()]
    assert cell(board.open_model, 0, 1) == "100" and not board.updating
    assert board.snapshot is not None and board.snapshot.at == NOW
    assert NOW - timedelta(days=7) == board.report.since  # type: ignore[union-attr]
