"""The agent keeps their place: the SLA tick, a sync, the views' counts and changes to other
conversations never move the selection, the queue's scroll, the open thread or the reply being
written; when the open conversation leaves the view, the row that took its place opens and the
draft stays on its own conversation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import QAbstractItemView
from pytestqt.qtbot import QtBot

from inbox.app.demo import EMAIL_ACCOUNT, X_ACCOUNT, build_demo
from inbox.app.solo import SoloCommands
from inbox.app.workspace import refresh_sla
from inbox.models import Author, Channel, Direction, IdentityKind, Message, Priority, QueueFilter, Status, Surface
from inbox.store.repository import Store
from inbox.ui.i18n import Translator
from inbox.ui.main_window import MainWindow
from inbox.ui.queue_model import QueueModel
from inbox.ui.window_services import WindowServices
from tests.ui.conftest import done_now

BUILT = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)
ROW = 30  # well below the first screen: the queue is scrolled to reach it
DRAFT = "Bonjour, je regarde votre commande et je reviens vers vous"


class Clock:
    def __init__(self) -> None:
        self.now = BUILT

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    build_demo(tmp_path / "demo.db", BUILT)
    s = Store.open(tmp_path / "demo.db")
    yield s
    s.close()


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def window(qtbot: QtBot, store: Store, clock: Clock, solo_commands: Callable[..., SoloCommands]) -> Iterator[MainWindow]:
    w = MainWindow(store, solo_commands(store, clock=clock), Translator("en"),
                   WindowServices(agent="camille", clock=clock, on_tick=done_now(lambda: refresh_sla(store, clock.now))))  # fmt: skip
    qtbot.addWidget(w)
    w.resize(1440, 860)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.close()


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Until ``condition`` holds, letting Qt deliver what the writer thread reports."""
    from PySide6.QtCore import QCoreApplication, QDeadlineTimer, QThread

    deadline = QDeadlineTimer(int(seconds * 1000))
    while not condition():
        assert not deadline.hasExpired(), "not within the wait"
        QCoreApplication.processEvents()
        QThread.msleep(10)


def select_row(window: MainWindow, row: int) -> int:
    """Select a row as the agent would (click), scroll the queue to it, start a reply; returns
    the conversation's id."""
    index = window.model.index(row)
    window.queue.scrollTo(index, QAbstractItemView.ScrollHint.PositionAtCenter)
    window.queue.setCurrentIndex(index)
    conv = window.current_conversation()
    assert conv is not None and conv.id == window.model.conversation(row).id  # type: ignore[union-attr]
    window.composer.editor.setPlainText(DRAFT)
    window.composer.editor.moveCursor(QTextCursor.MoveOperation.Start)
    window.composer.editor.moveCursor(QTextCursor.MoveOperation.NextWord)
    assert window.queue.verticalScrollBar().value() > 0
    return conv.id


def selected_id(window: MainWindow) -> int | None:
    rows = window.queue.selectionModel().selectedRows()
    assert len(rows) == 1
    assert rows[0] == window.queue.currentIndex()
    conv = window.model.conversation(rows[0].row())
    return conv.id if conv else None


def assert_in_place(window: MainWindow, conversation_id: int, scroll: int, cursor: int) -> None:
    assert selected_id(window) == conversation_id
    current = window.current_conversation()
    assert current is not None and current.id == conversation_id
    assert window.queue.verticalScrollBar().value() == scroll
    assert window.composer.editor.toPlainText() == DRAFT
    assert window.composer.editor.textCursor().position() == cursor


def other_row(window: MainWindow, above: bool) -> int:
    """A conversation in the view, above or below the selected one."""
    row = window.queue.currentIndex().row()
    conv = window.model.conversation(row - 3 if above else row + 3)
    assert conv is not None
    return conv.id


