"""A mail's original formatting, shown safely: the sanitised HTML (no script, no remote content:
QTextBrowser never fetches from the network) and every link with the address it really opens,
misleading ones marked, so an agent sees where a link goes before following it."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence

from PySide6.QtWidgets import QDialog, QLabel, QListWidget, QTextBrowser, QVBoxLayout, QWidget

from inbox.ui.i18n import Translator
from inbox.ui.text import one_line

# (visible text, real target, misleading?) of every link of the message
Links = Sequence[tuple[str, str, bool]]
OriginalSource = Callable[[int], tuple[str, Links]]


class OriginalView(QDialog):
    """Signals: none."""

    def __init__(self, source: OriginalSource, message_id: int, tr: Translator, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(tr("Original formatting"))
        self.resize(820, 640)
        sanitised, links = source(message_id)
        layout = QVBoxLayout(self)
        note = QLabel(tr("Remote content blocked") + " · " + tr("links open nothing from here"))
        layout.addWidget(note)
        self.body = QTextBrowser()
        self.body.setOpenLinks(False)
        self.body.setOpenExternalLinks(False)
        self.body.setAccessibleName(tr("Original formatting"))
        self.body.setHtml(sanitised)
        layout.addWidget(self.body, 3)
        layout.addWidget(QLabel(tr("Where the links go")))
        self.links = QListWidget()
        self.links.setAccessibleName(tr("Where the links go"))
        for text, href, misleading in links:
            warning = "⚠ " + tr("misleading") + " · " if misleading else ""
            self.links.addItem(f"{warning}{one_line(text, 80)} → {one_line(href, 200)}")
        layout.addWidget(self.links, 1)


def blocked_notice(message_id: int, tr: Translator, dim: str) -> str:
    """The line under a mail that has original formatting: a link that opens this view."""
    return (
        f"<div style='font-size:9pt'><a href='inbox:original/{message_id}'>"
        f"{html.escape(tr('Show original formatting'))}</a> "
        f"<span style='color:{dim}'>({html.escape(tr('Remote content blocked'))})</span></div>"
    )
