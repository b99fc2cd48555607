"""Settings: accounts (list, add with a connection test, remove) and the SLA policy file.

The add-account form is built from the provider's own description of its fields; secret fields
are masked and go to the secret store through the backend, never to SQLite. "Test connection"
runs the provider's ``check()`` as an asyncio task on the app's qasync loop: the dialog keeps a
strong reference to it, cancels it on close and shows the answer inline (no modal dialog ever
runs inside a coroutine). The dialog talks to the app only through :class:`SettingsBackend`.
A Facebook Page can instead be added by signing in with Facebook (Login for Devices): the
steps run in :class:`inbox.ui.facebook_sign_in.FacebookSignInPanel`, shown in place of the form.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from datetime import date
from typing import Protocol

from PySide6.QtCore import Qt, QUrl, Signal
from PySide6.QtGui import QCloseEvent, QDesktopServices, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QStackedWidget,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from inbox.errors import InboxError, InputError
from inbox.sla.policy import load_policies
from inbox.ui.facebook_sign_in import DeviceSignIn, FacebookSignInPanel
from inbox.ui.i18n import Translator
from inbox.ui.settings_accounts import (
    AccountForm,
    AccountListModel,
    AccountSummary,
    FieldSpec,
    KindSpec,
)

__all__ = ["AccountSummary", "FieldSpec", "KindSpec", "SettingsBackend", "SettingsDialog"]

OK_COLOUR = "color: #2E7D32"
ERROR_COLOUR = "color: #C62828"


class SettingsBackend(Protocol):
    """What the settings dialog needs from the app (``inbox.app.settings_backend`` is the real one)."""

    def accounts(self) -> Sequence[AccountSummary]: ...

    def provider_kinds(self) -> Sequence[KindSpec]: ...

    def save_account(
        self,
        kind: str,
        account_id: str,
        name: str,
        settings: Mapping[str, str],
        secrets: Mapping[str, str],
    ) -> None:
        """Store the account and its secrets; InboxError when refused."""

    def remove_account(self, account_id: str, wipe: bool) -> None: ...

    async def check(
        self, kind: str, settings: Mapping[str, str], secrets: Mapping[str, str]
    ) -> str | None:
        """None when the provider signs in, else a one-line message for the user."""

    def policies_text(self) -> str: ...

    def apply_policies(self, text: str) -> None:
        """Put the policy file in force; InputError naming the field when it is wrong."""

    def country_holidays(self, country: str, years: range) -> set[date]: ...

    async def sign_in(self, kind: str, settings: Mapping[str, str]) -> str: ...

    async def facebook_sign_in(
        self, settings: Mapping[str, str], secrets: Mapping[str, str]
    ) -> DeviceSignIn:
        """Start Facebook Login for Devices with the form's app id and client token."""