def new_mention(n: int, at: datetime) -> Message:
    author = Author(IdentityKind.TWITTER, f"990000{n}", f"@newcomer{n}", f"Newcomer {n}", followers=10)
    tid = str(1_900_000_000_000_000_000 + n)
    return Message(tid, Channel.TWITTER, Surface.MENTION, Direction.INBOUND, author,
                   f"@BriocheCo where is my order? ({n})", at, thread_key=f"x:conv:{tid}")  # fmt: skip


def test_the_sla_tick_keeps_the_place(window: MainWindow, clock: Clock) -> None:
    cid = select_row(window, ROW)
    scroll = window.queue.verticalScrollBar().value()
    cursor = window.composer.editor.textCursor().position()
    states = {window.model.conversation(i).sla_state for i in range(window.model.rowCount())}  # type: ignore[union-attr]
    clock.now = BUILT + timedelta(hours=3)  # warnings and breaches pass: the tick re-reads the queue
    window.slow_tick()
    assert {window.model.conversation(i).sla_state for i in range(window.model.rowCount())} != states  # type: ignore[union-attr]
    assert_in_place(window, cid, scroll, cursor)
    window.slow_tick()
    assert_in_place(window, cid, scroll, cursor)


def test_a_sync_with_new_conversations_and_messages_keeps_the_place(window: MainWindow, store: Store, clock: Clock) -> None:
    cid = select_row(window, ROW)
    scroll = window.queue.verticalScrollBar().value()
    cursor = window.composer.editor.textCursor().position()
    clock.now = BUILT + timedelta(minutes=5)
    result = store.ingest(X_ACCOUNT, [new_mention(n, clock.now - timedelta(days=5)) for n in range(4)])
    assert result.added == 4
    new = frozenset(c.id for c in store.queue(QueueFilter(), limit=5000) if c.customer_name.startswith("Newcomer"))
    refresh_sla(store, clock.now, sorted(new))
    window.conversations_changed(new, new)
    # breached for days: the most urgent, above the agent's row, which moved down by four
    assert window.model.row_of(cid) == ROW + 4
    assert_in_place(window, cid, scroll, cursor)


def test_other_conversations_changing_status_keep_the_place(window: MainWindow, store: Store, clock: Clock) -> None:
    cid = select_row(window, ROW)
    scroll = window.queue.verticalScrollBar().value()
    cursor = window.composer.editor.textCursor().position()
    above, below = other_row(window, above=True), other_row(window, above=False)
    store.set_status(above, Status.SOLVED, clock.now, "yanis")  # another agent solves two
    store.set_status(below, Status.PENDING, clock.now, "yanis")
    window.conversations_changed(frozenset({above, below}))
    assert window.model.row_of(above) == window.model.row_of(below) == -1
    assert_in_place(window, cid, scroll, cursor)
    window.refresh_views()  # the views' counts
    assert_in_place(window, cid, scroll, cursor)


