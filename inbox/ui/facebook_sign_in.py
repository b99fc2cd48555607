"""Facebook Login for Devices inside the settings dialog: the code, the wait, the Page chosen.

The panel runs the sign-in as one asyncio task on the app's qasync loop (kept referenced,
cancelled by :meth:`FacebookSignInPanel.cancel` or when the dialog closes): it shows the code
to type at facebook.com/device with a countdown, then the Pages the person manages. Choosing
one is a plain click handler (no modal dialog inside a coroutine). The sign-in itself comes
from the backend as a :class:`DeviceSignIn`; the panel never sees a token.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from PySide6.QtCore import Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QDesktopServices, QFont, QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from inbox.errors import InboxError
from inbox.ui.i18n import Translator

NO_PAGE = "the Facebook account that approved manages no Page: sign in as a Page admin"


class PageOption(Protocol):
    """A Page offered after sign-in (``inbox.app.settings_backend.PageOption`` fits)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...


class DeviceSignIn(Protocol):
    """A started device login (``inbox.app.settings_backend.FacebookSignIn`` fits)."""

    @property
    def user_code(self) -> str: ...
    @property
    def verification_uri(self) -> str: ...
    def seconds_left(self) -> float: ...
    async def wait(self) -> Sequence[PageOption]:
        """The person's Pages once they approved; InboxError with the user's message."""

    def adopt(self, page_id: str) -> str:
        """Save the chosen Page as an account; its id."""

    def close(self) -> None: ...


def countdown(seconds: float) -> str:
    whole = max(0, int(seconds))
    return f"{whole // 60}:{whole % 60:02d}"


