"""OAuth 2.0 Authorization Code with PKCE for a desktop app (X public client, no secret).

The app opens the system browser on X's authorize page; X redirects to a one-shot HTTP server on
``http://127.0.0.1:<port>/callback``; the code is exchanged at ``POST /2/oauth2/token`` with the
PKCE verifier. Access tokens last two hours; with ``offline.access`` X also issues a refresh
token, which is single-use (each refresh returns a new one). Tokens never appear in ``repr``,
logs or exception messages.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from inbox.errors import AuthError, PermanentError
from inbox.providers.failures import decode_json, provider_failures, raise_for_response
from inbox.secrets import SecretStore

AUTHORIZE_URL = "https://x.com/i/oauth2/authorize"
SCOPES = ("tweet.read", "tweet.write", "users.read", "dm.read", "dm.write", "offline.access")
#: Refresh when less than this many seconds of validity remain.
REFRESH_MARGIN = 300.0
DEFAULT_LIFETIME = 7200.0
SERVICE = "X"

_PAGE = (
    "<!doctype html><meta charset=utf-8><title>Inbox</title><p style='font:16px sans-serif'>{}</p>"
)


@dataclass(frozen=True, slots=True)
class TokenSet:
    """The tokens of one signed-in X account; ``expires_at`` is in epoch seconds."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float
    scope: str = ""

    def store(self, store: SecretStore, account_id: str) -> None:
        """Keep the tokens in the secret store (keyring in the app)."""
        store.set(account_id, "access_token", self.access_token)
        if self.refresh_token:
            store.set(account_id, "refresh_token", self.refresh_token)
        store.set(account_id, "expires_at", f"{self.expires_at:.0f}")


def new_verifier() -> str:
    """A PKCE code verifier: 86 characters from the unreserved set (RFC 7636 allows 43-128)."""
    return secrets.token_urlsafe(64)


def challenge_for(verifier: str) -> str:
    """The S256 code challenge: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def authorize_url(
    client_id: str,
    redirect_uri: str,
    state: str,
    code_challenge: str,
    *,
    base: str = AUTHORIZE_URL,
    scopes: tuple[str, ...] = SCOPES,
) -> str:
    """The page to open in the browser so that the user can allow the app."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(scopes),
            "state": state,
            "code_challenge": code_challenge,
            "code_challenge_method": "S256",
        }
    )
    return f"{base}?{query}"


class LoopbackRedirect:
    """A one-shot HTTP listener on 127.0.0.1 that receives X's redirect and checks ``state``.

    Requests with another path or a wrong ``state`` get an error page and are otherwise ignored,
    so a stray or forged request cannot end the sign-in.
    """

    def __init__(self, state: str, *, port: int = 0, path: str = "/callback") -> None:
        self._state = state
        self._port = port
        self._path = path
        self._server: asyncio.Server | None = None
        self._result: asyncio.Future[str] | None = None

    @property
    def redirect_uri(self) -> str:
        return f"http://127.0.0.1:{self._port}{self._path}"

    async def __aenter__(self) -> Self:
        self._result = asyncio.get_running_loop().create_future()
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self._port)
        self._port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._result is not None and not self._result.done():
            self._result.cancel()

    async def wait(self, timeout: float) -> str:
        """The authorization code; AuthError when the user declined or time ran out."""
        assert self._result is not None, "use LoopbackRedirect as an async context manager"
        try:
            return await asyncio.wait_for(asyncio.shield(self._result), timeout)
        except TimeoutError:
            raise AuthError("X sign-in was not completed in the browser in time") from None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request_line = await asyncio.wait_for(reader.readline(), 10)
            while (await asyncio.wait_for(reader.readline(), 10)) not in (b"\r\n", b"\n", b""):
                pass
            status, page = self._handle(request_line.decode("latin-1"))
            body = _PAGE.format(page).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, ValueError):  # ValueError: overlong line
            pass
        finally:
            writer.close()

    def _handle(self, request_line: str) -> tuple[str, str]:
        parts = request_line.split()
        if len(parts) < 2 or parts[0] != "GET":
            return "405 Method Not Allowed", "Unexpected request."
        target = urlsplit(parts[1])
        if target.path != self._path:
            return "404 Not Found", "Not found."
        query = parse_qs(target.query)
        if query.get("state", [""])[0] != self._state or self._result is None:
            return "400 Bad Request", "This sign-in link is not the one Inbox started."
        if self._result.done():
            return "200 OK", "Inbox already received this sign-in. You can close this tab."
        error = query.get("error", [""])[0]
        if error:
            self._result.set_exception(AuthError(f"X sign-in was declined ({error[:40]})"))
            return "200 OK", "Sign-in was cancelled. You can close this tab."
        code = query.get("code", [""])[0]
        if not code:
            return "400 Bad Request", "X sent no authorization code."
        self._result.set_result(code)
        return "200 OK", "Inbox is now connected to X. You can close this tab."


