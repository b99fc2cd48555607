"""Filter chips above the queue: they narrow the current view (channels, unhappy, unassigned).

Signals: ``changed()`` when a chip is toggled.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QToolButton, QWidget

from inbox.models import Channel, QueueFilter
from inbox.triage.rules import NEGATIVE_BELOW
from inbox.ui.i18n import Translator
from inbox.ui.icons import icon

CHANNEL_CHIPS = ("twitter", "facebook", "email", "webform")
CHIP_STYLE = (
    "QToolButton { border: 1px solid #9AA0A6; border-radius: 9px; padding: 1px 8px; }"
    "QToolButton:checked { background: #1F6FEB; color: white; border-color: #1F6FEB; }"
)


class FilterChips(QWidget):
    changed = Signal()

    def __init__(self, tr: Translator) -> None:
        super().__init__()
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        self.chips: dict[str, QToolButton] = {}
        labels = [("twitter", "X"), ("facebook", "Facebook"), ("email", "Email"), ("webform", "Web forms"),
                  ("unhappy", "Unhappy customers"), ("unassigned", "Unassigned")]
        for key, label in labels:
            chip = QToolButton()
            chip.setToolTip(tr(label))
            if key in CHANNEL_CHIPS:
                chip.setIcon(icon(key))  # icon-only chips keep the queue column narrow
            else:
                chip.setText("☹" if key == "unhappy" else tr(label))
            chip.setCheckable(True)
            chip.setAccessibleName(f"{tr('Filter')}: {tr(label)}")
            chip.setStyleSheet(CHIP_STYLE)
            chip.toggled.connect(lambda _on: self.changed.emit())
            self.chips[key] = chip
            row.addWidget(chip)
        row.addStretch(1)

    def narrow(self, flt: QueueFilter) -> QueueFilter:
        """The view's filter with the checked chips applied."""
        channels = frozenset(Channel(k) for k in CHANNEL_CHIPS if self.chips[k].isChecked())
        if channels:
            flt = dataclasses.replace(flt, channels=channels)
        if self.chips["unhappy"].isChecked():
            flt = dataclasses.replace(flt, sentiment_below=NEGATIVE_BELOW)
        if self.chips["unassigned"].isChecked():
            flt = dataclasses.replace(flt, assignee="")
        return flt
