"""The dashboard's charts: the grid of chart views and the line and bar charts painted in them
(Qt Charts), each channel in its own colour. A chart is drawn anew on each reading; the one it
replaces is deleted."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime

from PySide6.QtCharts import (
    QBarCategoryAxis,
    QBarSeries,
    QBarSet,
    QChart,
    QChartView,
    QLineSeries,
    QValueAxis,
)
from PySide6.QtCore import QMargins, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QGridLayout

CHANNEL_LABELS = {"twitter": "X", "facebook": "Facebook", "email": "Email", "webform": "Web forms"}
CHANNEL_COLOURS = {
    "twitter": "#1D9BF0",
    "facebook": "#1877F2",
    "email": "#E37400",
    "webform": "#188038",
}


def chart_grid(names: Sequence[str]) -> tuple[QGridLayout, dict[str, QChartView]]:
    """A view per chart name: three on the first row, the (two, wider) others on the second."""
    grid = QGridLayout()
    views: dict[str, QChartView] = {}
    for i, name in enumerate(names):
        view = QChartView()
        view.setRenderHint(QPainter.RenderHint.Antialiasing)
        view.setMinimumHeight(190)
        views[name] = view
        grid.addWidget(view, i // 3, (i % 3) * 2 if i < 3 else (i - 3) * 3, 1, 2 if i < 3 else 3)
    return grid, views


def new_chart(view: QChartView, title: str) -> QChart:
    """An empty chart named ``title`` shown in ``view`` (the one it showed is deleted)."""
    chart = QChart()
    chart.setTitle(title)
    chart.setMargins(QMargins(2, 2, 2, 2))
    chart.legend().setAlignment(Qt.AlignmentFlag.AlignBottom)
    chart.setAnimationOptions(QChart.AnimationOption.NoAnimation)
    old = view.chart()
    view.setChart(chart)
    view.setAccessibleName(title)
    if old is not None:
        old.deleteLater()
    return chart


def line_chart(view: QChartView, title: str, series: dict[str, Sequence[tuple[datetime, int]]],
               now: datetime, x_title: str) -> None:  # fmt: skip
    """Counts over time, one line per series, x in hours before ``now``."""
    chart = new_chart(view, title)
    x_axis, y_axis = QValueAxis(), QValueAxis()
    x_axis.setTitleText(x_title)
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


def bar_chart(view: QChartView, title: str, categories: list[str], sets: dict[str, list[float]],
              maximum: float | None = None) -> None:  # fmt: skip
    """One group of bars per category, a bar per set; the y axis up to ``maximum`` when given."""
    chart = new_chart(view, title)
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
