"""The settings dialog: the add-account form built from a provider's fields, the connection test
run on the qasync loop (a fake backend, then the real one against Dovecot and aiosmtpd), saving,
removing, and the SLA policy editor."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import httpx
import pytest
from PySide6.QtWidgets import QCheckBox, QLabel, QLineEdit
from pytestqt.qtbot import QtBot

from inbox.app.settings_backend import AccountStatus, SettingsBackend
from inbox.models import Channel
from inbox.secrets import MemorySecretStore
from inbox.sla.holidays import country_holidays
from inbox.sla.policy import load_policies
from inbox.store.repository import Store
from inbox.sync.contract import FormField, ProviderInfo
from inbox.ui.i18n import Translator
from inbox.ui.settings_accounts import AccountListModel
from inbox.ui.settings_dialog import SettingsDialog
from tests.providers.email.servers import (  # noqa: F401 - pytest fixtures
    DovecotServer,
    SmtpServer,
    dovecot_server,
    smtp_server,
)

MAIL = ProviderInfo(
    "imap",
    Channel.EMAIL,
    "E-mail (IMAP/SMTP)",
    (
        FormField("imap_host", "IMAP server"),
        FormField("imap_port", "IMAP port", kind="int", default="993"),
        FormField("username", "User name"),
        FormField("password", "Password", secret=True, kind="password"),
        FormField("tls", "Verify certificates", kind="bool", default="true", required=False),
    ),
)
FORM = ProviderInfo(
    "webform-json",
    Channel.WEBFORM,
    "Web form (JSON endpoint)",
    (FormField("url", "Submissions URL", kind="url", help="Returns our JSON shape"),),
)
POLICIES = """[[policy]]
name = "all"
first_reply = "1h"
"""


@dataclass
class FakeBackend:
    """Answers like the real backend; the right password is "right"."""

    rows: list[AccountStatus] = field(default_factory=list)
    saved: list[tuple[str, str, str, dict[str, str], dict[str, str]]] = field(default_factory=list)
    removed: list[tuple[str, bool]] = field(default_factory=list)
    checks: list[dict[str, str]] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)
    hang: bool = False

    def accounts(self) -> list[AccountStatus]:
        return list(self.rows)

    def provider_kinds(self) -> list[ProviderInfo]:
        return [MAIL, FORM]

    def save_account(
        self,
        kind: str,
        account_id: str,
        name: str,
        settings: Mapping[str, str],
        secrets: Mapping[str, str],
    ) -> None:
        self.saved.append((kind, account_id, name, dict(settings), dict(secrets)))
        self.rows.append(AccountStatus(account_id, name, "E-mail (IMAP/SMTP)", "idle"))

    def remove_account(self, account_id: str, wipe: bool) -> None:
        self.removed.append((account_id, wipe))
        self.rows = [r for r in self.rows if r.id != account_id]

    async def check(
        self, kind: str, settings: Mapping[str, str], secrets: Mapping[str, str]
    ) -> str | None:
        self.checks.append(dict(secrets))
        if self.hang:
            await asyncio.Event().wait()
        await asyncio.sleep(0)
        return (
            None if secrets.get("password") == "right" else "needs sign-in: wrong password or token"
        )

    def policies_text(self) -> str:
        return POLICIES

    def apply_policies(self, text: str) -> None:
        load_policies(text, "SLA policies", country_holidays)
        self.applied.append(text)

    def country_holidays(self, country: str, years: range) -> set[date]:
        return country_holidays(country, years)


def run(loop: asyncio.AbstractEventLoop, body: Callable[[], Awaitable[None]]) -> None:
    loop.run_until_complete(asyncio.wait_for(body(), 60))


async def until(check: Callable[[], bool]) -> None:
    while not check():
        await asyncio.sleep(0.02)


def field_widget(dialog: SettingsDialog, name: str) -> QLineEdit:
    assert dialog.account_form is not None
    widget = dialog.account_form.inputs[name]
    assert isinstance(widget, QLineEdit)
    return widget


def fill(dialog: SettingsDialog, qtbot: QtBot, values: Mapping[str, str]) -> None:
    for name, value in values.items():
        widget = field_widget(dialog, name)
        widget.clear()
        qtbot.keyClicks(widget, value)


@pytest.fixture()
def backend() -> FakeBackend:
    return FakeBackend(
        [
            AccountStatus(
                "email:old@shop.test",
                "Old",
                "E-mail (IMAP/SMTP)",
                "needs_sign_in",
                "password refused",
            )
        ]
    )


@pytest.fixture()
def dialog(qtbot: QtBot, backend: FakeBackend) -> Iterator[SettingsDialog]:
    d = SettingsDialog(backend, Translator("en"))
    qtbot.addWidget(d)
    d.show()
    yield d
    d.close()


def form_labels(dialog: SettingsDialog) -> list[str]:
    layout = dialog.add_form
    labels = []
    for row in range(layout.rowCount()):
        item = layout.itemAt(row, layout.ItemRole.LabelRole)
        label = item.widget() if item is not None else None
        if isinstance(label, QLabel):
            labels.append(label.text())
    return labels


def test_the_form_is_built_from_the_provider_fields(qtbot: QtBot, dialog: SettingsDialog) -> None:
    assert [dialog.kind.itemText(i) for i in range(dialog.kind.count())] == [
        "E-mail (IMAP/SMTP)",
        "Web form (JSON endpoint)",
    ]
    assert form_labels(dialog) == [
        "Account type",
        "Name",
        "Account id",
        "IMAP server *",
        "IMAP port *",
        "User name *",
        "Password *",
        "Verify certificates",
    ]
    assert field_widget(dialog, "password").echoMode() is QLineEdit.EchoMode.Password
    assert field_widget(dialog, "imap_host").echoMode() is QLineEdit.EchoMode.Normal
    assert field_widget(dialog, "imap_port").text() == "993"
    qtbot.keyClicks(field_widget(dialog, "imap_port"), "x")  # not a number: refused by the field
    assert field_widget(dialog, "imap_port").text() == "993"
    assert dialog.account_form is not None
    assert isinstance(dialog.account_form.inputs["tls"], QCheckBox)
    dialog.kind.setCurrentIndex(1)
    assert form_labels(dialog) == ["Account type", "Name", "Account id *", "Submissions URL *"]
    assert field_widget(dialog, "url").placeholderText() == "Returns our JSON shape"


def test_the_account_list_shows_states_and_passes_the_model_tester(
    qtmodeltester: object, dialog: SettingsDialog, backend: FakeBackend
) -> None:
    model = dialog.account_model
    qtmodeltester.check(model)  # type: ignore[attr-defined]
    assert [model.index(0, c).data() for c in range(4)] == [
        "Old",
        "email:old@shop.test",
        "E-mail (IMAP/SMTP)",
        "needs sign-in: password refused",
    ]
    empty = AccountListModel(Translator("fr"))
    qtmodeltester.check(empty)  # type: ignore[attr-defined]


def test_wrong_password_shows_needs_sign_in_then_right_one_connects(
    qtbot: QtBot,
    dialog: SettingsDialog,
    backend: FakeBackend,
    qasync_loop: asyncio.AbstractEventLoop,
) -> None:
    fill(
        dialog,
        qtbot,
        {"imap_host": "mail.shop.test", "username": "support@shop.test", "password": "wrong"},
    )

    async def body() -> None:
        dialog.test_button.click()
        assert not dialog.test_button.isEnabled()
        await until(lambda: not dialog.checking())
        assert dialog.check_result.text() == "needs sign-in: wrong password or token"
        assert dialog.test_button.isEnabled()
        fill(dialog, qtbot, {"password": "right"})
        assert dialog.check_result.text() == ""  # a stale answer goes when the form changes
        dialog.test_button.click()
        await until(lambda: not dialog.checking())
        assert dialog.check_result.text() == "Connected"

    run(qasync_loop, body)
    assert backend.checks == [{"password": "wrong"}, {"password": "right"}]
    assert backend.saved == []


def test_a_missing_required_field_is_named_and_nothing_is_tested(
    qtbot: QtBot,
    dialog: SettingsDialog,
    backend: FakeBackend,
    qasync_loop: asyncio.AbstractEventLoop,
) -> None:
    fill(dialog, qtbot, {"imap_host": "mail.shop.test", "username": "support@shop.test"})

    async def body() -> None:
        dialog.test_button.click()
        await asyncio.sleep(0)

    run(qasync_loop, body)
    assert dialog.check_result.text() == "Password: required"
    assert backend.checks == [] and not dialog.checking()


def test_closing_cancels_a_running_test(
    qtbot: QtBot,
    dialog: SettingsDialog,
    backend: FakeBackend,
    qasync_loop: asyncio.AbstractEventLoop,
) -> None:
    backend.hang = True
    fill(dialog, qtbot, {"imap_host": "h", "username": "u@shop.test", "password": "p"})

    async def body() -> None:
        dialog.test_button.click()
        await until(lambda: bool(backend.checks))
        task = dialog._check_task
        assert task is not None and dialog.check_result.text() == "Testing the connection…"
        dialog.close()
        await until(task.done)
        assert task.cancelled() and not dialog.checking()

    run(qasync_loop, body)


def test_save_sends_secrets_apart_and_clears_them(
    qtbot: QtBot, dialog: SettingsDialog, backend: FakeBackend
) -> None:
    changed: list[bool] = []
    dialog.accounts_changed.connect(lambda: changed.append(True))
    fill(
        dialog,
        qtbot,
        {"imap_host": "mail.shop.test", "username": "support@shop.test", "password": "right"},
    )
    dialog.account_form.name.setText("Support")  # type: ignore[union-attr]
    dialog.save_button.click()
    assert backend.saved == [
        (
            "imap",
            "email:support@shop.test",
            "Support",
            {
                "imap_host": "mail.shop.test",
                "imap_port": "993",
                "username": "support@shop.test",
                "tls": "true",
            },
            {"password": "right"},
        )
    ]
    assert field_widget(dialog, "password").text() == ""
    assert dialog.check_result.text() == "Saved: email:support@shop.test"
    assert dialog.account_model.rowCount() == 2 and changed == [True]


def test_remove_asks_twice_and_can_wipe(
    qtbot: QtBot, dialog: SettingsDialog, backend: FakeBackend
) -> None:
    dialog.account_table.setCurrentIndex(dialog.account_model.index(0, 0))
    dialog.wipe.setChecked(True)
    dialog.remove_button.click()
    assert backend.removed == [] and dialog.remove_button.text() == "Click again to remove"
    dialog.remove_button.click()
    assert backend.removed == [("email:old@shop.test", True)]
    assert dialog.account_model.rowCount() == 0 and not dialog.remove_button.isEnabled()


def test_policies_validate_inline_and_apply(
    qtbot: QtBot, dialog: SettingsDialog, backend: FakeBackend
) -> None:
    applied: list[bool] = []
    dialog.policies_applied.connect(lambda: applied.append(True))
    assert dialog.policies.toPlainText() == POLICIES
    dialog.policies.setPlainText(POLICIES.replace('"1h"', '"soon"'))
    dialog.apply_button.click()
    assert "first_reply" in dialog.policy_result.text() and "soon" in dialog.policy_result.text()
    assert backend.applied == [] and applied == []
    dialog.policies.setPlainText(
        POLICIES
        + '\n[[calendar]]\nname = "c"\ntimezone = "Europe/Paris"\nhours = "24x7"\ncountry = "FR"\n'
    )
    dialog.validate_button.click()
    assert dialog.policy_result.text() == "Valid: 1 policies"
    dialog.apply_button.click()
    assert len(backend.applied) == 1 and applied == [True]


def test_french_labels(qtbot: QtBot, backend: FakeBackend) -> None:
    d = SettingsDialog(backend, Translator("fr"))
    qtbot.addWidget(d)
    assert d.tabs.tabText(0) == "Comptes" and d.test_button.text() == "Tester la connexion"
    assert "Mot de passe *" in form_labels(d)
    d.close()


# -- the real backend against real mail servers ---------------------------------------------------


@pytest.mark.servers
def test_real_backend_against_dovecot(
    qtbot: QtBot,
    tmp_path: Path,
    qasync_loop: asyncio.AbstractEventLoop,
    dovecot_server: DovecotServer,  # noqa: F811
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    store = Store.open(tmp_path / "inbox.db")
    http = httpx.AsyncClient(timeout=5)
    real = SettingsBackend(store, MemorySecretStore(), http)
    d = SettingsDialog(real, Translator("en"))
    qtbot.addWidget(d)
    d.show()
    d.kind.setCurrentIndex(d.kind.findData("imap"))
    values = {
        "imap_host": dovecot_server.host,
        "imap_port": str(dovecot_server.port),
        "imap_security": "none",
        "smtp_host": dovecot_server.host,
        "smtp_port": str(smtp_server.port),
        "smtp_security": "none",
        "username": dovecot_server.user,
        "password": "wrong",
    }
    fill(d, qtbot, values)

    async def body() -> None:
        d.test_button.click()
        await until(lambda: not d.checking())
        assert d.check_result.text() == "needs sign-in: wrong password or token"
        fill(d, qtbot, {"password": dovecot_server.password})
        d.test_button.click()
        await until(lambda: not d.checking())
        assert d.check_result.text() == "Connected"
        await http.aclose()

    try:
        run(qasync_loop, body)
        d.save_button.click()
        assert [(a.id, a.state) for a in real.accounts()] == [
            (f"email:{dovecot_server.user}", "idle")
        ]
    finally:
        d.close()
        store.close()
