"""Adding an X account by signing in in the browser (OAuth 2.0 PKCE against the fake X), and a
Facebook Page by Login for Devices (against the fake Graph API): the account is saved under the
id the service gives, its tokens go to the secret store, never to SQLite."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from inbox.app.settings_backend import (
    CODE_EXPIRED,
    FacebookSignIn,
    PageOption,
    SettingsBackend,
    SignInFailed,
)
from inbox.errors import InboxError, InputError
from inbox.secrets import MemorySecretStore
from inbox.store.repository import Store
from tests.providers.facebook.fake_graph import (  # noqa: F401 - the fake_graph fixture
    DEVICE_CODE,
    PAGE_ID,
    PAGE_NAME,
    PAGE_TOKEN,
    USER_TOKEN,
    FakeGraph,
    fake_graph,
)
from tests.providers.twitter.fake_x import CLIENT_ID, OWN_USER, FakeX, fake_x  # noqa: F401
from tests.providers.twitter.test_oauth import Browser

APP_ID, CLIENT_TOKEN = "1234567890", "client-SECRET-abc"  # fake_graph's APP_TOKEN


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


# -- Facebook Login for Devices against the fake Graph API ----------------------------------------

FB_SECRETS = {"client_token": CLIENT_TOKEN}


def fb_settings(fake: FakeGraph) -> dict[str, str]:
    return {"app_id": APP_ID, "base_url": fake.url, "page_id": "", "history_days": "30"}


class FakeTime:
    """A clock that only moves when the sign-in sleeps between polls; records each sleep."""

    def __init__(self) -> None:
        self.now = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
        self.sleeps: list[float] = []

    def clock(self) -> datetime:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


def polls(fake: FakeGraph) -> int:
    return sum(r.path.endswith("/device/login_status") for r in fake.requests)


def test_facebook_device_sign_in_saves_the_chosen_page_with_its_token_in_the_secret_store(
    tmp_path: Path, fake_graph: FakeGraph  # noqa: F811
) -> None:
    fake_graph.pending_polls = 2
    store = Store.open(tmp_path / "inbox.db")
    secrets = MemorySecretStore()
    now = FakeTime()

    async def main() -> tuple[FacebookSignIn, list[PageOption], str, str | None]:
        async with httpx.AsyncClient(timeout=5) as http:
            backend = SettingsBackend(store, secrets, http, clock=now.clock, sleep=now.sleep)
            sign_in = await backend.facebook_sign_in(fb_settings(fake_graph), FB_SECRETS)
            assert (sign_in.user_code, sign_in.verification_uri) == (
                "A1NWZ9",
                "https://www.facebook.com/device",
            )
            assert 400 < sign_in.seconds_left() <= 420 and polls(fake_graph) == 0
            pages = await sign_in.wait()
            account_id = sign_in.adopt(PAGE_ID)
            account = store.account(account_id)
            assert account is not None
            saved = {"page_token": secrets.get(account_id, "page_token") or ""}
            checked = await backend.check("facebook", account.settings, saved)
            return sign_in, pages, account_id, checked

    sign_in, pages, account_id, checked = asyncio.run(main())
    assert now.sleeps == [5.0, 5.0, 5.0]  # Facebook's interval before each of the three polls
    assert polls(fake_graph) == 3
    assert PageOption(PAGE_ID, PAGE_NAME) in pages and len(pages) == len(fake_graph.accounts)
    assert account_id == f"facebook:{PAGE_ID}"
    account = store.account(account_id)
    assert account is not None and account.name == PAGE_NAME and PAGE_ID in account.own_keys
    assert {k: account.settings.get(k) for k in ("page_id", "page_name", "provider", "app_id")} == {
        "page_id": PAGE_ID,
        "page_name": PAGE_NAME,
        "provider": "facebook",
        "app_id": APP_ID,
    }
    assert checked is None  # the saved account signs in with the Page token it was given
    assert secrets.get(account_id, "page_token") == PAGE_TOKEN
    assert secrets.get(account_id, "client_token") == CLIENT_TOKEN
    assert secrets.get("facebook:sign-in", "page_token") is None
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("inbox.db*"))
    for secret in (PAGE_TOKEN, USER_TOKEN, CLIENT_TOKEN, DEVICE_CODE):
        assert secret.encode() not in raw
        assert secret not in repr(sign_in) and secret not in repr(pages)
    store.close()


def test_a_facebook_code_nobody_approves_expires_with_a_clear_message(
    tmp_path: Path, fake_graph: FakeGraph  # noqa: F811
) -> None:
    fake_graph.pending_polls = 10**6
    store = Store.open(tmp_path / "inbox.db")
    now = FakeTime()

    async def main() -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            backend = SettingsBackend(
                store, MemorySecretStore(), http, clock=now.clock, sleep=now.sleep
            )
            sign_in = await backend.facebook_sign_in(fb_settings(fake_graph), FB_SECRETS)
            await sign_in.wait()

    with pytest.raises(SignInFailed) as failed:
        asyncio.run(main())
    assert str(failed.value) == CODE_EXPIRED
    count = polls(fake_graph)  # every 5 s for the code's 420 s, then no more
    assert count >= 80 and now.sleeps[:count] == [5.0] * count
    assert len(now.sleeps) == count + 1 and sum(now.sleeps) <= 420
    assert store.accounts() == []
    store.close()


def test_a_code_facebook_says_expired_stops_the_wait(
    tmp_path: Path, fake_graph: FakeGraph  # noqa: F811
) -> None:
    fake_graph.device_code_expired = True
    store = Store.open(tmp_path / "inbox.db")
    now = FakeTime()

    async def main() -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            backend = SettingsBackend(
                store, MemorySecretStore(), http, clock=now.clock, sleep=now.sleep
            )
            sign_in = await backend.facebook_sign_in(fb_settings(fake_graph), FB_SECRETS)
            await sign_in.wait()

    with pytest.raises(SignInFailed, match="^sign-in not completed: .*expired; start again$"):
        asyncio.run(main())
    assert polls(fake_graph) == 1
    store.close()


@pytest.mark.parametrize(
    ("client_token", "message"),
    [
        ("", "sign-in with Facebook: fill in the App ID and the App client token first"),
        ("wrong", "refused by the service: Facebook: device login refused (Invalid OAuth"),
    ],
)
def test_facebook_sign_in_needs_the_app_credentials(
    tmp_path: Path, fake_graph: FakeGraph, client_token: str, message: str  # noqa: F811
) -> None:
    store = Store.open(tmp_path / "inbox.db")

    async def main() -> None:
        async with httpx.AsyncClient(timeout=5) as http:
            backend = SettingsBackend(store, MemorySecretStore(), http)
            await backend.facebook_sign_in(fb_settings(fake_graph), {"client_token": client_token})

    with pytest.raises(InboxError) as failed:
        asyncio.run(main())
    assert str(failed.value).startswith(message)
    assert "wrong" not in str(failed.value)
    store.close()


def test_cancelling_the_wait_stops_polling(
    tmp_path: Path, fake_graph: FakeGraph  # noqa: F811
) -> None:
    fake_graph.pending_polls = 10**6
    store = Store.open(tmp_path / "inbox.db")

    async def main() -> int:
        sleeping = asyncio.Event()

        async def sleep(_seconds: float) -> None:
            if polls(fake_graph) == 0:
                return  # the first interval passes: one poll, still pending
            sleeping.set()
            await asyncio.Event().wait()  # the second never ends by itself

        async with httpx.AsyncClient(timeout=5) as http:
            backend = SettingsBackend(store, MemorySecretStore(), http, sleep=sleep)
            sign_in = await backend.facebook_sign_in(fb_settings(fake_graph), FB_SECRETS)
            task = asyncio.create_task(sign_in.wait())
            await sleeping.wait()
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            with pytest.raises(InputError):
                sign_in.adopt(PAGE_ID)  # nothing was approved, nothing can be saved
            return polls(fake_graph)

    assert asyncio.run(main()) == 1
    assert store.accounts() == []
    store.close()
