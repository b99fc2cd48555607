"""The account parts of the settings dialog: the accounts list model and the add-account form.

The form is built from a provider kind's own description of its fields (``FieldSpec``): the
Protocols here are met by ``inbox.sync.contract.FormField`` and ``ProviderInfo`` without the UI
importing the providers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor, QIntValidator
from PySide6.QtWidgets import QCheckBox, QFormLayout, QLineEdit, QWidget

from inbox.errors import InputError
from inbox.models import Channel
from inbox.ui.i18n import Translator

Index = QModelIndex | QPersistentModelIndex

#: How the list names ``inbox.sync.service.AccountState`` values (keys of the translation catalogue).
STATE_NAMES = {
    "idle": "idle",
    "syncing": "syncing",
    "up_to_date": "up to date",
    "offline": "offline",
    "rate_limited": "rate limited",
    "needs_sign_in": "needs sign-in",
    "error": "error",
}


class FieldSpec(Protocol):
    """One field of a provider's setup form (``inbox.sync.contract.FormField`` fits)."""

    @property
    def name(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def secret(self) -> bool: ...
    @property
    def kind(self) -> str: ...
    @property
    def default(self) -> str: ...
    @property
    def required(self) -> bool: ...
    @property
    def help(self) -> str: ...


class KindSpec(Protocol):
    """A provider kind and its form (``inbox.sync.contract.ProviderInfo`` fits)."""

    @property
    def kind(self) -> str: ...
    @property
    def channel(self) -> Channel: ...
    @property
    def display_name(self) -> str: ...
    @property
    def fields(self) -> Sequence[FieldSpec]: ...


class AccountSummary(Protocol):
    """An account as the list shows it: sync ``state`` as ``inbox.sync.service.AccountState`` values."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def rejected(self) -> int: ...
    @property
    def last_rejection(self) -> str: ...


class AccountListModel(QAbstractTableModel):
    """Accounts with their type and sync state (a state that needs the agent shows in red)."""

    HEADERS = ("Name", "Account id", "Type", "State")
    ATTENTION = frozenset({"needs_sign_in", "error", "offline", "rate_limited"})

    def __init__(self, tr: Translator, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._tr = tr
        self._rows: list[AccountSummary] = []

    def set_accounts(self, rows: Sequence[AccountSummary]) -> None:
        if [r.id for r in rows] == [r.id for r in self._rows] and self._rows:
            # The same accounts with new states (the sync reported): the selection stays.
            self._rows = list(rows)
            last = self.index(len(self._rows) - 1, len(self.HEADERS) - 1)
            self.dataChanged.emit(self.index(0, 0), last)
            return
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def account(self, row: int) -> AccountSummary | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self._tr(self.HEADERS[section]) if 0 <= section < len(self.HEADERS) else None
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        item = self.account(index.row()) if index.isValid() else None
        if item is None:
            return None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole):
            state = self._tr(STATE_NAMES.get(item.state, item.state.replace("_", " ")))
            if item.reason:
                state = f"{state}: {item.reason}"
            if item.rejected:
                state += f" · {item.rejected} {self._tr('rejected')}"
                if role == Qt.ItemDataRole.ToolTipRole and item.last_rejection:
                    state += f" ({self._tr('last')}: {item.last_rejection})"
            return (item.name, item.id, self._tr(item.kind), state)[index.column()]
        if role == Qt.ItemDataRole.ForegroundRole and index.column() == 3:
            return QColor("#C62828") if item.state in self.ATTENTION else None
        return None


class AccountForm:
    """The add-account rows of one provider kind, built from its fields into ``form`` (below
    the rows already there); :meth:`remove` takes them out again when the kind changes."""

    def __init__(self, spec: KindSpec, tr: Translator, form: QFormLayout) -> None:
        self.spec = spec
        self._tr = tr
        self.form = form
        self._widgets: list[QWidget] = []
        self.name = QLineEdit()
        self.account_id = QLineEdit()
        self.account_id.setToolTip(
            tr("The account's own id: mailbox address, Page id, X user id, form id")
        )
        by_user = any(f.name == "username" for f in spec.fields)
        if by_user:
            self.account_id.setPlaceholderText(tr("the user name when left empty"))
        self._add_row(tr("Name"), self.name)
        self._add_row(tr("Account id") + ("" if by_user else " *"), self.account_id)
        self.inputs: dict[str, QLineEdit | QCheckBox] = {}
        for spec_field in spec.fields:
            widget: QLineEdit | QCheckBox
            if spec_field.kind == "bool":
                widget = QCheckBox()
                widget.setChecked(spec_field.default.lower() in ("1", "true", "yes", "on"))
            else:
                widget = QLineEdit(spec_field.default)
                if spec_field.secret or spec_field.kind == "password":
                    widget.setEchoMode(QLineEdit.EchoMode.Password)
                if spec_field.kind == "int":
                    widget.setValidator(QIntValidator(0, 2_000_000_000, widget))
                if spec_field.help:
                    widget.setPlaceholderText(tr(spec_field.help))
            if spec_field.help:
                widget.setToolTip(tr(spec_field.help))
            label = tr(spec_field.label) + (" *" if spec_field.required else "")
            self._add_row(label, widget)
            self.inputs[spec_field.name] = widget

    def _add_row(self, label: str, widget: QWidget) -> None:
        widget.setAccessibleName(label.rstrip(" *"))
        self.form.addRow(label, widget)
        self._widgets.append(widget)

    def remove(self) -> None:
        """Delete this form's rows (labels and fields) from the layout."""
        for widget in self._widgets:
            self.form.removeRow(widget)
        self._widgets.clear()
        self.inputs.clear()

    def value(self, name: str) -> str:
        widget = self.inputs[name]
        if isinstance(widget, QCheckBox):
            return "true" if widget.isChecked() else "false"
        return widget.text() if self._secret(name) else widget.text().strip()

    def _secret(self, name: str) -> bool:
        return any(f.name == name and (f.secret or f.kind == "password") for f in self.spec.fields)

    def collect(self) -> tuple[str, str, dict[str, str], dict[str, str]]:
        """(account id, name, settings, secrets); InputError names the first missing field."""
        settings: dict[str, str] = {}
        secrets: dict[str, str] = {}
        for spec_field in self.spec.fields:
            value = self.value(spec_field.name)
            if spec_field.required and not value.strip():
                raise InputError(self._tr(spec_field.label), self._tr("required"))
            if spec_field.secret:
                if value:
                    secrets[spec_field.name] = value
            elif value:
                settings[spec_field.name] = value
        own = self.account_id.text().strip() or settings.get("username", "")
        if not own:
            raise InputError(self._tr("Account id"), self._tr("required"))
        prefix = f"{self.spec.channel.value}:"
        account_id = own if own.startswith(prefix) else prefix + own
        return account_id, self.name.text().strip() or own, settings, secrets

    def clear_secrets(self) -> None:
        for name, widget in self.inputs.items():
            if isinstance(widget, QLineEdit) and self._secret(name):
                widget.clear()