class FacebookSignInPanel(QFrame):
    """The sign-in steps: starting, the code to enter, the Page to choose.

    Signals: ``signed_in(str)`` with the saved account's id, ``failed(str)`` with the backend's
    (English) message, ``ended()`` once the panel is done for any reason, cancel included.
    """

    signed_in = Signal(str)
    failed = Signal(str)
    ended = Signal()

    def __init__(
        self,
        tr: Translator,
        open_url: Callable[[QUrl], object] = QDesktopServices.openUrl,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._tr = tr
        self._open_url = open_url
        self._task: asyncio.Task[None] | None = None
        self._sign_in: DeviceSignIn | None = None
        self._active = False
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        title = QLabel(tr("Sign in with Facebook"))
        title_font = title.font()
        title_font.setBold(True)
        title_font.setPointSizeF(title_font.pointSizeF() * 1.2)
        title.setFont(title_font)
        layout.addWidget(title)
        self.steps = QStackedWidget()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setAlignment(Qt.AlignmentFlag.AlignTop)
        self.steps.addWidget(self.status)
        self.steps.addWidget(self._code_step())
        self.steps.addWidget(self._pages_step())
        layout.addWidget(self.steps, 1)
        row = QHBoxLayout()
        row.addStretch(1)
        self.cancel_button = QPushButton(tr("Cancel sign-in"))
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.add_button)
        row.addWidget(self.cancel_button)
        layout.addLayout(row)
        self.steps.currentChanged.connect(lambda index: self.add_button.setVisible(index == 2))
        self.add_button.hide()
        self._timer = QTimer(self)
        self._timer.setInterval(1000)
        self._timer.timeout.connect(self._tick)

    def _code_step(self) -> QWidget:
        tr = self._tr
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.link = QLabel()
        self.link.setTextFormat(Qt.TextFormat.RichText)
        self.link.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        self.link.setOpenExternalLinks(False)
        self.link.linkActivated.connect(lambda url: self._open_url(QUrl(url)))
        self.link.setWordWrap(True)
        layout.addWidget(self.link)
        layout.addWidget(QLabel(tr("2. Enter this code there:")))
        code_row = QHBoxLayout()
        self.code = QLabel()
        self.code.setAccessibleName(tr("Code to enter on Facebook"))
        font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        font.setPointSize(26)
        font.setBold(True)
        font.setLetterSpacing(QFont.SpacingType.AbsoluteSpacing, 4)
        self.code.setFont(font)
        self.code.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.code.setFrameShape(QFrame.Shape.Box)
        self.code.setContentsMargins(12, 4, 12, 4)
        self.copy_button = QPushButton(tr("Copy code"))
        self.copy_button.clicked.connect(self._copy_code)
        code_row.addWidget(self.code)
        code_row.addWidget(self.copy_button)
        code_row.addStretch(1)
        layout.addLayout(code_row)
        self.waiting = QLabel()
        self.waiting.setWordWrap(True)
        self.waiting.setAccessibleName(tr("Sign-in status"))
        after = QLabel(tr("3. Allow access to your Pages there; they are listed here by themselves."))
        after.setWordWrap(True)
        layout.addWidget(after)
        layout.addSpacing(8)
        layout.addWidget(self.waiting)
        layout.addStretch(1)
        return page

    def _pages_step(self) -> QWidget:
        tr = self._tr
        page = QWidget()
        layout = QVBoxLayout(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self.pages_label = QLabel(tr("Signed in. Choose the Page to add as an account:"))
        self.pages_label.setWordWrap(True)
        layout.addWidget(self.pages_label)
        self.add_button = QPushButton(tr("Add this Page"))
        self.add_button.setDefault(True)
        self.add_button.clicked.connect(self._adopt_clicked)
        self.pages = QListWidget()
        self.pages.setAccessibleName(tr("Pages you manage"))
        self.pages.itemDoubleClicked.connect(lambda _item: self._adopt_clicked())
        self.pages.currentItemChanged.connect(
            lambda current, _old: self.add_button.setEnabled(current is not None)
        )
        layout.addWidget(self.pages, 1)
        return page

    # -- the flow -------------------------------------------------------------------------------

    def start(self, begin: Callable[[], Awaitable[DeviceSignIn]]) -> None:
        """Run ``begin`` (it asks Facebook for a code) and the steps after it, on the running
        asyncio loop (RuntimeError without one)."""
        loop = asyncio.get_running_loop()
        self.cancel()
        self._active = True
        self.status.setText(self._tr("Asking Facebook for a code…"))
        self.steps.setCurrentIndex(0)
        self._task = loop.create_task(self._run(begin))

    def running(self) -> bool:
        """True from :meth:`start` until the panel ends (a Page chosen, a failure, a cancel)."""
        return self._active

    async def _run(self, begin: Callable[[], Awaitable[DeviceSignIn]]) -> None:
        failure: str | None = None
        try:
            sign_in = await begin()
            self._sign_in = sign_in
            self._show_code(sign_in)
            pages = await sign_in.wait()
            self._timer.stop()
            if pages:
                self._show_pages(pages)
            else:
                failure = NO_PAGE
        except asyncio.CancelledError:
            if self._task is asyncio.current_task():  # cancelled from outside, not by cancel()
                self._task = None
                self._end()
            raise
        except InboxError as exc:
            failure = str(exc)
        except Exception as exc:  # a backend bug must not leave the dialog stuck
            failure = f"unexpected error: {type(exc).__name__}"
        finally:
            if self._task is asyncio.current_task():
                self._task = None
        if failure is not None and self._active:
            self.failed.emit(failure)
            self._end()

    def _show_code(self, sign_in: DeviceSignIn) -> None:
        url = html.escape(sign_in.verification_uri, quote=True)
        self.link.setText(
            f"{html.escape(self._tr('1. On a phone or computer, open'))} "
            f'<a href="{url}">{url}</a>'
        )
        self.code.setText(sign_in.user_code)
        self.copy_button.setText(self._tr("Copy code"))
        self.steps.setCurrentIndex(1)
        self._tick()
        self._timer.start()

    def _tick(self) -> None:
        if self._sign_in is None:
            return
        self.waiting.setText(
            f"{self._tr('Waiting for you to approve on Facebook')} — "
            f"{self._tr('time left')} {countdown(self._sign_in.seconds_left())}"
        )

    def _copy_code(self) -> None:
        QGuiApplication.clipboard().setText(self.code.text())
        self.copy_button.setText(self._tr("Copied"))

    def _show_pages(self, pages: Sequence[PageOption]) -> None:
        self.pages.clear()
        for page in pages:
            item = QListWidgetItem(f"{page.name}  ({self._tr('Page ID')} {page.id})")
            item.setData(Qt.ItemDataRole.UserRole, page.id)
            self.pages.addItem(item)
        self.pages.setCurrentRow(0)
        self.steps.setCurrentIndex(2)
        self.add_button.setFocus()

    def _adopt_clicked(self) -> None:
        item = self.pages.currentItem()
        if item is None or self._sign_in is None:
            return
        try:
            account_id = self._sign_in.adopt(str(item.data(Qt.ItemDataRole.UserRole)))
        except InboxError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:
            self.failed.emit(f"unexpected error: {type(exc).__name__}")
        else:
            self.signed_in.emit(account_id)
        self._end()

    def cancel(self) -> None:
        """Stop polling and forget the sign-in, at any step."""
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
        if self._active:
            self._end()

    def _end(self) -> None:
        self._timer.stop()
        self._active = False
        sign_in, self._sign_in = self._sign_in, None
        if sign_in is not None:
            sign_in.close()
        self.pages.clear()
        self.code.clear()
        self.ended.emit()
