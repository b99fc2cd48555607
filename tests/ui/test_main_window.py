"""The real window, driven from the keyboard as an agent would, on the demo workspace."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPalette
from PySide6.QtWidgets import QApplication, QStyle, QStyleOptionViewItem

from inbox.app.demo import build_demo
from inbox.app.solo import SoloCommands
from inbox.app.workspace import Workspace
from inbox.models import QueueFilter, QueueSort, Status
from inbox.store.repository import Store
from inbox.store.writer import StoreWriter
from inbox.ui.i18n import Translator
from inbox.ui.main_window import MainWindow
from inbox.ui.queue_delegate import ROW_HEIGHT, QueueDelegate
from inbox.ui.queue_model import QueueModel
from inbox.ui.text import age
from inbox.ui.window_services import WindowServices

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


@pytest.fixture()
def store(tmp_path: Path) -> Iterator[Store]:
    build_demo(tmp_path / "demo.db", NOW)
    s = Store.open(tmp_path / "demo.db")
    yield s
    s.close()


@pytest.fixture()
def commands(store: Store) -> Iterator[SoloCommands]:
    """Changes as the app makes them: on the store's writer thread, stamped camille at NOW."""
    writer = StoreWriter(store)
    yield SoloCommands(writer, Workspace(store, "camille", clock=lambda: NOW))
    writer.close()


@pytest.fixture()
def window(qtbot: object, store: Store, commands: SoloCommands) -> Iterator[MainWindow]:
    w = MainWindow(store, commands, Translator("en"), WindowServices(agent="camille", clock=lambda: NOW))
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    w.show()
    yield w
    w.close()


def test_queue_model_passes_qt_model_tester(qtmodeltester: object, store: Store) -> None:
    model = QueueModel(store)
    model.set_filter(QueueFilter())
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_triage_from_the_keyboard(qtbot: object, window: MainWindow, store: Store) -> None:
    bot = qtbot  # type: ignore[assignment]
    window.queue.setFocus()
    first = window.current_conversation()
    assert first is not None
    bot.keyClick(window.queue, "j")  # type: ignore[attr-defined]
    second = window.current_conversation()
    assert second is not None and second.id != first.id
    bot.keyClick(window.queue, "a")  # type: ignore[attr-defined]
    bot.waitUntil(lambda: store.conversation(second.id).assignee == "camille")  # type: ignore[attr-defined]
    bot.keyClick(window.queue, "e")  # type: ignore[attr-defined]
    bot.waitUntil(lambda: store.conversation(second.id).status is Status.SOLVED)  # type: ignore[attr-defined]
    bot.waitUntil(lambda: getattr(window.current_conversation(), "id", second.id) != second.id)  # type: ignore[attr-defined]
    after = window.current_conversation()
    assert after is not None and after.id != second.id  # moved on to the next one
    bot.keyClick(window.queue, "p")  # type: ignore[attr-defined]
    bot.waitUntil(lambda: store.conversation(after.id).status is Status.PENDING)  # type: ignore[attr-defined]
    kinds = [e.kind.value for e in store.events(second.id)]
    assert "assigned" in kinds and kinds[-1] == "status"


def test_the_queue_moves_as_a_list_from_the_keyboard(qtbot: object, window: MainWindow) -> None:
    """Arrows, Page Down, End and Home move the open row as in any list (the queue is a table of
    one column underneath, where Home and End would stay on the row)."""
    bot = qtbot  # type: ignore[assignment]
    window.queue.setFocus()
    window.queue.setCurrentIndex(window.model.index(0))
    rows = []
    for key in (Qt.Key.Key_Down, Qt.Key.Key_Down, Qt.Key.Key_PageDown, Qt.Key.Key_End, Qt.Key.Key_Up, Qt.Key.Key_Home):
        bot.keyClick(window.queue, key)  # type: ignore[attr-defined]
        rows.append(window.queue.currentIndex().row())
    assert rows[:2] == [1, 2] and rows[2] > 2
    assert rows[3] >= window.model.rowCount() - 1 - 100 and rows[3] > rows[2]  # the last row loaded
    assert rows[4:] == [rows[3] - 1, 0]
    assert window.current_conversation() == window.model.conversation(0)


