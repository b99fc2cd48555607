"""The team lead's dashboard: live queue health, SLA risk with countdowns, charts and the report.

The widget reads everything through a small :class:`inbox.ports.DashboardSource` (the store's
``AnalyticsSource`` implements it); it holds no business rules. One timer repaints the
countdowns of the at-risk and breached lists.

At a million messages the figures take a second or more to read, so when a qasync loop runs the
source is read in a worker thread (``run_in_executor``) and the figures are applied back on the
Qt thread; the window stays responsive and the board says "Updating…" meanwhile. Without a
running loop (plain tests, :func:`render_png`) it reads them at once.

This module is the board and its reading; the tables' model is ``dashboard_rows``, the charts
are painted by ``dashboard_charts``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import shiboken6
from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QApplication,
    QComboBox,
    QFileDialog,
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
from inbox.ui.dashboard_charts import CHANNEL_LABELS, bar_chart, chart_grid, line_chart
from inbox.ui.dashboard_rows import ConversationRole, RowsModel
from inbox.ui.i18n import Translator

log = logging.getLogger(__name__)


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
        # Three charts on the first row, the two wider compliance charts on the second.
        grid, self.charts = chart_grid(("volume", "backlog", "first_reply", "by_channel", "by_policy"))
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
        hours = tr("hours before now")
        line_chart(self.charts["volume"], tr("Customer messages per channel (4 h)"),
                   {CHANNEL_LABELS.get(k, k): v for k, v in snap.volume.items()}, now, hours)  # fmt: skip
        line_chart(
            self.charts["backlog"], tr("Waiting on us (last hours)"), {tr("conversations"): snap.backlog}, now, hours
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
        bar_chart(self.charts["first_reply"], tr("First reply time"), [label for label, _ in hist],
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
            bar_chart(self.charts[name], title, cats, sets, maximum=100.0)

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
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication([])
    app.setStyle("Fusion")
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
