"""The team lead's dashboard: live queue health, SLA risk with countdowns, charts and the report.

The widget reads everything through a small :class:`inbox.ports.DashboardSource` (the store's
``AnalyticsSource`` implements it); it holds no business rules. One timer repaints the
countdowns of the at-risk and breached lists.

At a million messages the figures take a second or more to read, so when a qasync loop runs the
source is read in a worker thread (``run_in_executor``) and the figures are applied back on the
Qt thread; the window stays responsive and the board says "Updating…" meanwhile. Without a
running loop (plain tests, :func:`render_png`) it reads them at once.
"""

from __future__ import annotations

import asyncio
import html
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QLineSeries,
    QValueAxis,
)
from PySide6.QtCore import (
    QAbstractTableModel,
    QMargins,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QCloseEvent, QColor, QHideEvent, QPainter, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from inbox.ports import DashboardSource
from inbox.sla import reports
from inbox.triage.crisis import StoredAlert
from inbox.ui.i18n import Translator

log = logging.getLogger(__name__)

Index = QModelIndex | QPersistentModelIndex
ConversationRole = Qt.ItemDataRole.UserRole + 1
CHANNEL_LABELS = {"twitter": "X", "facebook": "Facebook", "email": "Email", "webform": "Web forms"}
CHANNEL_COLOURS = {
    "twitter": "#1D9BF0",
    "facebook": "#1877F2",
    "email": "#E37400",
    "webform": "#188038",
}


@dataclass(frozen=True, slots=True)
class Figures:
    """One reading of the source: the live snapshot and alerts (``None`` when only the report
    was asked for) and the report by each grouping the board shows."""

    now: datetime
    since: datetime
    by: str
    snapshot: reports.Snapshot | None
    alerts: list[StoredAlert] | None
    reports: dict[str, reports.Report]


def read_figures(source: DashboardSource, now: datetime, since: datetime, by: str, live: bool) -> Figures:
    """Everything a refresh shows, read from ``source`` (in a worker thread when a loop runs)."""
    snapshot = source.snapshot(now) if live else None
    alerts = source.alerts() if live else None
    groupings = sorted({by, "channel", "policy"})  # the table's, and the two compliance charts'
    return Figures(now, since, by, snapshot, alerts, source.reports(since, now, groupings))


def countdown_text(due: datetime | None, now: datetime) -> str:
    """ "1:05:09" before the deadline, "-0:12:00" once passed."""
    if due is None:
        return ""
    seconds = int((due - now).total_seconds())
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class RowsModel(QAbstractTableModel):
    """A read-only table of rows; column ``countdown_column`` shows a live countdown to the row's
    deadline; ``ConversationRole`` gives the row's conversation id."""

    def __init__(
        self,
        headers: Sequence[str],
        clock: Callable[[], datetime],
        countdown_column: int = -1,
        elapsed: bool = False,
    ) -> None:
        super().__init__(None)
        self.headers = list(headers)
        self.clock = clock
        self.countdown_column = countdown_column
        self.elapsed = elapsed  # show the time since the row's instant instead of until it
        self.rows: list[tuple[list[object], int | None, datetime | None]] = []

    def set_rows(self, rows: Sequence[tuple[list[object], int | None, datetime | None]]) -> None:
        self.beginResetModel()
        self.rows = list(rows)
        self.endResetModel()

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.headers[section] if 0 <= section < len(self.headers) else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self.rows):
            return None
        cells, cid, due = self.rows[index.row()]
        col = index.column()
        if role == ConversationRole:
            return cid
        if col == self.countdown_column:
            now = self.clock()
            if role == Qt.ItemDataRole.DisplayRole:
                if self.elapsed and due is not None:
                    return countdown_text(now + (now - due), now)
                return countdown_text(due, now)
            if role == Qt.ItemDataRole.ForegroundRole and due is not None and not self.elapsed:
                return QColor("#C5221F" if due < now else "#B06000")
            if role == Qt.ItemDataRole.TextAlignmentRole:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return None
        if role == Qt.ItemDataRole.DisplayRole and col < len(cells):
            value = cells[col]
            return "" if value is None else str(value)
        return None

    def tick(self) -> None:
        if self.rows and self.countdown_column >= 0:
            c = self.countdown_column
            self.dataChanged.emit(self.index(0, c), self.index(len(self.rows) - 1, c))


