"""Settings reach the running app: the real window, Settings dialog and sync service (wired as
``inbox.app.shell`` wires them) against a local Dovecot. An account added in Settings starts fetching
without a restart, signing in again runs it with the new password, removing it stops it, and new
SLA policies show at once and stay in force in the queue and the conversation alike."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from PySide6.QtGui import QAction

from inbox.app.shell import Shell
from inbox.app.workspace import Workspace
from inbox.models import QueueFilter
from inbox.providers.keyring_store import KeyringSecretStore
from inbox.sla.engine import TargetState
from inbox.store.repository import Store
from inbox.ui.main_window import MainWindow
from inbox.ui.settings_dialog import SettingsDialog
from tests.providers.email.servers import DovecotServer, SmtpServer, dovecot_server, smtp_server  # noqa: F401
from tests.sync.test_sync_email_e2e import customer_mail, secrets  # noqa: F401
from tests.ui.test_live_window import loop, run, until  # noqa: F401
from tests.ui.test_settings_dialog import fill

pytestmark = pytest.mark.servers


def open_settings(window: MainWindow) -> SettingsDialog:
    (action,) = [a for a in window.findChildren(QAction) if a.text().startswith("Settings")]
    action.trigger()
    dialog = window.findChild(SettingsDialog)
    assert isinstance(dialog, SettingsDialog)
    return dialog


def test_settings_changes_reach_the_running_sync(
    tmp_path: Path,
    qtbot: object,
    loop: asyncio.AbstractEventLoop,  # noqa: F811
    dovecot_server: DovecotServer,  # noqa: F811
    smtp_server: SmtpServer,  # noqa: F811
    secrets: KeyringSecretStore,  # noqa: F811
) -> None:
    dovecot_server.append(customer_mail())
    store = Store.open(tmp_path / "inbox.db")  # no account yet
    shell = Shell(store, dark=False, demo=False)
    window = shell.window
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    account_id = f"email:{dovecot_server.user}"

    async def body() -> None:
        live = await shell.start_sync(secrets)
        try:
            assert live.service is not None and live.service.account_ids() == []
            dialog = open_settings(window)
            dialog.kind.setCurrentIndex(dialog.kind.findData("imap"))
            fill(dialog, qtbot, {  # type: ignore[arg-type]
                "imap_host": dovecot_server.host, "imap_port": str(dovecot_server.port),
                "imap_security": "none", "smtp_host": dovecot_server.host,
                "smtp_port": str(smtp_server.port), "smtp_security": "none",
                "username": dovecot_server.user, "password": "a-wrong-password",
            })  # fmt: skip
            dialog.save_button.click()
            # Added: its first fetch runs without a restart (and the wrong password shows).
            await until(lambda: store.account_state(account_id)[0] == "needs_sign_in"
                        and "sign" in window.account_label.text())

            # Signed in again with the right password: the sync runs with it, the mail arrives.
            fill(dialog, qtbot, {"password": dovecot_server.password})  # type: ignore[arg-type]
            dialog.save_button.click()
            await until(lambda: window.model.total() == 1)
            assert store.account_state(account_id)[0] == "up_to_date"
            await until(lambda: getattr(dialog.account_model.account(0), "state", "") == "up_to_date"
                        and f"{dovecot_server.user}: up_to_date" in window.account_label.text())

            # New SLA policies: the queue shows them at once, and later refreshes keep them.
            window.queue.setCurrentIndex(window.model.index(0))
            conversation = window.current_conversation()
            assert conversation is not None
            window.assign_to("camille")  # the window's SLA refresh has read the policies in force
            await until(lambda: store.conversation(conversation.id).assignee == "camille")
            before = window.model.conversation(0)
            assert before is not None and before.sla_due_at is not None
            text = dialog.policies.toPlainText()
            assert 'first_reply = "4h"' in text
            dialog.policies.setPlainText(text.replace('first_reply = "4h"', 'first_reply = "1h"'))
            dialog.apply_button.click()
            applied = window.model.conversation(0)
            assert applied is not None and applied.sla_due_at is not None
            assert applied.sla_due_at < before.sla_due_at  # at once, without waiting for a tick
            window.assign_to("yanis")  # a change: the window's SLA refresh runs again
            await until(lambda: store.conversation(conversation.id).assignee == "yanis")
            await until(lambda: window.current_conversation() is not None
                        and window.current_conversation().assignee == "yanis")  # type: ignore[union-attr]
            shown = window.model.conversation(window.model.row_of(conversation.id))
            targets, _log = Workspace(store).sla_details(conversation.id)  # what the thread pane shows
            running = [t.due_at for t in targets if t.state is not TargetState.MET and t.due_at]
            assert shown is not None and shown.sla_due_at == applied.sla_due_at == min(running)

            # Removed: its polling stops and its provider is closed.
            dialog.account_table.setCurrentIndex(dialog.account_model.index(0, 0))
            dialog.remove_button.click()
            dialog.remove_button.click()  # confirm
            await until(lambda: account_id not in live.service.account_ids()  # type: ignore[union-attr]
                        and dovecot_server.user not in window.account_label.text())
            assert store.accounts() == []
            assert store.queue(QueueFilter(), limit=10)  # the conversation fetched stays
            dialog.close()
        finally:
            await live.stop()

    run(loop, body)
    window.close()
    shell.writer.close()
    store.close()