def test_reply_from_the_keyboard_goes_to_the_sender(qtbot: object, window: MainWindow, store: Store) -> None:
    bot = qtbot  # type: ignore[assignment]
    conv = window.current_conversation()
    assert conv is not None
    window.queue.setFocus()
    bot.keyClick(window.queue, "r")  # type: ignore[attr-defined]
    assert window.composer.editor.hasFocus() or QApplication.focusWidget() is window.composer.editor
    bot.keyClicks(window.composer.editor, "Bonjour, je regarde votre commande.")  # type: ignore[attr-defined]
    bot.keyClick(window.composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
    assert window.composer.editor.toPlainText() == ""
    bot.waitUntil(lambda: any(i.draft.conversation_id == conv.id for i in store.outbox_items()))  # type: ignore[attr-defined]
    (item,) = [i for i in store.outbox_items() if i.draft.conversation_id == conv.id]
    assert item.draft.text == "Bonjour, je regarde votre commande." and item.draft.surface is conv.surface


def test_search_box_filters_the_queue(qtbot: object, window: MainWindow) -> None:
    bot = qtbot  # type: ignore[assignment]
    before = window.model.total()
    window.search.setText("remboursement")
    bot.waitUntil(lambda: window.model.total() != before, timeout=2000)  # type: ignore[attr-defined]
    assert 0 < window.model.total() < before


def test_french_interface(qtbot: object, store: Store, commands: SoloCommands) -> None:
    w = MainWindow(store, commands, Translator("fr"), WindowServices(agent="camille", clock=lambda: NOW))
    qtbot.addWidget(w)  # type: ignore[attr-defined]
    labels = [w.views.item(i).text() for i in range(w.views.count())]
    assert any(label.startswith("Non assignées") for label in labels)
    assert "Envoyer" in w.composer.send.text()
    w.close()


def test_layout_and_last_view_are_remembered(qtbot: object, store: Store, commands: SoloCommands) -> None:
    first = MainWindow(store, commands, Translator("en"), WindowServices(agent="camille", clock=lambda: NOW))
    qtbot.addWidget(first)  # type: ignore[attr-defined]
    pending_row = next(i for i in range(first.views.count()) if first.views.item(i).text().startswith("Pending"))
    first.views.setCurrentRow(pending_row)
    first.sort.setCurrentIndex(first.sort.findData("newest"))
    first.close()
    second = MainWindow(store, commands, Translator("en"), WindowServices(agent="camille", clock=lambda: NOW))
    qtbot.addWidget(second)  # type: ignore[attr-defined]
    assert second.current_view().key == "pending"
    assert second.sort.currentData() == "newest"
    assert all(c.status is Status.PENDING for c in (second.model.conversation(i) for i in range(second.model.rowCount())) if c)
    second.close()


def test_merging_customers_from_the_panel_keeps_every_conversation(qtbot: object, window: MainWindow, store: Store) -> None:
    conv = window.current_conversation()
    assert conv is not None and conv.customer_id is not None
    other = next(c for c in store.queue(QueueFilter(), limit=500) if c.customer_id not in (None, conv.customer_id))
    assert other.customer_id is not None
    before = len(store.customer_conversations(conv.customer_id)) + len(store.customer_conversations(other.customer_id))
    window.customer.merge_into(other.customer_id)
    qtbot.waitUntil(lambda: window.customer.history.count() == before)  # type: ignore[attr-defined]
    assert len(store.customer_conversations(other.customer_id)) == before
    assert window.customer.history.count() == before


def test_dashboard_tab_clicks_through_to_the_conversation(qtbot: object, store: Store) -> None:
    from inbox.app.window import build_window

    window = build_window(store, language="en")
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    window.tabs.setCurrentIndex(1)
    assert window.tabs.currentWidget() is window.dashboard
    target = store.queue(QueueFilter(), limit=5)[3]
    window.dashboard.open_conversation.emit(target.id)  # type: ignore[union-attr]
    assert window.tabs.currentIndex() == 0
    current = window.current_conversation()
    assert current is not None and current.id == target.id
    window.close()


def test_new_conversations_in_watched_views_are_announced_once(qtbot: object, window: MainWindow, store: Store) -> None:
    unassigned = store.queue(QueueFilter(statuses=frozenset({Status.NEW}), assignee=""), limit=1)[0]
    window.conversations_changed(frozenset({unassigned.id}), frozenset({unassigned.id}))
    window.conversations_changed(frozenset({unassigned.id}), frozenset({unassigned.id}))
    titles = [n[0] for n in window.shown_notices]
    assert titles == ["New conversation · Unassigned"]
    assert window.shown_notices[0][2] == unassigned.id


def test_filter_chips_narrow_the_view(qtbot: object, window: MainWindow, store: Store) -> None:
    everything = window.model.total()
    window.chips["email"].setChecked(True)
    window.chips["webform"].setChecked(True)
    mail_and_forms = window.model.total()
    assert 0 < mail_and_forms < everything
    rows = [window.model.conversation(i) for i in range(window.model.rowCount())]
    assert {c.channel.value for c in rows if c} <= {"email", "webform"}
    window.chips["unassigned"].setChecked(True)
    assert all(c.assignee is None for c in (window.model.conversation(i) for i in range(window.model.rowCount())) if c)
    for chip in window.chips.values():
        chip.setChecked(False)
    assert window.model.total() == everything


def test_switching_language_rebuilds_the_window_in_french(qtbot: object, store: Store) -> None:
    from inbox.app.shell import Shell

    shell = Shell(store, dark=False, demo=True)
    first = shell.window
    qtbot.addWidget(first)  # type: ignore[attr-defined]
    first.show()
    language = first.tr_.language
    other = "en" if language == "fr" else "fr"
    first.language_action.trigger()
    second = shell.window
    qtbot.addWidget(second)  # type: ignore[attr-defined]
    assert second is not first and second.tr_.language == other and not first.isVisible()
    labels = [second.views.item(i).text() for i in range(second.views.count())]
    expected = "Non assignées" if other == "fr" else "Unassigned"
    assert any(label.startswith(expected) for label in labels)
    second.close()


def test_assign_to_another_agent(qtbot: object, window: MainWindow, store: Store) -> None:
    assert "yanis" in store.agent_names()
    conv = window.current_conversation()
    assert conv is not None
    window.assign_to("yanis")
    qtbot.waitUntil(lambda: store.conversation(conv.id).assignee == "yanis")  # type: ignore[attr-defined]
    assert store.events(conv.id)[-1].value == "yanis"


def test_diagnostics_snapshot_of_a_solo_window(window: MainWindow) -> None:
    """The snapshot reads the window's declared parts: in solo mode the team fields are empty."""
    from inbox.ui.diagnostics import snapshot

    pending = next(i for i in range(window.views.count()) if window.views.item(i).text().startswith("Pending"))
    window.views.setCurrentRow(pending)
    shot = snapshot(window)
    assert shot["view_key"] == "pending"
    assert shot["open"]["id"] == window.current_conversation().id  # type: ignore[union-attr]
    assert shot["open"]["presence"] is None and shot["open"]["refusal"] is None
    assert shot["team_status"] is None
    assert [row["status"] for row in shot["queue"]] == ["pending"] * len(shot["queue"]) and shot["queue"]


def test_the_queue_sorts_a_view_once_for_many_pages(
    monkeypatch: pytest.MonkeyPatch, qtmodeltester: object, store: Store
) -> None:
    """Pages scrolled into view are read by id in the order read once for several pages: every
    conversation once, in the store's order, across the ends of those reads (the demo's ~250
    conversations in pages of 20, the order read 50 at a time)."""
    import inbox.ui.queue_model as queue_model

    monkeypatch.setattr(queue_model, "PAGE", 20)
    monkeypatch.setattr(queue_model, "ORDER_AHEAD", 50)
    expected = [c.id for c in store.queue(QueueFilter(), limit=10_000)]
    sorts: list[int] = []
    original = store.queue_order

    def counted(flt: QueueFilter, *, limit: int, offset: int = 0) -> list[int]:
        sorts.append(offset)
        return original(flt, limit=limit, offset=offset)

    monkeypatch.setattr(store, "queue_order", counted)
    model = QueueModel(store)
    model.set_filter(QueueFilter())
    while model.canFetchMore():
        model.fetchMore()
    shown = [model.conversation(row).id for row in range(model.rowCount())]  # type: ignore[union-attr]
    assert len(expected) > 100 and shown == expected
    assert sorts == list(range(0, len(expected), 50))  # one sort per 50 ids, not one per page of 20
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_the_next_page_is_read_in_the_pause_after_a_page_and_dropped_by_a_reload(
    monkeypatch: pytest.MonkeyPatch, qtbot: object, store: Store
) -> None:
    """The frame that reaches the end of the loaded rows only inserts the page read after the
    previous one was shown; a reload (a change anywhere) drops that page, so nothing stale shows."""
    import inbox.ui.queue_model as queue_model

    monkeypatch.setattr(queue_model, "PAGE", 20)
    reads: list[list[int]] = []
    original = store.queue_rows

    def counted(ids: list[int]) -> list:  # type: ignore[type-arg]
        reads.append(list(ids))
        return original(ids)

    monkeypatch.setattr(store, "queue_rows", counted)
    model = QueueModel(store)
    model.set_filter(QueueFilter())
    assert model.canFetchMore()
    qtbot.waitUntil(lambda: len(reads) == 2)  # type: ignore[attr-defined]  # the first page, then the next
    second = reads[1]
    model.fetchMore()
    assert len(reads) == 2 and [model.conversation(r).id for r in range(20, 40)] == second  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: len(reads) == 3)  # type: ignore[attr-defined]  # and the one after it
    third = reads[2]
    store.add_tag(third[0], "relu", datetime.now(UTC), "camille")  # changed after it was read ahead
    model.reload()
    model.fetchMore()  # before the pause: the page read ahead is gone, not shown stale
    row = next(r for r in range(model.rowCount()) if model.conversation(r).id == third[0])  # type: ignore[union-attr]
    assert "relu" in model.conversation(row).tags  # type: ignore[union-attr]