class Dashboard(QWidget):
    """The team lead's view.

    Signals: ``open_conversation(int)`` when a row of a list is activated (double-click, Enter).
    """

    #: A live refresh asked for again within this many seconds of one still reading joins it
    #: (showing the tab both shows the board and selects the tab: one reading, not two).
    JOIN_S = 1.0

    open_conversation = Signal(int)

    def __init__(self, source: DashboardSource, tr: Translator, *, clock: Callable[[], datetime] | None = None,
                 report_days: int = 7, parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self.source, self.tr_, self.report_days = source, tr, report_days
        self.clock = clock or (lambda: datetime.now(UTC))
        self.setAccessibleName(tr("Dashboard"))
        self.snapshot: reports.Snapshot | None = None
        self.report: reports.Report | None = None
        self.alert_banner = QLabel()
        self.alert_banner.setWordWrap(True)
        self.alert_banner.setStyleSheet(
            "background:#FCE8E6;color:#A50E0E;padding:6px;border-radius:4px;"
        )
        self.alert_banner.setAccessibleName(tr("Crisis alerts"))
        self.open_model = RowsModel(
            [tr("Channel"), tr("new"), tr("open"), tr("pending"), tr("Total")], self.clock
        )
        head = [tr("Conversation"), tr("Due in"), tr("Channel"), tr("Assignee"), tr("Subject")]
        self.risk_model = RowsModel(head, self.clock, countdown_column=1)
        head[1] = tr("Overdue")
        self.breached_model = RowsModel(head, self.clock, countdown_column=1)
        self.oldest_model = RowsModel(
            [tr("Channel"), tr("Waiting"), tr("Conversation")], self.clock, 1, elapsed=True
        )
        self.load_model = RowsModel([tr("Agent"), tr("conversations"), tr("Max load")], self.clock)
        self.report_model = RowsModel([], self.clock)
        self.views: list[QTableView] = []
        left = QVBoxLayout()
        for title, model in ((tr("Open conversations"), self.open_model), (tr("SLA at risk"), self.risk_model),
                             (tr("Breached"), self.breached_model), (tr("Oldest unanswered"), self.oldest_model),
                             (tr("Agent load"), self.load_model)):  # fmt: skip
            left.addWidget(
                self._table_box(title, model),
                2 if model in (self.risk_model, self.breached_model) else 1,
            )
        self.charts: dict[str, QChartView] = {}
        grid = QGridLayout()
        names = ("volume", "backlog", "first_reply", "by_channel", "by_policy")
        for i, name in enumerate(names):
            view = QChartView()
            view.setRenderHint(QPainter.RenderHint.Antialiasing)
            view.setMinimumHeight(190)
            self.charts[name] = view
            # Three charts on the first row, the two wider compliance charts on the second.
            grid.addWidget(
                view, i // 3, (i % 3) * 2 if i < 3 else (i - 3) * 3, 1, 2 if i < 3 else 3
            )
        self.by = QComboBox()
        self.by.setAccessibleName(tr("Report by"))
        for key in reports.GROUPINGS:
            self.by.addItem(tr(f"by {key}"), key)
        self.by.currentIndexChanged.connect(lambda _i: self.refresh_report())
        self.export = QPushButton(tr("Export CSV…"))
        self.export.setAccessibleName(tr("Export CSV…"))
        self.export.clicked.connect(self._ask_export)
        self.report_title = QLabel()
        bar = QHBoxLayout()
        bar.addWidget(self.report_title, 1)
        bar.addWidget(self.by)
        bar.addWidget(self.export)
        right = QVBoxLayout()
        right.addLayout(grid, 3)
        right.addLayout(bar)
        right.addWidget(self._table_view(self.report_model, tr("Report")), 2)
        columns = QHBoxLayout()
        columns.addLayout(left, 2)
        columns.addLayout(right, 5)
        self.status = QLabel(tr("Updating…"))
        self.status.setAccessibleName(tr("Dashboard status"))
        self.status.setStyleSheet("color:#5F6368;")
        self.status.hide()
        top = QHBoxLayout()
        top.addWidget(self.alert_banner, 1)
        top.addWidget(self.status, 0, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignTop)
        outer = QVBoxLayout(self)
        outer.addLayout(top)
        outer.addLayout(columns)
        # The reading under way: kept (a task nobody holds may be garbage-collected), cancelled on
        # close; its number tells a result that arrives after a newer refresh started.
        self._task: asyncio.Task[None] | None = None
        self._generation = 0
        self._reading_live = False
        self._started = 0.0
        self.timer = QTimer(self)
        self.timer.setInterval(1000)
        self.timer.timeout.connect(self.tick)
        # Read the figures when first shown, not at construction: at a million messages they
        # take seconds, and the window opens on the queue (cold start: 8.7 s -> 1.1 s).
        self._read = False

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._read:
            self.refresh()
        self.timer.start()

    def hideEvent(self, event: QHideEvent) -> None:
        super().hideEvent(event)
        self.timer.stop()  # the countdowns tick only while someone looks
        if not self.window().isVisible():
            self.cancel()  # the window closed (another tab showing keeps the reading going)

    def closeEvent(self, event: QCloseEvent) -> None:
        self.cancel()
        super().closeEvent(event)

    def cancel(self) -> None:
        """Drop the reading under way: its figures will not be applied."""
        self._generation += 1
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._reading_live = False
        self.status.hide()

    @property
    def updating(self) -> bool:
        """Whether a reading is under way."""
        return self._task is not None

    def _table_view(self, model: RowsModel, name: str) -> QTableView:
        view = QTableView()
        view.setModel(model)
        view.setAccessibleName(name)
        view.verticalHeader().hide()
        view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
        view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        view.horizontalHeader().setStretchLastSection(True)
        # Columns fit the rows on screen and a few more, not all of them: measuring every row of
        # 10,000 conversations at risk kept the Qt thread busy 0.5-1.6 s on each refresh.
        view.horizontalHeader().setResizeContentsPrecision(50)
        view.verticalHeader().setDefaultSectionSize(22)
        view.activated.connect(self._activated)
        view.doubleClicked.connect(self._activated)
        self.views.append(view)
        return view

    def _table_box(self, title: str, model: RowsModel) -> QGroupBox:
        box = QGroupBox(title)
        lay = QVBoxLayout(box)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(self._table_view(model, title))
        return box

    def _activated(self, index: QModelIndex) -> None:
        cid = index.data(ConversationRole)
        if isinstance(cid, int):
            self.open_conversation.emit(cid)

    def tick(self) -> None:
        for model in (self.risk_model, self.breached_model, self.oldest_model):
            model.tick()

    # -- data ------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Re-read the live figures, the alerts and the report."""
        self._read = True
        if (
            self._task is not None
            and self._reading_live
            and time.monotonic() - self._started < self.JOIN_S
        ):
            return  # a live reading has just started: its figures are as fresh
        self._start(live=True)

    def refresh_report(self) -> None:
        """Re-read the report (its grouping changed)."""
        # A live reading still under way is superseded: this one reads the live figures too.
        self._start(live=self._task is not None and self._reading_live)

    def _start(self, live: bool) -> None:
        now = self.clock()
        by = str(self.by.currentData() or "channel")
        since = now - timedelta(days=self.report_days)
        source = self.source
        self.cancel()
        generation = self._generation
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (plain tests, render_png): read at once
            self._apply(read_figures(source, now, since, by, live))
            return
        self._reading_live, self._started = live, time.monotonic()
        self.status.setText(self.tr_("Updating…"))
        self.status.show()
        work = lambda: read_figures(source, now, since, by, live)  # noqa: E731
        self._task = loop.create_task(self._read_in_worker(loop, work, generation))

    async def _read_in_worker(
        self, loop: asyncio.AbstractEventLoop, work: Callable[[], Figures], generation: int
    ) -> None:
        try:
            figures = await loop.run_in_executor(None, work)
        except Exception:
            if not shiboken6.isValid(self):
                return  # the window went away (and its source's connection with it)
            log.exception("dashboard: reading the figures failed")
            if generation == self._generation:
                self._task, self._reading_live = None, False
                self.status.setText(self.tr_("The figures could not be read"))
            return
        if not shiboken6.isValid(self) or generation != self._generation:
            return  # gone, or a newer refresh started meanwhile: its figures will come
        self._task, self._reading_live = None, False
        self.status.hide()
        self._apply(figures)

    def _apply(self, figures: Figures) -> None:
        if figures.snapshot is not None:
            self._apply_snapshot(figures.snapshot, figures.alerts or [])
        self._apply_report(figures)

    def _apply_snapshot(self, snap: reports.Snapshot, alerts: Sequence[StoredAlert]) -> None:
        tr, now = self.tr_, snap.at
        self.snapshot = snap
        rows: list[tuple[list[object], int | None, datetime | None]] = []
        for channel, states in sorted(snap.open_by_channel.items()):
            counts = [states.get(s, 0) for s in ("new", "open", "pending")]
            rows.append(([CHANNEL_LABELS.get(channel, channel), *counts, sum(counts)], None, None))
        self.open_model.set_rows(rows)

        def risk(
            items: Sequence[reports.RiskItem],
        ) -> list[tuple[list[object], int | None, datetime | None]]:
            return [([f"#{r.conversation_id} {r.customer}".strip(), "", CHANNEL_LABELS.get(r.channel, r.channel),
                      r.assignee or "—", r.subject], r.conversation_id, r.due_at) for r in items]  # fmt: skip

        self.risk_model.set_rows(risk(snap.at_risk))
        self.breached_model.set_rows(risk(snap.breached))
        self.oldest_model.set_rows([([CHANNEL_LABELS.get(ch, ch), "", f"#{cid}"], cid, since)
                                    for ch, cid, since in snap.oldest_unanswered])  # fmt: skip
        self.load_model.set_rows([([name, n, "—" if cap is None else cap], None, None)
                                  for name, n, cap in snap.agent_loads])  # fmt: skip
        open_alerts = [a for a in alerts if a.kind == "crisis" and not a.acknowledged]
        if open_alerts:
            a = open_alerts[0]
            self.alert_banner.setText(
                tr("Crisis: {n} negative public messages in the last hour (usually {u})").format(
                    n=a.detail.get("negative", "?"), u=a.detail.get("usual_negative", "?"))
            )  # fmt: skip
        self.alert_banner.setVisible(bool(open_alerts))
        self._line_chart("volume", tr("Customer messages per channel (4 h)"),
                         {CHANNEL_LABELS.get(k, k): v for k, v in snap.volume.items()}, now)  # fmt: skip
        self._line_chart(
            "backlog", tr("Waiting on us (last hours)"), {tr("conversations"): snap.backlog}, now
        )

    def _apply_report(self, figures: Figures) -> None:
        tr, by = self.tr_, figures.by
        rep = self.report = figures.reports[by]
        self.report_title.setText(tr("Report, last {d} days").format(d=self.report_days))
        self.report_model.beginResetModel()
        self.report_model.headers = [tr(f"by {by}"), *(tr(h) for h in reports.DISPLAY_HEADERS)]
        self.report_model.rows = [
            ([*reports.display_row(r)], None, None) for r in (*rep.rows, rep.total)
        ]
        self.report_model.endResetModel()
        hist = reports.histogram(
            rep.total.first_reply.values_s, reports.FIRST_REPLY_EDGES, reports.FIRST_REPLY_LABELS
        )
        self._bar_chart("first_reply", tr("First reply time"), [label for label, _ in hist],
                        {tr("conversations"): [float(n) for _, n in hist]})  # fmt: skip
        for name, key, title in (("by_channel", "channel", tr("SLA met per channel (%)")),
                                 ("by_policy", "policy", tr("SLA met per policy (%)"))):  # fmt: skip
            grouped = figures.reports[key]
            measured = [
                r for r in grouped.rows if any(c.pct is not None for c in r.compliance.values())
            ]
            cats = [CHANNEL_LABELS.get(r.key, r.key) for r in measured]
            sets = {
                tr(t.replace("_", " ")): [r.compliance[t].pct or 0.0 for r in measured]
                for t in reports.TARGETS
            }
            self._bar_chart(name, title, cats, sets, maximum=100.0)

    # -- charts ----------------------------------------------------------------------------------

    def _chart(self, name: str, title: str) -> QChart:
        chart = QChart()
        chart.setTitle(title)
        chart.setMargins(QMargins(2, 2, 2, 2))
        chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
        chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
        old = self.charts[name].chart()
        self.charts[name].setChart(chart)
        self.charts[name].setAccessibleName(title)
        if old is not None:
            old.deleteLater()
        return chart

    def _line_chart(self, name: str, title: str, series: dict[str, Sequence[tuple[datetime, int]]],
                    now: datetime) -> None:  # fmt: skip
        chart = self._chart(name, title)
        x_axis, y_axis = QValueAxis(), QValueAxis()
        x_axis.setTitleText(self.tr_("hours before now"))
        x_axis.setLabelFormat("%d")
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        top, low = 1, 0.0
        for label, points in series.items():
            line = QLineSeries()
            line.setName(label)
            colour = CHANNEL_COLOURS.get(
                next((k for k, v in CHANNEL_LABELS.items() if v == label), ""), ""
            )
            if colour:
                line.setColor(QColor(colour))
            for at, count in points:
                x = (at - now).total_seconds() / 3600
                line.append(x, count)
                top, low = max(top, count), min(low, x)
            chart.addSeries(line)
            line.attachAxis(x_axis)
            line.attachAxis(y_axis)
        x_axis.setRange(low, 0)
        y_axis.setRange(0, top * 1.1)
        y_axis.applyNiceNumbers()
        y_axis.setLabelFormat("%d")
        chart.legend().setVisible(len(series) > 1)

    def _bar_chart(self, name: str, title: str, categories: list[str], sets: dict[str, list[float]],
                   maximum: float | None = None) -> None:  # fmt: skip
        chart = self._chart(name, title)
        bars = QBarSeries()
        top = 1.0
        for label, values in sets.items():
            bar_set = QBarSet(label)
            bar_set.append(values)
            bars.append(bar_set)
            top = max([top, *values])
        chart.addSeries(bars)
        x_axis, y_axis = QBarCategoryAxis(), QValueAxis()
        x_axis.append([html.escape(c) for c in categories] or ["—"])  # axis labels are rich text
        y_axis.setRange(0, maximum or top * 1.1)
        if maximum is None:
            y_axis.applyNiceNumbers()
        y_axis.setLabelFormat("%d")
        chart.addAxis(x_axis, Qt.AlignmentFlag.AlignBottom)
        chart.addAxis(y_axis, Qt.AlignmentFlag.AlignLeft)
        bars.attachAxis(x_axis)
        bars.attachAxis(y_axis)
        chart.legend().setVisible(len(sets) > 1)

    # -- export ----------------------------------------------------------------------------------

    def export_csv(self, path: Path) -> None:
        """Write the report shown (with its grouping) as CSV."""
        if self.report is not None:
            path.write_text(reports.to_csv(self.report), "utf-8")

    def _ask_export(self) -> None:
        name, _ = QFileDialog.getSaveFileName(
            self, self.tr_("Export CSV…"), "report.csv", "CSV (*.csv)"
        )
        if name:
            self.export_csv(Path(name))


def render_png(
    source: DashboardSource, out: Path, now: datetime, tr: Translator, size: tuple[int, int]
) -> None:
    """Render the dashboard offscreen to a PNG (docs, checks)."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = QApplication.instance() or QApplication([])
    app.setStyle("Fusion")  # type: ignore[attr-defined]
    board = Dashboard(source, tr, clock=lambda: now)
    board.resize(*size)
    board.show()
    for _ in range(5):
        app.processEvents()
    out.parent.mkdir(parents=True, exist_ok=True)
    ok = board.grab().save(str(out))
    board.close()
    board.deleteLater()
    if not ok:
        raise OSError(f"could not write {out}")
