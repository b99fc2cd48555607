"""Adding a Facebook Page from the settings dialog by Login for Devices: the real dialog and
backend against the fake Graph API on 127.0.0.1, the test playing the person who approves."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QUrl
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QLineEdit
from pytestqt.qtbot import QtBot

from inbox.app.settings_backend import SettingsBackend
from inbox.models import Account
from inbox.providers.facebook.provider import FacebookProvider
from inbox.secrets import MemorySecretStore, SecretStore
from inbox.store.repository import Store
from inbox.sync.contract import Provider
from inbox.ui.i18n import Translator
from inbox.ui.settings_dialog import SettingsDialog
from tests.providers.facebook.fake_graph import (  # noqa: F401 - the fake_graph fixture
    PAGE_ID,
    PAGE_NAME,
    PAGE_TOKEN,
    FakeGraph,
    fake_graph,
)
from tests.ui.test_settings_dialog import run, until

ACCOUNT_ID = f"facebook:{PAGE_ID}"


@dataclass
class Setup:
    dialog: SettingsDialog
    store: Store
    secrets: MemorySecretStore
    http: httpx.AsyncClient
    opened: list[QUrl]
    sleeps: list[float]


def polls(fake: FakeGraph) -> int:
    return sum(r.path.endswith("/device/login_status") for r in fake.requests)


@pytest.fixture()
def setup(
    qtbot: QtBot,
    tmp_path: Path,
    qasync_loop: asyncio.AbstractEventLoop,
    fake_graph: FakeGraph,  # noqa: F811
) -> Iterator[Setup]:
    fake_graph.pending_polls = 10**6  # pending until the test approves
    store = Store.open(tmp_path / "inbox.db")
    secrets = MemorySecretStore()
    http = httpx.AsyncClient(timeout=5)
    sleeps: list[float] = []

    async def short_sleep(seconds: float) -> None:  # Facebook's 5 s interval, shortened
        sleeps.append(seconds)
        await asyncio.sleep(0.01)

    def facebook(account: Account, held: SecretStore, client: httpx.AsyncClient) -> Provider:
        return FacebookProvider(account, held, client, base_url=fake_graph.url)

    backend = SettingsBackend(
        store, secrets, http, factories={"facebook": facebook}, sleep=short_sleep
    )
    opened: list[QUrl] = []
    dialog = SettingsDialog(backend, Translator("en"), open_url=opened.append)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.kind.setCurrentIndex(dialog.kind.findData("facebook"))
    form = dialog.account_form
    assert form is not None
    # a Graph version in the form would name graph.facebook.com over the factory's fake URL
    values = {"app_id": "1234567890", "client_token": "client-SECRET-abc", "graph_version": ""}
    for name, value in values.items():
        widget = form.inputs[name]
        assert isinstance(widget, QLineEdit)
        widget.clear()
        qtbot.keyClicks(widget, value)
    yield Setup(dialog, store, secrets, http, opened, sleeps)
    dialog.close()
    qasync_loop.run_until_complete(http.aclose())
    store.close()


def test_sign_in_shows_the_code_then_the_pages_and_saves_the_chosen_one(
    setup: Setup,
    fake_graph: FakeGraph,  # noqa: F811
    qasync_loop: asyncio.AbstractEventLoop,
) -> None:
    d, panel = setup.dialog, setup.dialog.facebook_panel
    changed: list[bool] = []
    d.accounts_changed.connect(lambda: changed.append(True))
    assert d.facebook_button.isVisible() and not d.sign_in_button.isVisible()

    async def body() -> None:
        d.facebook_button.click()
        assert d.add_stack.currentWidget() is panel and not d.facebook_button.isEnabled()
        await until(lambda: panel.code.text() == "A1NWZ9")
        assert "https://www.facebook.com/device" in panel.link.text()
        assert re.search(r"time left [67]:\d\d$", panel.waiting.text())
        panel.link.linkActivated.emit("https://www.facebook.com/device")
        assert setup.opened == [QUrl("https://www.facebook.com/device")]
        panel.copy_button.click()
        assert QGuiApplication.clipboard().text() == "A1NWZ9"
        await until(lambda: polls(fake_graph) >= 2)  # still pending: it keeps polling
        assert panel.steps.currentIndex() == 1 and d.account_model.rowCount() == 0
        fake_graph.approve_device_login()
        await until(lambda: panel.steps.currentIndex() == 2)

    run(qasync_loop, body)
    assert set(setup.sleeps) == {5.0}  # the interval Facebook asked for, before every poll
    names = [panel.pages.item(i).text() for i in range(panel.pages.count())]
    assert len(names) == len(fake_graph.accounts) and f"{PAGE_NAME}  (Page ID {PAGE_ID})" in names
    panel.pages.setCurrentRow(names.index(f"{PAGE_NAME}  (Page ID {PAGE_ID})"))
    panel.add_button.click()
    assert d.check_result.text() == f"Signed in: {ACCOUNT_ID}"
    rows = [(a.id, a.name, a.state) for a in (d.account_model.account(0),) if a is not None]
    assert rows == [(ACCOUNT_ID, PAGE_NAME, "idle")] and changed == [True]
    assert setup.secrets.get(ACCOUNT_ID, "page_token") == PAGE_TOKEN
    assert d.add_stack.currentIndex() == 0 and d.facebook_button.isEnabled()
    assert not d.checking() and panel.pages.count() == 0


def test_a_single_page_is_shown_and_added_with_one_click(
    setup: Setup,
    fake_graph: FakeGraph,  # noqa: F811
    qasync_loop: asyncio.AbstractEventLoop,
) -> None:
    fake_graph.accounts = [a for a in fake_graph.accounts if a["id"] == PAGE_ID]
    fake_graph.pending_polls = 1
    d, panel = setup.dialog, setup.dialog.facebook_panel

    async def body() -> None:
        d.facebook_button.click()
        await until(lambda: panel.steps.currentIndex() == 2)

    run(qasync_loop, body)
    assert panel.pages.count() == 1 and panel.pages.currentRow() == 0
    assert panel.add_button.isEnabled()
    panel.add_button.click()
    assert [a.id for a in setup.store.accounts()] == [ACCOUNT_ID]


def test_cancel_stops_polling_and_gives_the_form_back(
    setup: Setup,
    fake_graph: FakeGraph,  # noqa: F811
    qasync_loop: asyncio.AbstractEventLoop,
) -> None:
    d, panel = setup.dialog, setup.dialog.facebook_panel

    async def body() -> None:
        d.facebook_button.click()
        await until(lambda: polls(fake_graph) >= 1)
        task = panel._task
        assert task is not None
        panel.cancel_button.click()
        await until(task.done)
        assert task.cancelled()
        stopped = polls(fake_graph)
        for _ in range(5):
            await asyncio.sleep(0.02)  # several shortened intervals: no poll goes out
        assert polls(fake_graph) == stopped

    run(qasync_loop, body)
    assert d.add_stack.currentIndex() == 0 and d.facebook_button.isEnabled() and d.kind.isEnabled()
    assert not d.checking() and setup.store.accounts() == []


def test_closing_the_dialog_cancels_the_sign_in(
    setup: Setup,
    fake_graph: FakeGraph,  # noqa: F811
    qasync_loop: asyncio.AbstractEventLoop,
) -> None:
    d, panel = setup.dialog, setup.dialog.facebook_panel

    async def body() -> None:
        d.facebook_button.click()
        await until(lambda: panel.code.text() == "A1NWZ9")
        task = panel._task
        assert task is not None
        d.close()
        await until(task.done)
        assert task.cancelled() and not d.checking()

    run(qasync_loop, body)


def test_an_expired_code_is_explained_and_the_form_comes_back(
    setup: Setup,
    fake_graph: FakeGraph,  # noqa: F811
    qasync_loop: asyncio.AbstractEventLoop,
) -> None:
    fake_graph.device_code_expired = True
    d = setup.dialog

    async def body() -> None:
        d.facebook_button.click()
        await until(lambda: not d.checking())

    run(qasync_loop, body)
    assert d.check_result.text() == (
        "sign-in not completed: Facebook: the sign-in code A1NWZ9 expired; start again"
    )
    assert d.add_stack.currentIndex() == 0 and d.facebook_button.isEnabled()


def test_missing_app_credentials_are_named_before_any_request(
    setup: Setup,
    fake_graph: FakeGraph,  # noqa: F811
    qasync_loop: asyncio.AbstractEventLoop,
) -> None:
    d = setup.dialog
    assert d.account_form is not None
    client_token = d.account_form.inputs["client_token"]
    assert isinstance(client_token, QLineEdit)
    client_token.clear()

    async def body() -> None:
        d.facebook_button.click()
        await until(lambda: not d.checking())

    run(qasync_loop, body)
    assert d.check_result.text() == (
        "sign-in with Facebook: fill in the App ID and the App client token first"
    )
    assert fake_graph.requests == []