def _token_set(doc: object, previous_refresh: str | None, now: float) -> TokenSet:
    if not isinstance(doc, dict) or not isinstance(doc.get("access_token"), str):
        raise AuthError("X sign-in failed: the token response held no access token")
    lifetime = doc.get("expires_in")
    seconds = float(lifetime) if isinstance(lifetime, int | float) else DEFAULT_LIFETIME
    refresh = doc.get("refresh_token")
    scope = doc.get("scope")
    return TokenSet(
        access_token=doc["access_token"],
        refresh_token=refresh if isinstance(refresh, str) else previous_refresh,
        expires_at=now + seconds,
        scope=scope if isinstance(scope, str) else "",
    )


async def _token_request(
    http: httpx.AsyncClient, token_url: str, form: dict[str, str], what: str
) -> object:
    with provider_failures(SERVICE):
        response = await http.post(token_url, data=form)
    if response.status_code in (400, 401):
        # X answers a used, revoked or expired code/refresh token with 400 invalid_request.
        raise AuthError(f"X {what} was refused (HTTP {response.status_code}): needs sign-in")
    raise_for_response(response, SERVICE)
    return decode_json(response, SERVICE)


async def exchange_code(
    http: httpx.AsyncClient,
    token_url: str,
    client_id: str,
    code: str,
    verifier: str,
    redirect_uri: str,
    clock: Callable[[], float] = time.time,
) -> TokenSet:
    """Trade the authorization code and PKCE verifier for tokens."""
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": verifier,
        "client_id": client_id,
    }
    doc = await _token_request(http, token_url, form, "sign-in")
    return _token_set(doc, None, clock())


async def refresh_tokens(
    http: httpx.AsyncClient,
    token_url: str,
    client_id: str,
    refresh_token: str,
    clock: Callable[[], float] = time.time,
) -> TokenSet:
    """New tokens from the (single-use) refresh token; AuthError when it was revoked."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    doc = await _token_request(http, token_url, form, "token refresh")
    return _token_set(doc, refresh_token, clock())


async def sign_in(
    http: httpx.AsyncClient,
    client_id: str,
    open_browser: Callable[[str], object],
    *,
    token_url: str,
    authorize_base: str = AUTHORIZE_URL,
    port: int = 0,
    timeout: float = 300.0,
    clock: Callable[[], float] = time.time,
) -> TokenSet:
    """Run the whole PKCE flow: open the browser, wait for the redirect, exchange the code.

    ``open_browser`` receives the authorize URL (``webbrowser.open`` in the app).
    """
    verifier = new_verifier()
    state = secrets.token_urlsafe(24)
    async with LoopbackRedirect(state, port=port) as redirect:
        url = authorize_url(
            client_id, redirect.redirect_uri, state, challenge_for(verifier), base=authorize_base
        )
        try:
            open_browser(url)
        except Exception as exc:  # whatever the browser launcher raises
            raise PermanentError("could not open a web browser for the X sign-in") from exc
        code = await redirect.wait(timeout)
        return await exchange_code(
            http, token_url, client_id, code, verifier, redirect.redirect_uri, clock
        )