def test_the_view_order_is_read_further_in_a_pause_before_the_scroll_reaches_its_end(
    monkeypatch: pytest.MonkeyPatch, qtbot: object, store: Store
) -> None:
    """The page that crosses the end of the ids read so far costs its frame no sort: the next
    ids were read in a pause, then that page's rows in the next one."""
    import inbox.ui.queue_model as queue_model

    monkeypatch.setattr(queue_model, "PAGE", 20)
    monkeypatch.setattr(queue_model, "ORDER_AHEAD", 50)
    expected = [c.id for c in store.queue(QueueFilter(), limit=60)]
    calls: list[str] = []
    order, rows = store.queue_order, store.queue_rows

    def counted_order(flt: QueueFilter, *, limit: int, offset: int = 0) -> list[int]:
        calls.append(f"order {offset}")
        return order(flt, limit=limit, offset=offset)

    def counted_rows(ids: list[int]) -> list:  # type: ignore[type-arg]
        calls.append("rows")
        return rows(ids)

    monkeypatch.setattr(store, "queue_order", counted_order)
    monkeypatch.setattr(store, "queue_rows", counted_rows)
    model = QueueModel(store)
    model.set_filter(QueueFilter())
    qtbot.waitUntil(lambda: calls.count("rows") == 2)  # type: ignore[attr-defined]  # rows 20-39
    model.fetchMore()
    qtbot.waitUntil(lambda: calls.count("rows") == 3)  # type: ignore[attr-defined]  # ids 50-99, then rows 40-59
    assert calls == ["order 0", "rows", "rows", "order 50", "rows"]
    model.fetchMore()  # rows 40-59: across the end of the first 50 ids, and nothing read now
    assert calls == ["order 0", "rows", "rows", "order 50", "rows"]
    assert [model.conversation(r).id for r in range(60)] == expected  # type: ignore[union-attr]


