"""The real window with the sync service running on a qasync loop, against real local servers:
a customer's mail arrives in the queue by itself, and a reply typed in the composer reaches the
SMTP server exactly once, with the threading headers a mail program needs."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from inbox.app.live_sync import LiveSync
from inbox.app.window import build_window
from inbox.providers.keyring_store import KeyringSecretStore
from inbox.secrets import SecretStore
from inbox.store.repository import Store
from inbox.sync.service import Backoff
from inbox.ui.main_window import MainWindow
from tests import qt_loop
from tests.providers.email.servers import DovecotServer, SmtpServer, dovecot_server, smtp_server  # noqa: F401
from tests.sync.test_sync_email_e2e import CUSTOMER_ID, customer_mail, secrets, workspace  # noqa: F401

pytestmark = pytest.mark.servers
loop = qt_loop.loop  # the app's qasync loop, as a fixture


def live_app(
    store: Store, secrets: SecretStore, qtbot: object, backoff: Backoff | None = None  # noqa: F811
) -> tuple[MainWindow, LiveSync]:
    """The window and the sync service wired as the app wires them (sends wake the outbox)."""
    holder: list[LiveSync] = []
    window = build_window(store, language="en", after_send=lambda: holder[0].wake_outbox() if holder else None)
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.show()
    live = LiveSync(store, secrets, on_accounts=window.show_accounts, on_conversations=window.conversations_changed,
                    backoff=backoff)
    holder.append(live)
    return window, live


async def until(check: Callable[[], bool], timeout: float = 45.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.1)


def run(loop: asyncio.AbstractEventLoop, body: Callable[[], Awaitable[None]]) -> None:
    loop.run_until_complete(asyncio.wait_for(body(), 150))


def test_mail_arrives_and_the_reply_goes_out_once(
    tmp_path: Path,
    qtbot: object,
    loop: asyncio.AbstractEventLoop,
    dovecot_server: DovecotServer,  # noqa: F811
    smtp_server: SmtpServer,  # noqa: F811
    secrets: KeyringSecretStore,  # noqa: F811
) -> None:
    db = tmp_path / "inbox.db"
    workspace(db, dovecot_server, smtp_server.port, secrets)
    store = Store.open(db)
    window, live = live_app(store, secrets, qtbot)

    async def body() -> None:
        await live.start()
        try:
            await until(lambda: "up_to_date" in window.account_label.text())
            dovecot_server.append(customer_mail())  # delivered while the app runs
            await until(lambda: window.model.total() == 1)
            window.queue.setCurrentIndex(window.model.index(0))
            conv = window.current_conversation()
            assert conv is not None and conv.subject == "Broken parcel"
            window.composer.editor.setFocus()
            qtbot.keyClicks(window.composer.editor, "A new parcel leaves today.")  # type: ignore[attr-defined]
            qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
            await until(lambda: len(smtp_server.messages) == 1)
            await asyncio.sleep(1.0)  # nothing else goes out
            assert len(smtp_server.messages) == 1
            sent = email.message_from_bytes(smtp_server.messages[0], policy=email.policy.default)
            assert sent["In-Reply-To"] == f"<{CUSTOMER_ID}>"
            assert CUSTOMER_ID in str(sent["References"])
            assert "A new parcel leaves today." in sent.get_body(("plain",)).get_content()  # type: ignore[union-attr]
            await until(lambda: store.messages(conv.id)[-1].outbox_state is not None
                        and store.messages(conv.id)[-1].outbox_state.value == "sent")
        finally:
            await live.stop()

    run(loop, body)
    window.close()
    store.close()


def test_offline_then_back_sends_the_queued_reply_once(
    tmp_path: Path,
    qtbot: object,
    loop: asyncio.AbstractEventLoop,
    dovecot_server: DovecotServer,  # noqa: F811
    secrets: KeyringSecretStore,  # noqa: F811
) -> None:
    from aiosmtpd.controller import Controller

    from tests.providers.email.servers import _authenticator, _Recorder, free_port

    smtp = SmtpServer(host=dovecot_server.host, port=free_port())
    db = tmp_path / "inbox.db"
    workspace(db, dovecot_server, smtp.port, secrets)
    dovecot_server.append(customer_mail())
    store = Store.open(db)
    window, live = live_app(store, secrets, qtbot, Backoff(base=0.5, cap=1.0))
    controllers: list[Controller] = []

    async def body() -> None:
        await live.start()
        try:
            await until(lambda: window.model.total() == 1)
            dovecot_server.stop()  # the laptop leaves the network (SMTP never came up)
            await until(lambda: not window.banner.isHidden(), timeout=30)
            window.queue.setCurrentIndex(window.model.index(0))
            window.composer.editor.setFocus()
            qtbot.keyClicks(window.composer.editor, "Sorry about that.")  # type: ignore[attr-defined]
            qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
            conv = window.current_conversation()
            assert conv is not None
            # Queued by the writer thread as soon as it runs (the window does not wait for it).
            await until(lambda: store.messages(conv.id)[-1].outbox_state is not None)
            await asyncio.sleep(1.5)
            assert smtp.messages == []
            dovecot_server.start()
            controller = Controller(_Recorder(smtp), hostname=smtp.host, port=smtp.port,
                                    authenticator=_authenticator(smtp), auth_require_tls=False)
            controllers.append(controller)
            controller.start()  # the network is back
            await until(lambda: len(smtp.messages) == 1, timeout=30)
            await asyncio.sleep(2.0)
            assert len(smtp.messages) == 1  # exactly once
            await until(lambda: window.banner.isHidden(), timeout=30)
        finally:
            await live.stop()

    try:
        run(loop, body)
    finally:
        for controller in controllers:
            controller.stop()
    window.close()
    store.close()