def test_a_new_message_in_the_open_conversation_keeps_the_thread_and_the_reply(
    window: MainWindow, store: Store, clock: Clock
) -> None:
    loaded = [window.model.conversation(i) for i in range(window.model.rowCount())]
    long = max((c for c in loaded if c and c.channel is Channel.EMAIL), key=lambda c: c.message_count)
    assert long.message_count >= 3
    window.resize(1440, 520)  # a laptop's height: the thread scrolls
    window.open_conversation(long.id)
    scroll = window.queue.verticalScrollBar().value()
    window.composer.editor.setPlainText(DRAFT)
    cursor = 5
    moved = window.composer.editor.textCursor()
    moved.setPosition(cursor)
    window.composer.editor.setTextCursor(moved)
    window.composer.note.setChecked(True)  # the agent is writing a private note
    bar = window.thread_view.verticalScrollBar()
    assert bar.maximum() > 0
    bar.setValue(bar.maximum() // 3)  # reading an earlier message
    reading = bar.value()
    messages = store.messages(long.id)
    last = messages[-1]
    customer = next(m for m in messages if m.direction is Direction.INBOUND)
    author = Author(IdentityKind.EMAIL, customer.author_key, customer.author_key, customer.author_name)
    store.ingest(EMAIL_ACCOUNT, [Message(
        "late-answer@example.org", Channel.EMAIL, Surface.EMAIL, Direction.INBOUND, author,
        "One more thing: the parcel was left at the neighbour's.", clock.now, subject=f"Re: {long.subject}",
        reply_to_id=last.provider_id, references=tuple(m.provider_id for m in messages),
    )])  # fmt: skip
    assert len(store.messages(long.id)) == len(messages) + 1
    window.conversations_changed(frozenset({long.id}))
    assert "left at the neighbour" in window.thread_view.toPlainText()
    assert bar.value() == reading
    assert window.composer.editor.toPlainText() == DRAFT
    assert window.composer.editor.textCursor().position() == cursor
    assert window.composer.note.isChecked()
    assert selected_id(window) == long.id
    assert window.queue.verticalScrollBar().value() == scroll


def test_when_the_open_conversation_leaves_the_view_the_next_row_opens_and_the_draft_stays(
    window: MainWindow, store: Store, clock: Clock
) -> None:
    cid = select_row(window, ROW)
    after = window.model.conversation(ROW + 1)
    assert after is not None
    store.set_status(cid, Status.SOLVED, clock.now, "yanis")  # solved elsewhere, arrives by sync
    window.conversations_changed(frozenset({cid}))
    assert window.model.row_of(cid) == -1
    assert selected_id(window) == after.id
    current = window.current_conversation()
    assert current is not None and current.id == after.id
    assert window.composer.editor.toPlainText() == store.draft(after.id) == ""
    wait_for(lambda: store.draft(cid) == DRAFT)  # saved on the store's writer thread
    window.open_conversation(cid)  # back to it (from the customer's history, say)
    assert window.composer.editor.toPlainText() == DRAFT


def test_when_the_last_row_leaves_the_view_the_previous_one_opens(window: MainWindow, store: Store, clock: Clock) -> None:
    pending = next(i for i in range(window.views.count()) if window.views.item(i).text().startswith("Pending"))
    window.views.setCurrentRow(pending)
    rows = window.model.rowCount()
    assert 3 < rows == window.model.total()
    last = select_row(window, rows - 1)
    previous = window.model.conversation(rows - 2)
    assert previous is not None
    store.set_status(last, Status.OPEN, clock.now, "yanis")  # the customer wrote back: no longer pending
    window.conversations_changed(frozenset({last}))
    assert window.model.rowCount() == rows - 1
    assert selected_id(window) == previous.id
    wait_for(lambda: store.draft(last) == DRAFT)  # saved on the store's writer thread


def test_reloading_moves_rows_in_place(qtmodeltester: object, store: Store, clock: Clock) -> None:
    """The model re-reads by removing, moving and inserting rows (no reset), and ends up exactly
    as the repository's queue; Qt's model tester checks every signal on the way."""
    model = QueueModel(store)
    flt = QueueFilter(statuses=frozenset({Status.NEW, Status.OPEN}))
    model.set_filter(flt)
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    resets: list[bool] = []
    model.modelReset.connect(lambda: resets.append(True))
    first, fifth = model.conversation(0), model.conversation(4)
    assert first is not None and fifth is not None
    store.set_status(first.id, Status.SOLVED, clock.now, "yanis")
    store.ingest(X_ACCOUNT, [new_mention(1, clock.now - timedelta(hours=1))])
    store.set_priority(fifth.id, Priority.URGENT, clock.now, "yanis")
    refresh_sla(store, clock.now + timedelta(minutes=1))
    model.reload()
    assert resets == []
    expected = [c.id for c in store.queue(flt, limit=max(200, model.rowCount()))]
    assert [model.conversation(i).id for i in range(model.rowCount())] == expected  # type: ignore[union-attr]


def test_a_conversation_past_the_loaded_rows_is_found_and_one_that_left_is_not(store: Store) -> None:
    model = QueueModel(store)
    flt = QueueFilter(statuses=frozenset({Status.NEW, Status.OPEN}))
    model.set_filter(flt)
    loaded = model.rowCount()
    assert loaded < model.total()
    far = store.queue(flt, limit=1, offset=model.total() - 1)[0]
    solved = store.queue(QueueFilter(statuses=frozenset({Status.SOLVED})), limit=1)[0]
    assert model.find_row(solved.id) == -1
    assert model.rowCount() == loaded  # nothing loaded to look for a conversation not in the view
    assert model.find_row(far.id) == model.total() - 1


def test_a_conversation_opened_from_outside_the_view_stays_open(window: MainWindow, store: Store, clock: Clock) -> None:
    solved = store.queue(QueueFilter(statuses=frozenset({Status.SOLVED})), limit=1)[0]
    row = window.queue.currentIndex().row()
    window.open_conversation(solved.id)  # from the customer's history: not in "All open"
    window.composer.editor.setPlainText(DRAFT)
    clock.now = BUILT + timedelta(minutes=30)
    window.slow_tick()
    window.conversations_changed(frozenset({solved.id}))
    current = window.current_conversation()
    assert current is not None and current.id == solved.id
    assert window.composer.editor.toPlainText() == DRAFT
    assert window.queue.currentIndex().row() == row


def test_switching_language_keeps_the_open_conversation_and_the_reply(qtbot: QtBot, store: Store) -> None:
    from inbox.app.shell import Shell

    shell = Shell(store, dark=False, demo=True)
    first = shell.window
    qtbot.addWidget(first)
    first.show()
    cid = select_row(first, ROW)
    first.language_action.trigger()
    second = shell.window
    qtbot.addWidget(second)
    assert second is not first
    current = second.current_conversation()
    assert current is not None and current.id == cid
    assert selected_id(second) == cid
    assert second.composer.editor.toPlainText() == DRAFT
    second.close()


def test_a_view_switch_paints_the_queue_before_its_first_row_opens(qtbot: QtBot, window: MainWindow, store: Store) -> None:
    """Issue 19: the switch selects the new queue's first row at once, and its conversation opens
    on the next turn of the event loop (rendering a thread held the repaint ~100 ms at 100k);
    the reply being written stays saved on its own conversation."""
    cid = select_row(window, ROW)
    shown = window.thread_view.toPlainText()
    pending = next(i for i in range(window.views.count()) if window.views.item(i).text().startswith("Pending"))
    window.views.setCurrentRow(pending)
    first = window.model.conversation(0)
    assert first is not None and first.status is Status.PENDING and first.id != cid
    assert selected_id(window) == first.id
    assert window.thread_view.toPlainText() == shown  # not rendered during the switch
    qtbot.waitUntil(lambda: window.thread_view.toPlainText() != shown)
    current = window.current_conversation()
    assert current is not None and current.id == first.id
    assert window.composer.editor.toPlainText() == store.draft(first.id)
    wait_for(lambda: store.draft(cid) == DRAFT)


def test_a_key_pressed_right_after_a_view_switch_acts_on_the_row_selected(
    qtbot: QtBot, window: MainWindow, store: Store
) -> None:
    cid = select_row(window, ROW)
    pending = next(i for i in range(window.views.count()) if window.views.item(i).text().startswith("Pending"))
    window.views.setCurrentRow(pending)
    first = window.model.conversation(0)
    assert first is not None and first.id != cid
    window.queue.setFocus()
    qtbot.keyClick(window.queue, Qt.Key.Key_E)  # solve, before the event loop turned
    wait_for(lambda: store.conversation(first.id).status is Status.SOLVED)
    assert store.conversation(cid).status is not Status.SOLVED