class SettingsDialog(QDialog):
    """Accounts and SLA policies. Signals: ``accounts_changed()``, ``policies_applied()``."""

    accounts_changed = Signal()
    policies_applied = Signal()

    def __init__(
        self,
        backend: SettingsBackend,
        tr: Translator,
        parent: QWidget | None = None,
        *,
        open_url: Callable[[QUrl], object] = QDesktopServices.openUrl,
        team: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._backend = backend
        self._tr = tr
        self._open_url = open_url
        self._check_task: asyncio.Task[None] | None = None
        self._confirm_remove = False
        self.setWindowTitle(tr("Settings"))
        self.resize(860, 760)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.addTab(self._accounts_tab(), tr("Accounts"))
        self.tabs.addTab(self._policies_tab(), tr("SLA policies"))
        self.team_tab = team
        if team is not None:
            self.tabs.addTab(team, tr("Team"))
        layout.addWidget(self.tabs)
        close = QPushButton(tr("Close"))
        close.clicked.connect(self.close)
        row = QHBoxLayout()
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)
        self.refresh_accounts()

    # -- accounts -------------------------------------------------------------------------------

    def _accounts_tab(self) -> QWidget:
        tr = self._tr
        page = QWidget()
        layout = QVBoxLayout(page)
        self.account_model = AccountListModel(tr, self)
        self.account_table = QTableView()
        self.account_table.setModel(self.account_model)
        self.account_table.setAccessibleName(tr("Accounts"))
        self.account_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.account_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.account_table.verticalHeader().hide()
        self.account_table.horizontalHeader().setSectionResizeMode(
            QHeaderView.ResizeMode.ResizeToContents
        )
        self.account_table.horizontalHeader().setStretchLastSection(True)
        self.account_table.setMinimumHeight(150)
        layout.addWidget(self.account_table, 1)
        remove_row = QHBoxLayout()
        self.wipe = QCheckBox(tr("Also wipe its local data (conversations and messages)"))
        self.remove_button = QPushButton(tr("Remove account"))
        self.remove_button.clicked.connect(self._remove_clicked)
        self.account_table.selectionModel().currentChanged.connect(
            lambda *_: self._set_confirm_remove(False)
        )
        remove_row.addWidget(self.wipe)
        remove_row.addStretch(1)
        remove_row.addWidget(self.remove_button)
        layout.addLayout(remove_row)
        box = QGroupBox(tr("Add account"))
        add = QVBoxLayout(box)
        area = QScrollArea()
        area.setWidgetResizable(True)
        area.setFrameShape(QFrame.Shape.NoFrame)
        area.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        holder = QWidget()
        self.add_form = QFormLayout(holder)
        self.add_form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        self.kind = QComboBox()
        self.kind.setAccessibleName(tr("Account type"))
        for spec in self._backend.provider_kinds():
            self.kind.addItem(tr(spec.display_name), spec.kind)
        self.add_form.addRow(tr("Account type"), self.kind)
        area.setWidget(holder)
        self.facebook_panel = FacebookSignInPanel(self._tr, self._open_url)
        self.facebook_panel.signed_in.connect(self._facebook_signed_in)
        self.facebook_panel.failed.connect(lambda message: self.show_result(self._message(message)))
        self.facebook_panel.ended.connect(self._facebook_ended)
        self.add_stack = QStackedWidget()
        self.add_stack.addWidget(area)
        self.add_stack.addWidget(self.facebook_panel)
        add.addWidget(self.add_stack, 1)
        self.account_form: AccountForm | None = None
        actions = QHBoxLayout()
        self.test_button = QPushButton(tr("Test connection"))
        self.save_button = QPushButton(tr("Save account"))
        self.sign_in_button = QPushButton(tr("Sign in with X in the browser"))
        self.sign_in_button.setAccessibleName(tr("Sign in with X in the browser"))
        self.sign_in_button.clicked.connect(self._sign_in_clicked)
        self.facebook_button = QPushButton(tr("Sign in with Facebook"))
        self.facebook_button.setToolTip(
            tr("Enter a code at facebook.com/device, then choose the Page; needs the App ID and client token")
        )
        self.facebook_button.clicked.connect(self._facebook_clicked)
        self.check_result = QLabel()
        self.check_result.setWordWrap(True)
        self.check_result.setAccessibleName(tr("Connection test result"))
        actions.addWidget(self.check_result, 1)
        actions.addWidget(self.sign_in_button)
        actions.addWidget(self.facebook_button)
        actions.addWidget(self.test_button)
        actions.addWidget(self.save_button)
        add.addLayout(actions)
        layout.addWidget(box, 3)
        self.kind.currentIndexChanged.connect(lambda _i: self._build_form())
        self.test_button.clicked.connect(self._test_clicked)
        self.save_button.clicked.connect(self._save_clicked)
        self._build_form()
        return page

    def refresh_accounts(self) -> None:
        self.account_model.set_accounts(self._backend.accounts())
        self.remove_button.setEnabled(self.account_model.rowCount() > 0)

    def _spec(self) -> KindSpec | None:
        kind = self.kind.currentData()
        return next((s for s in self._backend.provider_kinds() if s.kind == kind), None)

    def _build_form(self) -> None:
        self._cancel_check()
        if self.account_form is not None:
            self.account_form.remove()
            self.account_form = None
        spec = self._spec()
        self.show_result("")
        if spec is None:
            return
        self.account_form = AccountForm(spec, self._tr, self.add_form)
        self.sign_in_button.setVisible(spec.kind == "x")
        self.facebook_button.setVisible(spec.kind == "facebook")
        for widget in self.account_form.inputs.values():
            signal = widget.toggled if isinstance(widget, QCheckBox) else widget.textEdited
            signal.connect(lambda *_: self.show_result(""))

    def show_result(self, text: str, ok: bool = False) -> None:
        self.check_result.setStyleSheet(OK_COLOUR if ok else ERROR_COLOUR)
        self.check_result.setText(text)

    def _collected(self) -> tuple[str, str, dict[str, str], dict[str, str]] | None:
        if self.account_form is None:
            return None
        try:
            return self.account_form.collect()
        except InputError as exc:
            self.show_result(str(exc))
            return None

    def _test_clicked(self) -> None:
        collected = self._collected()
        if collected is None or self.account_form is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.show_result(self._tr("cannot test now: the app's event loop is not running"))
            return
        self._cancel_check()
        kind = self.account_form.spec.kind
        _account_id, _name, settings, secrets = collected
        self.test_button.setEnabled(False)
        self.check_result.setStyleSheet("")
        self.check_result.setText(self._tr("Testing the connection…"))
        self._check_task = loop.create_task(self._run_check(kind, settings, secrets))

    async def _run_check(
        self, kind: str, settings: dict[str, str], secrets: dict[str, str]
    ) -> None:
        try:
            message = await self._backend.check(kind, settings, secrets)
        except Exception as exc:  # a backend bug must not leave the button disabled
            message = f"{self._tr('unexpected error')}: {type(exc).__name__}"
        finally:
            if self._check_task is asyncio.current_task():  # not replaced by a newer test
                self._check_task = None
                self.test_button.setEnabled(True)
        if message is None:
            self.show_result(self._tr("Connected"), ok=True)
        else:
            self.show_result(self._message(message))

    def _sign_in_clicked(self) -> None:
        """X: OAuth in the system browser; the account is saved once X says who it is."""
        if self.account_form is None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.show_result(self._tr("cannot test now: the app's event loop is not running"))
            return
        settings = {name: self.account_form.value(name) for name in self.account_form.inputs}
        self._cancel_check()
        self.sign_in_button.setEnabled(False)
        self.check_result.setStyleSheet("")
        self.check_result.setText(self._tr("Finish signing in in your browser…"))
        self._check_task = loop.create_task(self._run_sign_in(self.account_form.spec.kind, settings))

    async def _run_sign_in(self, kind: str, settings: dict[str, str]) -> None:
        try:
            account_id = await self._backend.sign_in(kind, settings)
        except Exception as exc:  # shown inline, never a modal inside a coroutine
            self.show_result(self._message(str(exc)))
        else:
            self.show_result(f"{self._tr('Signed in')}: {account_id}", ok=True)
            self.refresh_accounts()
            self.accounts_changed.emit()
        finally:
            if self._check_task is asyncio.current_task():
                self._check_task = None
            self.sign_in_button.setEnabled(True)

    def _facebook_clicked(self) -> None:
        """Facebook: a code to enter on facebook.com/device, then the Page to add."""
        form = self.account_form
        if form is None:
            return
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            self.show_result(self._tr("cannot test now: the app's event loop is not running"))
            return
        secret = {f.name for f in form.spec.fields if f.secret}
        values = {name: form.value(name) for name in form.inputs}
        settings = {k: v for k, v in values.items() if k not in secret}
        secrets = {k: v for k, v in values.items() if k in secret and v}
        self._cancel_check()
        self.show_result("")
        for button in (self.facebook_button, self.test_button, self.save_button):
            button.setEnabled(False)
        self.kind.setEnabled(False)
        self.add_stack.setCurrentWidget(self.facebook_panel)
        self.facebook_panel.start(lambda: self._backend.facebook_sign_in(settings, secrets))

    def _facebook_signed_in(self, account_id: str) -> None:
        self.show_result(f"{self._tr('Signed in')}: {account_id}", ok=True)
        if self.account_form is not None:
            self.account_form.clear_secrets()
        self.refresh_accounts()
        self.accounts_changed.emit()

    def _facebook_ended(self) -> None:
        """Back to the form, whatever ended the sign-in."""
        self.add_stack.setCurrentIndex(0)
        for button in (self.facebook_button, self.test_button, self.save_button):
            button.setEnabled(True)
        self.kind.setEnabled(True)

    def _message(self, message: str) -> str:
        """Translate a backend message: whole, else the phrase before its detail."""
        whole = self._tr(message)
        if whole != message or ": " not in message:
            return whole
        head, _, rest = message.partition(": ")
        return f"{self._tr(head)}: {rest}"

    def _cancel_check(self) -> None:
        self.facebook_panel.cancel()
        task, self._check_task = self._check_task, None
        if task is not None and not task.done():
            task.cancel()
            self.show_result("")
        self.test_button.setEnabled(True)

    def checking(self) -> bool:
        """True while a connection test or a Facebook sign-in runs."""
        return self._check_task is not None or self.facebook_panel.running()

    def _save_clicked(self) -> None:
        collected = self._collected()
        if collected is None or self.account_form is None:
            return
        account_id, name, settings, secrets = collected
        try:
            self._backend.save_account(
                self.account_form.spec.kind, account_id, name, settings, secrets
            )
        except InboxError as exc:
            self.show_result(str(exc))
            return
        self._cancel_check()
        self.account_form.clear_secrets()
        self.show_result(f"{self._tr('Saved')}: {account_id}", ok=True)
        self.refresh_accounts()
        self.accounts_changed.emit()

    def _set_confirm_remove(self, on: bool) -> None:
        self._confirm_remove = on
        text = "Click again to remove" if on else "Remove account"
        self.remove_button.setText(self._tr(text))

    def _remove_clicked(self) -> None:
        index = self.account_table.currentIndex()
        summary = self.account_model.account(index.row()) if index.isValid() else None
        if summary is None:
            self.show_result(self._tr("Select an account to remove"))
            return
        if not self._confirm_remove:
            self._set_confirm_remove(True)
            return
        self._set_confirm_remove(False)
        try:
            self._backend.remove_account(summary.id, self.wipe.isChecked())
        except InboxError as exc:
            self.show_result(str(exc))
            return
        self.wipe.setChecked(False)
        self.refresh_accounts()
        self.accounts_changed.emit()

    # -- SLA policies ---------------------------------------------------------------------------

    def _policies_tab(self) -> QWidget:
        tr = self._tr
        page = QWidget()
        layout = QVBoxLayout(page)
        self.policies = QPlainTextEdit()
        self.policies.setAccessibleName(tr("SLA policies"))
        self.policies.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.policies.setPlainText(self._backend.policies_text())
        self.policies.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        layout.addWidget(self.policies, 1)
        row = QHBoxLayout()
        self.policy_result = QLabel()
        self.policy_result.setWordWrap(True)
        self.policy_result.setAccessibleName(tr("Validation result"))
        self.validate_button = QPushButton(tr("Validate"))
        self.apply_button = QPushButton(tr("Apply"))
        row.addWidget(self.policy_result, 1)
        row.addWidget(self.validate_button)
        row.addWidget(self.apply_button)
        layout.addLayout(row)
        self.validate_button.clicked.connect(self.validate_policies)
        self.apply_button.clicked.connect(self._apply_clicked)
        self.policies.textChanged.connect(self.policy_result.clear)
        return page

    def validate_policies(self) -> bool:
        """Read the text as a policy file; show how many policies, or the field that is wrong."""
        try:
            rules = load_policies(
                self.policies.toPlainText(), "SLA policies", self._backend.country_holidays
            )
        except InputError as exc:
            self.policy_result.setStyleSheet(ERROR_COLOUR)
            self.policy_result.setText(exc.reason)  # names the policy and field
            return False
        self.policy_result.setStyleSheet(OK_COLOUR)
        self.policy_result.setText(
            f"{self._tr('Valid')}: {len(rules.policies)} {self._tr('policies')}"
        )
        return True

    def _apply_clicked(self) -> None:
        if not self.validate_policies():
            return
        try:
            self._backend.apply_policies(self.policies.toPlainText())
        except InboxError as exc:
            self.policy_result.setStyleSheet(ERROR_COLOUR)
            self.policy_result.setText(str(exc))
            return
        self.policy_result.setText(self._tr("Applied: deadlines are computed with these policies"))
        self.policies_applied.emit()

    # -- closing --------------------------------------------------------------------------------

    def done(self, result: int) -> None:
        self._cancel_check()
        super().done(result)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._cancel_check()
        super().closeEvent(event)
