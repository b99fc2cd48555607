"""A mail's original formatting, shown safely: the sanitised HTML (no script, no remote content:
QTextBrowser never fetches from the network) and every link with the address it really opens,
misleading ones marked, so an agent sees where a link goes before following it.

Remote images stay blocked until the agent allows them for this one message; the composition
root then fetches them (``RemoteImageSource``) and the view hands the bytes to the document as
image resources, so the text browser still loads nothing itself."""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

from PySide6.QtCore import QUrl
from PySide6.QtGui import QColor, QImage, QPainter, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QStyle,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from inbox.ui.i18n import Translator
from inbox.ui.text import one_line

# (visible text, real target, misleading?) of every link of the message
Links = Sequence[tuple[str, str, bool]]
OriginalSource = Callable[[int], tuple[str, Links]]


class RemoteImageSource(Protocol):
    """What the view asks about a message's remote images (the workspace answers)."""

    def remote_image_count(self, message_id: int) -> int:
        """How many distinct remote images the message has (0: no bar at all)."""
        ...

    def remote_images_allowed(self, message_id: int) -> bool:
        """True when the agent already allowed them: they load without asking again."""
        ...

    async def load_remote_images(self, message_id: int) -> tuple[str, Mapping[str, bytes], int]:
        """Allow and fetch: (HTML with the images back, image bytes by ``src``, how many failed)."""
        ...


class OfflineBrowser(QTextBrowser):
    """A text browser that loads nothing by itself, not even a local file: inline ``data:``
    images show, remote images only from the resources the view registered, and an image
    that could not be fetched shows as a plain grey box (not Qt's broken-file icon)."""

    def loadResource(self, type: int, name: QUrl | str) -> object:
        if QUrl(name).scheme() == "data":
            return super().loadResource(type, name)
        if type == QTextDocument.ResourceType.ImageResource.value:
            return _missing_image()
        return None


def _missing_image() -> QImage:
    image = QImage(24, 24, QImage.Format.Format_ARGB32)
    image.fill(QColor(128, 128, 128, 40))
    painter = QPainter(image)
    painter.setPen(QColor(128, 128, 128, 160))
    painter.drawRect(0, 0, 23, 23)
    painter.end()
    return image


class OriginalView(QDialog):
    """Signals: none."""

    def __init__(
        self,
        source: OriginalSource,
        message_id: int,
        tr: Translator,
        parent: QWidget | None = None,
        remote: RemoteImageSource | None = None,
    ) -> None:
        super().__init__(parent)
        self._tr = tr
        self._message_id = message_id
        self._remote = remote
        self._task: asyncio.Task[None] | None = None
        self.setWindowTitle(tr("Original formatting"))
        self.resize(820, 640)
        sanitised, links = source(message_id)
        layout = QVBoxLayout(self)
        self.note = QLabel(tr("Remote content blocked") + " · " + tr("links open nothing from here"))
        layout.addWidget(self.note)
        layout.addWidget(self._remote_bar())
        self.body = OfflineBrowser()
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
        self.body.setFocus()  # not the load button: a stray Space must not fetch trackers

        self.image_count = remote.remote_image_count(message_id) if remote else 0
        self.remote_bar.setVisible(self.image_count > 0)
        if self.image_count and remote is not None and remote.remote_images_allowed(message_id):
            self.load_remote_images()

    def _remote_bar(self) -> QFrame:
        tr = self._tr
        self.remote_bar = QFrame()
        self.remote_bar.setFrameShape(QFrame.Shape.StyledPanel)
        self.remote_bar.setAccessibleName(tr("Remote images"))
        row = QHBoxLayout(self.remote_bar)
        row.setContentsMargins(8, 4, 8, 4)
        shield = QLabel()
        shield.setPixmap(self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxInformation).pixmap(20, 20))
        row.addWidget(shield)
        self.remote_status = QLabel(tr("Remote images are blocked to protect your privacy"))
        self.remote_status.setWordWrap(True)
        row.addWidget(self.remote_status, 1)
        self.load_button = QPushButton(tr("Load remote images for this message"))
        self.load_button.setAccessibleName(tr("Load remote images for this message"))
        self.load_button.setToolTip(
            tr("Fetches this message's images from the sender's servers: the sender may learn that it was read.")
        )
        self.load_button.setAutoDefault(False)  # Enter in the dialog must not fetch anything
        self.load_button.setDefault(False)
        self.load_button.clicked.connect(self.load_remote_images)
        row.addWidget(self.load_button)
        return self.remote_bar

    def load_remote_images(self) -> None:
        """Ask the composition root to fetch this message's remote images, then show them."""
        if self._remote is None or self._task is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.remote_status.setText(self._tr("cannot load now: the app's event loop is not running"))
            return
        self.load_button.setEnabled(False)
        self.load_button.hide()
        n = self.image_count
        self.remote_status.setText(
            self._tr("Loading 1 image…") if n == 1 else self._tr("Loading {n} images…").format(n=n)
        )
        self._task = loop.create_task(self._load(self._remote))

    def loading(self) -> bool:
        """True while the remote images are being fetched."""
        return self._task is not None

    async def _load(self, remote: RemoteImageSource) -> None:
        try:
            page, images, failed = await remote.load_remote_images(self._message_id)
        except Exception as exc:  # a bug in the loader must not leave the bar stuck
            self.remote_status.setText(f"{self._tr('Images could not be loaded')}: {type(exc).__name__}")
            self.load_button.setEnabled(True)
            self.load_button.show()
            return
        finally:
            if self._task is asyncio.current_task():
                self._task = None
        loaded = self.show_images(page, images)
        self.remote_status.setText(self.result_text(loaded, failed + len(images) - loaded))
        self.note.setText(
            self._tr("Remote images shown for this message") + " · " + self._tr("links open nothing from here")
        )

    def show_images(self, page: str, images: Mapping[str, bytes]) -> int:
        """Render ``page`` with ``images`` as the document's own resources; returns how many
        decoded (one that does not is shown as missing and counted as not loaded)."""
        document = self.body.document()
        loaded = 0
        for src, data in images.items():
            image = QImage.fromData(data)
            if image.isNull():
                continue
            document.addResource(QTextDocument.ResourceType.ImageResource, QUrl(src), image)
            loaded += 1
        self.body.setHtml(page)
        return loaded

    def result_text(self, loaded: int, failed: int) -> str:
        tr = self._tr
        text = tr("1 image loaded") if loaded == 1 else tr("{n} images loaded").format(n=loaded)
        if failed:
            text += ", " + (
                tr("1 could not be loaded") if failed == 1 else tr("{n} could not be loaded").format(n=failed)
            )
        return text

    def done(self, result: int) -> None:
        """Closing (Escape, the window's close button) stops a fetch still running."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
        super().done(result)


def blocked_notice(message_id: int, tr: Translator, dim: str) -> str:
    """The line under a mail that has original formatting: a link that opens this view."""
    return (
        f"<div style='font-size:9pt'><a href='inbox:original/{message_id}'>"
        f"{html.escape(tr('Show original formatting'))}</a> "
        f"<span style='color:{dim}'>({html.escape(tr('Remote content blocked'))})</span></div>"
    )
