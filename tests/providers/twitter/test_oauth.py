"""OAuth 2.0 PKCE sign-in against the fake X server, the browser played by httpx."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from inbox.errors import AuthError
from inbox.models import Account, Channel
from inbox.providers.twitter import XProvider
from inbox.providers.twitter.oauth import SCOPES, challenge_for, sign_in
from inbox.secrets import MemorySecretStore
from tests.providers.twitter.fake_x import CLIENT_ID, OWN_USER, FakeX

pytestmark = pytest.mark.anyio


class Browser:
    """Plays the system browser: opens the authorize URL and follows X's redirect."""

    def __init__(self, *, forged_first: bool = False) -> None:
        self.opened: list[str] = []
        self.pages: list[httpx.Response] = []
        self.forged_first = forged_first
        self._tasks: list[asyncio.Task[None]] = []

    def __call__(self, url: str) -> None:
        self.opened.append(url)
        self._tasks.append(asyncio.get_running_loop().create_task(self._visit(url)))

    async def _visit(self, url: str) -> None:
        async with httpx.AsyncClient() as browser:
            if self.forged_first:
                redirect = parse_qs(urlsplit(url).query)["redirect_uri"][0]
                forged = await browser.get(redirect, params={"code": "evil", "state": "forged"})
                self.pages.append(forged)
            self.pages.append(await browser.get(url, follow_redirects=True))


async def test_full_pkce_flow_gets_tokens(fake_x: FakeX) -> None:
    browser = Browser()
    async with httpx.AsyncClient() as http:
        tokens = await sign_in(
            http,
            CLIENT_ID,
            browser,
            token_url=f"{fake_x.url}/2/oauth2/token",
            authorize_base=f"{fake_x.url}/i/oauth2/authorize",
            timeout=10,
        )
    (opened,) = browser.opened
    query = parse_qs(urlsplit(opened).query)
    assert query["scope"] == [" ".join(SCOPES)]
    assert query["scope"][0] == "tweet.read tweet.write users.read dm.read dm.write offline.access"
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"][0].startswith("http://127.0.0.1:")
    assert query["redirect_uri"][0].endswith("/callback")
    (exchange,) = fake_x.requests_to("/2/oauth2/token", "POST")
    assert exchange.body["grant_type"] == "authorization_code"
    assert challenge_for(exchange.body["code_verifier"]) == query["code_challenge"][0]
    assert tokens.access_token in fake_x.access_tokens
    assert tokens.refresh_token in fake_x.refresh_tokens
    assert browser.pages[-1].status_code == 200
    assert "connected" in browser.pages[-1].text
    assert tokens.access_token not in repr(tokens)


async def test_a_forged_redirect_with_the_wrong_state_is_refused(fake_x: FakeX) -> None:
    browser = Browser(forged_first=True)
    async with httpx.AsyncClient() as http:
        tokens = await sign_in(
            http,
            CLIENT_ID,
            browser,
            token_url=f"{fake_x.url}/2/oauth2/token",
            authorize_base=f"{fake_x.url}/i/oauth2/authorize",
            timeout=10,
        )
    assert browser.pages[0].status_code == 400
    assert tokens.access_token in fake_x.access_tokens
    assert all(r.body.get("code") != "evil" for r in fake_x.requests_to("/2/oauth2/token", "POST"))


async def test_declined_consent_is_an_auth_error(fake_x: FakeX) -> None:
    fake_x.deny_authorize = True
    async with httpx.AsyncClient() as http:
        with pytest.raises(AuthError, match="declined"):
            await sign_in(
                http,
                CLIENT_ID,
                Browser(),
                token_url=f"{fake_x.url}/2/oauth2/token",
                authorize_base=f"{fake_x.url}/i/oauth2/authorize",
                timeout=10,
            )
    assert not fake_x.requests_to("/2/oauth2/token", "POST")


async def test_provider_sign_in_keeps_tokens_and_names_the_account(fake_x: FakeX) -> None:
    account = Account(
        id="twitter:new",
        channel=Channel.TWITTER,
        name="@TwitterDev",
        settings={"client_id": CLIENT_ID, "base_url": fake_x.url},
    )
    store = MemorySecretStore()
    async with httpx.AsyncClient() as http, XProvider(account, store, http) as provider:
        who = await provider.sign_in(Browser(), authorize_base=f"{fake_x.url}/i/oauth2/authorize")
        await provider.check()
    assert who == (OWN_USER["id"], OWN_USER["username"])
    assert store.get(account.id, "access_token") in fake_x.access_tokens
    assert store.get(account.id, "refresh_token") in fake_x.refresh_tokens
    assert store.get(account.id, "expires_at")
