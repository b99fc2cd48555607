"""Adding an X account by signing in in the browser (OAuth 2.0 PKCE against the fake X): the
account is saved under the id X gives, its tokens go to the secret store, never to SQLite."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from inbox.errors import InputError
from inbox.secrets import MemorySecretStore
from inbox.settings_backend import SettingsBackend
from inbox.store.repository import Store
from tests.providers.twitter.fake_x import CLIENT_ID, OWN_USER, FakeX, fake_x  # noqa: F401
from tests.providers.twitter.test_oauth import Browser


def test_x_sign_in_saves_the_account_and_keeps_tokens_in_the_secret_store(
    tmp_path: Path, fake_x: FakeX  # noqa: F811
) -> None:
    store = Store.open(tmp_path / "inbox.db")
    secrets = MemorySecretStore()

    async def main() -> str:
        async with httpx.AsyncClient() as http:
            backend = SettingsBackend(store, secrets, http)
            settings = {"client_id": CLIENT_ID, "base_url": fake_x.url, "username": "",
                        "authorize_url": f"{fake_x.url}/i/oauth2/authorize"}
            return await backend.sign_in("x", settings, Browser())

    account_id = asyncio.run(main())
    assert account_id == f"twitter:{OWN_USER['id']}"
    account = store.account(account_id)
    assert account is not None and account.name == f"@{OWN_USER['username']}"
    assert OWN_USER["id"] in account.own_keys
    assert secrets.get(account_id, "access_token") in fake_x.access_tokens
    raw = (tmp_path / "inbox.db").read_bytes() + (tmp_path / "inbox.db-wal").read_bytes()
    assert secrets.get(account_id, "access_token").encode() not in raw  # type: ignore[union-attr]
    store.close()


def test_browser_sign_in_is_only_for_x(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "inbox.db")

    async def main() -> None:
        async with httpx.AsyncClient() as http:
            await SettingsBackend(store, MemorySecretStore(), http).sign_in("imap", {})

    with pytest.raises(InputError, match="X accounts"):
        asyncio.run(main())
