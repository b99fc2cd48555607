"""Settings → Team: sign in to a team server (server URL, agent name, password) or sign out.

The password is handed to the injected backend and never kept by the widget: the field is
cleared once the attempt ends. Failures are shown inline, in the words the backend chose
(wrong password, server unreachable, untrusted certificate).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from inbox.ui.i18n import Translator


class TeamSettings(Protocol):
    def team_state(self) -> tuple[str, str, bool] | None: ...  # server URL, agent, signed in
    async def team_sign_in(self, url: str, agent: str, password: str) -> str: ...
    async def team_sign_out(self) -> str: ...


class TeamTab(QWidget):
    """Signals: ``signed_in(str)``, ``signed_out()``."""

    signed_in = Signal(str)
    signed_out = Signal()

    def __init__(self, backend: TeamSettings, tr: Translator, describe_error: Callable[[BaseException], str],
                 parent: QWidget | None = None) -> None:  # fmt: skip
        super().__init__(parent)
        self._backend = backend
        self._tr = tr
        self._describe = describe_error
        self.task: asyncio.Task[None] | None = None
        layout = QVBoxLayout(self)
        intro = QLabel(tr("Team mode: one queue shared with your team through a team server. "
                          "Your password is sent to the server only; the session is kept in the system keyring."))  # fmt: skip
        intro.setWordWrap(True)
        layout.addWidget(intro)
        form = QFormLayout()
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://inbox.example.com")
        self.agent = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        form.addRow(tr("Server URL"), self.url)
        form.addRow(tr("Agent name"), self.agent)
        form.addRow(tr("Password"), self.password)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.sign_in_button = QPushButton(tr("Sign in"))
        self.sign_out_button = QPushButton(tr("Sign out"))
        row.addWidget(self.sign_in_button)
        row.addWidget(self.sign_out_button)
        row.addStretch(1)
        layout.addLayout(row)
        self.status = QLabel()
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.sign_in_button.clicked.connect(self._sign_in_clicked)
        self.sign_out_button.clicked.connect(self._sign_out_clicked)
        self.refresh()

    def refresh(self) -> None:
        state = self._backend.team_state()
        if state is None:
            self.status.setText(self._tr("Not in a team: Inbox works on this computer only."))
            self.sign_out_button.setEnabled(False)
            return
        url, agent, signed_in = state
        if not self.url.text():
            self.url.setText(url)
        if not self.agent.text():
            self.agent.setText(agent)
        self.status.setText(f"{agent} @ {url}: " + (self._tr("signed in") if signed_in else self._tr("signed out")))
        self.sign_out_button.setEnabled(True)

    def _run(self, work: Coroutine[Any, Any, None]) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.status.setText(self._tr("cannot sign in now: the app's event loop is not running"))
            return
        self.sign_in_button.setEnabled(False)
        self.sign_out_button.setEnabled(False)
        self.task = loop.create_task(work)

    def _sign_in_clicked(self) -> None:
        url, agent, password = self.url.text().strip(), self.agent.text().strip(), self.password.text()
        if not url or not agent or not password:
            self.status.setText(self._tr("Server URL, agent name and password are all needed"))
            return
        self.status.setText(self._tr("Signing in…"))
        self._run(self._sign_in(url, agent, password))

    async def _sign_in(self, url: str, agent: str, password: str) -> None:
        try:
            who = await self._backend.team_sign_in(url, agent, password)
        except Exception as exc:  # shown inline, never a modal inside a coroutine
            self.refresh()
            self.status.setText(f"{self._tr('Not signed in')}: {self._describe(exc)}")
        else:
            self.refresh()
            self.status.setText(f"{self._tr('Signed in')}: {who}")
            self.signed_in.emit(who)
        finally:
            self.password.clear()
            self.sign_in_button.setEnabled(True)
            self.task = None

    def _sign_out_clicked(self) -> None:
        self.status.setText(self._tr("Signing out…"))
        self._run(self._sign_out())

    async def _sign_out(self) -> None:
        try:
            kept = await self._backend.team_sign_out()
        except Exception as exc:
            self.status.setText(self._describe(exc))
        else:
            self.refresh()
            self.status.setText(f"{self._tr('Signed out; drafts kept')}: {kept}")
            self.signed_out.emit()
        finally:
            self.sign_in_button.setEnabled(True)
            self.task = None