def _row_pictures(
    model: QueueModel,
    rows: range,
    delegate: QueueDelegate | None = None,
    *,
    width: int = 480,
    palette: QPalette | None = None,
    font: QFont | None = None,
    selected: int | None = None,
) -> list[bytes]:
    """Each row as the queue's delegate paints it at the model's clock, as raw pixels (by a new
    delegate unless one is given)."""
    delegate = delegate or QueueDelegate(Translator("fr"))
    pictures = []
    for row in rows:
        image = QImage(width, ROW_HEIGHT, QImage.Format.Format_ARGB32)
        image.fill(0)
        option = QStyleOptionViewItem()
        option.rect = QRect(0, 0, width, ROW_HEIGHT)  # type: ignore[attr-defined]
        option.font = font or QApplication.font()  # type: ignore[attr-defined]
        option.palette = palette or QApplication.palette()  # type: ignore[attr-defined]
        if row == selected:
            option.state = option.state | QStyle.StateFlag.State_Selected  # type: ignore[attr-defined]
        painter = QPainter(image)
        delegate.paint(painter, option, model.index(row))
        painter.end()
        pictures.append(bytes(image.constBits()))  # type: ignore[arg-type]
    return pictures


def test_a_row_painted_from_the_cache_looks_as_a_row_painted_anew(qapp: QApplication, store: Store) -> None:
    """The delegate keeps each row as painted; after each thing that changes a row's look (the
    clock, a change to the conversation read again, the selection, a colleague on it, the theme,
    the font, the width, the language) the row it paints is the one a new delegate paints, pixel
    for pixel, and a row that did not change is copied, not painted again."""
    model = QueueModel(store)
    model.now = NOW
    model.set_filter(QueueFilter())
    rows = range(0, 12)
    kept = QueueDelegate(Translator("fr"))
    painted: list[int] = []
    paint_row = kept._paint_row

    def counting(painter: QPainter, rect: QRect, conv: object, *args: object) -> None:
        painted.append(conv.id)  # type: ignore[attr-defined]
        paint_row(painter, rect, conv, *args)  # type: ignore[arg-type]

    kept._paint_row = counting  # type: ignore[method-assign]
    look: dict[str, object] = {}

    def same_as_new(language: str = "fr") -> None:
        fresh = QueueDelegate(Translator(language))
        fresh.presence = kept.presence
        assert _row_pictures(model, rows, kept, **look) == _row_pictures(model, rows, fresh, **look)  # type: ignore[arg-type]

    same_as_new()
    assert len(painted) == len(rows)
    painted.clear()
    assert _row_pictures(model, rows, kept) and painted == []  # nothing changed: copies
    first = model.conversation(0)
    second = model.conversation(1)
    assert first is not None and second is not None
    model.now = NOW + timedelta(minutes=7)  # countdowns and ages
    same_as_new()
    store.add_tag(first.id, "livraison", NOW, "camille")
    store.add_tag(second.id, "remboursement", NOW, "camille")
    painted.clear()
    model.reload()
    same_as_new()
    assert sorted(painted) == sorted([first.id, second.id]), "a reload repaints only the rows it changed"
    store.set_status(first.id, Status.PENDING, NOW, "camille")
    model.reload()
    same_as_new()
    look["selected"] = 2
    same_as_new()
    kept.presence = lambda cid: "léa répond" if cid == second.id else ""
    same_as_new()
    dark = QPalette(QApplication.palette())
    for role, colour in [(QPalette.ColorRole.Base, "#202124"), (QPalette.ColorRole.Text, "#E8EAED"),
                         (QPalette.ColorRole.Highlight, "#8AB4F8"), (QPalette.ColorRole.Mid, "#5F6368")]:
        dark.setColor(role, QColor(colour))
    look["palette"] = dark
    same_as_new()
    big = QFont(QApplication.font())
    big.setPointSize(big.pointSize() + 3)
    look["font"] = big
    same_as_new()
    look["width"] = 360
    same_as_new()
    kept.tr_.set_language("en")
    same_as_new("en")


