"""A web-form submission the app cannot take is counted on its account, which stays "up to
date": ``inbox sync --once`` against a real local endpoint, then ``inbox account list`` and the
Settings list show the count (and the last reason)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import Qt

from inbox.app.settings_backend import SettingsBackend
from inbox.models import Account, Channel
from inbox.secrets import MemorySecretStore
from inbox.store.repository import Store
from inbox.ui.i18n import Translator
from inbox.ui.settings_accounts import AccountListModel
from tests.providers.webform.fake_forms import FormsState, fake_forms, submission
from tests.reliability.harness import Lane

pytestmark = pytest.mark.timeout(180)
KEY = "form-k3y-secret"


def test_rejected_submissions_are_counted_on_the_account(tmp_path: Path, qapp: object) -> None:
    anonymous = submission(2, 20)
    anonymous["fields"] = {"message": "no way to answer me"}
    forms = FormsState(api_key=KEY, submissions=[submission(1, 10), anonymous], page_size=10)
    lane = Lane(tmp_path / "lane", "forms")
    with fake_forms(forms) as url:
        form = Account("webform:contact-fr", Channel.WEBFORM, "Contact", settings={"url": url})
        lane.add_account(form, {"api_key": KEY})
        first = lane.run("sync", "--once")
        assert first.returncode == 0 and "up_to_date" in first.stdout, first.stdout + first.stderr
        assert "account webform:contact-fr rejected web form 127.0.0.1: form contact-fr submission s-2" in first.stderr
        again = lane.run("sync", "--once")  # reported once: not counted again
        assert again.returncode == 0

    listed = lane.run("account", "list", "--json")
    [row] = json.loads(listed.stdout)
    assert (row["state"], row["rejected"]) == ("up_to_date", 1)
    assert "s-2" in row["last_rejection"]
    table = lane.run("account", "list").stdout.splitlines()
    assert table[0].split()[:5] == ["id", "channel", "name", "state", "rejected"]
    assert table[1].split()[3:5] == ["up_to_date", "1"]
    assert all(KEY not in text for text in lane.log)

    store = Store.open(lane.db)
    try:
        [status] = SettingsBackend(store, MemorySecretStore(), httpx.AsyncClient()).accounts()
        model = AccountListModel(Translator("en"))
        model.set_accounts([status])
        shown = model.data(model.index(0, 3), Qt.ItemDataRole.DisplayRole)
        assert shown == "up to date · 1 rejected"
        tip = str(model.data(model.index(0, 3), Qt.ItemDataRole.ToolTipRole))
        assert tip.startswith("up to date · 1 rejected (last: web form 127.0.0.1") and "s-2" in tip
        french = AccountListModel(Translator("fr"))
        french.set_accounts([status])
        assert french.data(french.index(0, 3), Qt.ItemDataRole.DisplayRole) == "à jour · 1 rejetés"
    finally:
        store.close()
