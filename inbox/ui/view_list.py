"""The views column: each view's name on the left (elided when the column is narrow) and its
count right-aligned, so the count is never the part that is cut off."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QPainter, QPalette
from PySide6.QtWidgets import QApplication, QListWidget, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from inbox.ui.views import QueueView

#: Item data role holding the view's count (an int); headers have none.
COUNT_ROLE = Qt.ItemDataRole.UserRole + 1

Index = QModelIndex | QPersistentModelIndex


def update_counts(
    views: QListWidget, keys: list[str], count: Callable[[QueueView], int], label: Callable[[QueueView], str]
) -> bool:
    """New counts on the views shown, in place (the column keeps its selection and scroll), when
    the views shown are the ones named by ``keys``; False when the column must be rebuilt."""
    items = [views.item(i) for i in range(views.count())]
    shown = [(item, v) for item in items if isinstance(v := item.data(Qt.ItemDataRole.UserRole), QueueView)]
    if not shown or [v.key for _item, v in shown] != keys:
        return False
    for item, view in shown:
        n = count(view)
        item.setData(COUNT_ROLE, n)
        item.setToolTip(f"{label(view)}: {n}")
    return True


class ViewCountDelegate(QStyledItemDelegate):
    """Paints the row's background over the whole width, the name in what the count leaves."""

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: Index) -> None:
        count = index.data(COUNT_ROLE)
        if count is None:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        style = opt.widget.style() if opt.widget is not None else QApplication.style()  # type: ignore[attr-defined]
        text = f"{count:,}".replace(",", " ")
        rect = QRect(opt.rect)  # type: ignore[attr-defined]
        width = opt.fontMetrics.horizontalAdvance(text) + 14  # type: ignore[attr-defined]
        style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, opt, painter, opt.widget)  # type: ignore[attr-defined]
        opt.rect = QRect(rect.left(), rect.top(), max(0, rect.width() - width), rect.height())  # type: ignore[attr-defined]
        opt.textElideMode = Qt.TextElideMode.ElideRight  # type: ignore[attr-defined]
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)  # type: ignore[attr-defined]
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)  # type: ignore[attr-defined]
        role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        painter.save()
        painter.setPen(opt.palette.color(role))  # type: ignore[attr-defined]
        painter.drawText(
            QRect(rect.right() - width, rect.top(), width - 6, rect.height()),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            text,
        )
        painter.restore()
