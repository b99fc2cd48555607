"""The team lead's dashboard over a fake data source: lists, countdowns, click-through, export."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from inbox.models import ConversationEvent, EventKind
from inbox.sla.engine import SlaLogEntry, TargetKind
from inbox.sla.reports import Report, ReportConversation, RiskItem, Snapshot, build_report
from inbox.triage.crisis import StoredAlert
from inbox.ui.dashboard import Dashboard
from inbox.ui.dashboard_rows import ConversationRole, RowsModel, countdown_text
from inbox.ui.i18n import Translator

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


class FakeSource:
    """Hand-made figures: two conversations at risk, one breached, one report row per channel."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.alert_list: list[StoredAlert] = []

    def snapshot(self, now: datetime) -> Snapshot:
        return Snapshot(
            at=now,
            open_by_channel={"email": {"new": 3, "open": 1}, "twitter": {"pending": 2}},
            at_risk=(RiskItem(11, "email", "Order late", "Léa Martin", "camille", "warning", now + timedelta(minutes=5)),
                     RiskItem(12, "twitter", "Refund", "Jack Smith", "", "warning", now + timedelta(hours=2))),
            breached=(RiskItem(13, "facebook", "Crushed cake", "Inès Petit", "yanis", "breached",
                               now - timedelta(minutes=30)),),
            oldest_unanswered=(("email", 11, now - timedelta(hours=3)),),
            agent_loads=(("camille", 4, 10), ("yanis", 1, None)),
            backlog=tuple((now - timedelta(hours=h), 10 - h) for h in range(12, -1, -1)),
            volume={"email": [(now - timedelta(hours=4 * i), i) for i in range(6, 0, -1)]},
        )  # fmt: skip

    def report(self, since: datetime, until: datetime, by: str) -> Report:
        self.asked.append(by)
        t0 = until - timedelta(hours=5)
        convs = [ReportConversation(1, "email", "camille", (
            ConversationEvent(1, EventKind.MESSAGE_IN, t0), ConversationEvent(1, EventKind.REPLY, t0 + timedelta(minutes=20))))]  # fmt: skip
        entries = [SlaLogEntry(1, t0, "started", TargetKind.FIRST_REPLY, 1, "standard", 0.0),
                   SlaLogEntry(1, t0 + timedelta(minutes=20), "fulfilled", TargetKind.FIRST_REPLY, 1, "standard", 1200.0)]  # fmt: skip
        return build_report(convs, entries, since, until, by)

    def reports(self, since: datetime, until: datetime, groupings: Sequence[str]) -> dict[str, Report]:
        return {by: self.report(since, until, by) for by in groupings}

    def alerts(self) -> list[StoredAlert]:
        return self.alert_list


@pytest.fixture()
def board(qtbot: object) -> Iterator[Dashboard]:
    clock = {"now": NOW}
    widget = Dashboard(FakeSource(), Translator("en"), clock=lambda: clock["now"])
    widget.clock_state = clock  # type: ignore[attr-defined]
    qtbot.addWidget(widget)  # type: ignore[attr-defined]
    widget.resize(1400, 900)
    widget.show()
    yield widget
    widget.close()


def cell(model: RowsModel, row: int, col: int) -> str:
    return str(model.data(model.index(row, col)))


def test_rows_model_passes_qt_model_tester(qtmodeltester: object, board: Dashboard) -> None:
    qtmodeltester.check(board.risk_model)  # type: ignore[attr-defined]
    qtmodeltester.check(board.report_model)  # type: ignore[attr-defined]


def test_live_lists_and_countdowns(board: Dashboard) -> None:
    assert cell(board.open_model, 0, 0) == "Email" and cell(board.open_model, 0, 4) == "4"
    assert (
        cell(board.risk_model, 0, 0) == "#11 Léa Martin"
        and cell(board.risk_model, 0, 1) == "0:05:00"
    )
    assert cell(board.breached_model, 0, 1) == "-0:30:00"
    assert cell(board.oldest_model, 0, 1) == "3:00:00"
    assert cell(board.load_model, 1, 2) == "—"
    board.clock_state["now"] = NOW + timedelta(minutes=6)  # type: ignore[attr-defined]
    board.tick()
    assert cell(board.risk_model, 0, 1) == "-0:01:00"  # now overdue
    assert (
        board.risk_model.data(board.risk_model.index(0, 1), Qt.ItemDataRole.ForegroundRole).name()
        == "#c5221f"
    )
    assert cell(board.oldest_model, 0, 1) == "3:06:00"
    assert board.timer.isActive() and board.timer.interval() == 1000


def test_activating_a_row_opens_the_conversation(qtbot: object, board: Dashboard) -> None:
    view = board.views[2]  # breached
    index = board.breached_model.index(0, 0)
    assert index.data(ConversationRole) == 13
    with qtbot.waitSignal(board.open_conversation) as blocker:  # type: ignore[attr-defined]
        view.activated.emit(index)
    assert blocker.args == [13]


def test_report_grouping_and_csv_export(board: Dashboard, tmp_path: Path) -> None:
    assert (
        cell(board.report_model, 0, 0) == "email" and cell(board.report_model, 0, 3) == "20m / 20m"
    )
    board.by.setCurrentIndex(board.by.findData("agent"))
    assert cell(board.report_model, 0, 0) == "camille"
    out = tmp_path / "report.csv"
    board.export_csv(out)
    rows = list(csv.DictReader(io.StringIO(out.read_text("utf-8"))))
    assert [r["key"] for r in rows] == ["camille", "total"] and rows[0][
        "first_reply_median_s"
    ] == "1200.0"


def test_crisis_banner_and_french(qtbot: object) -> None:
    source = FakeSource()
    source.alert_list = [
        StoredAlert(1, "crisis", NOW, {"negative": 18, "usual_negative": 1.5}, False)
    ]
    widget = Dashboard(source, Translator("fr"), clock=lambda: NOW)
    qtbot.addWidget(widget)  # type: ignore[attr-defined]
    assert widget.snapshot is None  # nothing read until the board is shown
    widget.show()
    assert not widget.alert_banner.isHidden()
    assert "18" in widget.alert_banner.text() and "Crise" in widget.alert_banner.text()
    assert widget.risk_model.headerData(1, Qt.Orientation.Horizontal) == "Échéance dans"
    assert widget.by.currentText() == "par canal"
    source.alert_list = [StoredAlert(1, "crisis", NOW, {}, True)]  # acknowledged
    widget.refresh()
    assert widget.alert_banner.isHidden()


def test_countdown_text() -> None:
    assert countdown_text(None, NOW) == ""
    assert countdown_text(NOW + timedelta(hours=26, seconds=5), NOW) == "26:00:05"
    assert countdown_text(NOW - timedelta(seconds=59), NOW) == "-0:00:59"
