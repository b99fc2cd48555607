"""Painting one queue row: channel icon, customer, subject, tags, priority, age, SLA countdown."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from inbox.models import Conversation, Priority
from inbox.triage.rules import sentiment_marker
from inbox.ui.i18n import Translator
from inbox.ui.icons import icon
from inbox.ui.queue_model import ConversationRole, QueueModel, clock_face
from inbox.ui.text import age, one_line

SLA_COLOURS = {
    "breached": QColor("#C62828"),
    "warning": QColor("#E08A00"),
    "ok": QColor("#2E7D32"),
    "paused": QColor("#757575"),
    "met": QColor("#9E9E9E"),
}
PRIORITY_COLOURS = {Priority.URGENT: QColor("#C62828"), Priority.HIGH: QColor("#E08A00")}
ROW_HEIGHT = 56
# Flags combined once, not for each of the fifteen rows painted in every frame of a scroll.
_LEFT = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_MIDDLE = Qt.AlignmentFlag.AlignVCenter
_CENTRE = Qt.AlignmentFlag.AlignCenter
_ELIDE = Qt.TextElideMode.ElideRight
_SELECTED = QStyle.StateFlag.State_Selected
# The painted rows kept: a few screens of them (a row of a 1440-pixel window is ~110 KB).
_CACHE_BYTES = 8 * 1024 * 1024


class QueueDelegate(QStyledItemDelegate):
    def __init__(self, tr: Translator, parent: object | None = None) -> None:
        super().__init__(None)
        self.tr_ = tr
        #: Team mode: who else is on a conversation ("lea is replying"), painted on its row.
        self.presence: Callable[[int], str] | None = None
        #: Rows as painted, least recently used first: a repaint of rows that did not change (the
        #: view scrolled, a row elsewhere changed, the window was exposed) copies pictures.
        self._painted: OrderedDict[tuple[object, ...], QPixmap] = OrderedDict()
        self._painted_bytes = 0

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        return QSize(option.rect.width(), ROW_HEIGHT)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> None:
        conv = index.data(ConversationRole)
        if not isinstance(conv, Conversation):
            return
        model = index.model()
        now = model.now if isinstance(model, QueueModel) else conv.last_message_at
        palette: QPalette = option.palette  # type: ignore[attr-defined]
        rect: QRect = option.rect  # type: ignore[attr-defined]
        font: QFont = option.font  # type: ignore[attr-defined]
        selected = bool(option.state & _SELECTED)  # type: ignore[attr-defined]
        here = self.presence(conv.id) if self.presence is not None else ""
        face = clock_face(conv, now)
        ratio = painter.device().devicePixelRatioF()
        # Everything the row's pixels depend on: the conversation as read (frozen, compared by
        # value, so a reload that changes nothing keeps the picture), the clock's part of it, the
        # look of the view and who else is on it.
        key = (conv, face, here, selected, rect.width(), rect.height(), ratio,
               palette.cacheKey(), palette.currentColorGroup(), font.key(), self.tr_.language)
        picture = self._painted.pop(key, None)
        if picture is None:
            picture = QPixmap(round(rect.width() * ratio), round(rect.height() * ratio))
            picture.setDevicePixelRatio(ratio)
            # Opaque, on the colour the view paints under its rows: text is antialiased as it
            # would be on the view itself, and the copy is a plain blit.
            picture.fill(palette.color(QPalette.ColorRole.Base))
            row_painter = QPainter(picture)
            try:
                self._paint_row(row_painter, QRect(0, 0, rect.width(), rect.height()), conv, now,
                                face[0], here, palette, font, selected)
            finally:
                row_painter.end()
            self._painted_bytes += picture.width() * picture.height() * 4
            while self._painted and self._painted_bytes > _CACHE_BYTES:
                _, evicted = self._painted.popitem(last=False)
                self._painted_bytes -= evicted.width() * evicted.height() * 4
        self._painted[key] = picture  # the most recently painted last
        painter.drawPixmap(rect.topLeft(), picture)

    def _paint_row(self, painter: QPainter, rect: QRect, conv: Conversation, now: datetime,
                   badge_face: tuple[str, str] | None, here: str, palette: QPalette, font: QFont,
                   selected: bool) -> None:
        if selected:
            painter.fillRect(rect, palette.color(QPalette.ColorRole.Highlight))
            text_colour = palette.color(QPalette.ColorRole.HighlightedText)
            dim = text_colour
        else:
            text_colour = palette.color(QPalette.ColorRole.Text)
            dim = palette.color(QPalette.ColorRole.PlaceholderText)
        # channel and surface icons
        icon(conv.channel.value).paint(painter, QRect(rect.left() + 10, rect.top() + 9, 24, 24))
        if conv.surface is not None:
            icon(conv.surface.value).paint(painter, QRect(rect.left() + 24, rect.top() + 31, 14, 14))
        left = rect.left() + 46
        right = rect.right() - 10
        # line 1: customer (bold) ... SLA countdown badge
        badge_w = 0
        if badge_face is not None:
            state, label = badge_face
            f = QFont(font)
            f.setBold(True)
            painter.setFont(f)
            badge_w = painter.fontMetrics().horizontalAdvance(label) + 14
            badge = QRect(right - badge_w, rect.top() + 7, badge_w, 20)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(SLA_COLOURS.get(state, QColor("#757575")))
            painter.drawRoundedRect(badge, 9, 9)
            painter.setPen(QColor("white"))
            painter.drawText(badge, _CENTRE, label)
        bold = QFont(font)
        bold.setBold(conv.status.value == "new")
        painter.setFont(bold)
        painter.setPen(text_colour)
        name = one_line(conv.customer_name or self.tr_("no customer"), 60)
        marker = sentiment_marker(conv.sentiment)
        if marker:
            name = f"{name}  {marker}"
        when = f"{self.tr_(conv.status.value)} · {age(conv.last_message_at, now, self.tr_.language)}"
        when_w = QFontMetrics(font).horizontalAdvance(when) + 10
        head = QRect(left, rect.top() + 6, right - left - badge_w - 8, 22)
        painter.drawText(head, _LEFT,
                         painter.fontMetrics().elidedText(name, _ELIDE, head.width() - when_w))
        painter.setFont(font)
        painter.setPen(dim)
        painter.drawText(head, _RIGHT, when)
        # line 2: priority mark, subject or first line, tags
        x = left
        if conv.priority in PRIORITY_COLOURS:
            painter.setPen(PRIORITY_COLOURS[conv.priority])
            mark = "‼" if conv.priority is Priority.URGENT else "!"
            painter.drawText(QRect(x, rect.top() + 29, 14, 20), _MIDDLE, mark)
            x += 14
        tags = "  ".join(f"#{t}" for t in conv.tags[:3])
        if here:
            tags = here + (f"  {tags}" if tags else "")
        tag_w = painter.fontMetrics().horizontalAdvance(tags) + 8 if tags else 0
        painter.setPen(text_colour if selected else palette.color(QPalette.ColorRole.Text))
        line2 = QRect(x, rect.top() + 29, right - x - tag_w, 20)
        subject = one_line(conv.subject or conv.preview, 200)
        painter.drawText(line2, _MIDDLE,
                         painter.fontMetrics().elidedText(subject, _ELIDE, line2.width()))
        if tags:
            painter.setPen((QColor("#B35C00") if here else QColor("#1F6FEB")) if not selected else text_colour)
            painter.drawText(QRect(right - tag_w, rect.top() + 29, tag_w, 20),
                             _RIGHT, tags)
        painter.setPen(palette.color(QPalette.ColorRole.Mid))
        painter.drawLine(rect.left(), rect.bottom(), rect.right(), rect.bottom())