def test_the_rows_kept_painted_are_bounded(qapp: QApplication, store: Store) -> None:
    """Scrolling through every row keeps a few screens of pictures, not one per row."""
    model = QueueModel(store)
    model.now = NOW
    model.set_filter(QueueFilter())
    while model.canFetchMore():
        model.fetchMore()
    delegate = QueueDelegate(Translator("fr"))
    for step in range(40):  # the clock turning makes every row a new picture
        model.now = NOW + timedelta(minutes=step)
        _row_pictures(model, range(model.rowCount()), delegate, width=1440)
    kept = delegate._painted
    assert 8 <= len(kept) < 40 * model.rowCount()
    assert sum(p.width() * p.height() * 4 for p in kept.values()) <= 8 * 1024 * 1024


@pytest.mark.parametrize("step", [timedelta(seconds=1), timedelta(seconds=30), timedelta(minutes=1), timedelta(days=1)])
@pytest.mark.parametrize("view", [QueueFilter(), QueueFilter(statuses=frozenset({Status.SOLVED}), sort=QueueSort.NEWEST)])
def test_the_clock_repaints_every_visible_row_it_changed_and_no_other(
    qapp: QApplication, store: Store, step: timedelta, view: QueueFilter
) -> None:
    """The one-second tick repaints the visible rows whose countdown or age it changed, as the
    delegate paints them (the pixels of each row compared before and after), and only those
    rows' range: not every row every second. Open conversations have countdowns; solved ones
    only ages."""
    model = QueueModel(store)
    model.now = NOW
    model.set_filter(view)
    visible = range(0, 20)
    repainted: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda top, bottom, _roles: repainted.append((top.row(), bottom.row())))
    for tick in range(1, 4):
        before = _row_pictures(model, visible)
        model.tick(NOW + tick * step, visible.start, visible.stop - 1)
        after = _row_pictures(model, visible)
        changed = [row for row in visible if before[row] != after[row]]
        if not changed:
            assert not repainted
            continue
        assert len(repainted) == 1, repainted
        assert repainted[0] == (changed[0], changed[-1])
        repainted.clear()


def test_the_french_age_of_a_row_turns_when_the_english_one_does() -> None:
    """The tick compares ages in English; a French window repaints at the same moments."""
    then = NOW
    for seconds in [*range(0, 7200, 1), *range(7200, 4 * 86400, 59)]:
        now, a_second_before = NOW + timedelta(seconds=seconds), NOW + timedelta(seconds=seconds - 1)
        english = age(then, now, "en") != age(then, a_second_before, "en")
        french = age(then, now, "fr") != age(then, a_second_before, "fr")
        assert english == french, seconds
