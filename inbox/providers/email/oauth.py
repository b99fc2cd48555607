"""XOAUTH2 sign-in for mailboxes whose servers take OAuth 2.0 tokens (Gmail, Microsoft 365).

The access token is presented as the SASL XOAUTH2 string ``user=<name>^Aauth=Bearer <token>^A^A``
(Google's and Microsoft's XOAUTH2 protocol) to ``AUTHENTICATE XOAUTH2`` (IMAP) and
``AUTH XOAUTH2`` (SMTP). The tokens live in the secret store as ``oauth_access_token``,
``oauth_refresh_token`` and ``oauth_expires_at`` (epoch seconds, when known); the app itself does
not run the browser sign-in. When the expiry is near, or a server refuses the token, and a
refresh token and ``oauth_token_url`` are configured, a ``grant_type=refresh_token`` request
(RFC 6749 §6) on the shared HTTP client brings a new one. Tokens never reach logs, exception
messages or ``repr``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from inbox.errors import AuthError, PermanentError
from inbox.models import Account
from inbox.providers.failures import decode_json, provider_failures, raise_for_response
from inbox.secrets import SecretStore

SERVICE = "email"
ACCESS_TOKEN = "oauth_access_token"
REFRESH_TOKEN = "oauth_refresh_token"
EXPIRES_AT = "oauth_expires_at"
CLIENT_SECRET = "oauth_client_secret"
#: Refresh when less than this many seconds of validity remain.
REFRESH_MARGIN = 60.0
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_ERROR_CODE = re.compile(r"^[a-z_]{1,40}$")


def sasl_string(username: str, token: str) -> bytes:
    """The XOAUTH2 initial client response, before base64 (the protocols encode it)."""
    return f"user={username}\x01auth=Bearer {token}\x01\x01".encode()


@dataclass(frozen=True, slots=True)
class TokenSet:
    """What a token endpoint answered; ``expires_at`` is None when it gave no lifetime."""

    access_token: str = field(repr=False)
    refresh_token: str | None = field(repr=False)
    expires_at: float | None

    def store(self, store: SecretStore, account_id: str) -> None:
        store.set(account_id, ACCESS_TOKEN, self.access_token)
        if self.refresh_token:
            store.set(account_id, REFRESH_TOKEN, self.refresh_token)
        if self.expires_at is None:
            store.delete(account_id, EXPIRES_AT)
        else:
            store.set(account_id, EXPIRES_AT, f"{self.expires_at:.0f}")


def _refused(response: httpx.Response) -> AuthError:
    """The token endpoint said no (RFC 6749 §5.2): only the error code is kept, never the body."""
    try:
        doc = response.json()
    except ValueError:
        doc = None
    code = doc.get("error") if isinstance(doc, dict) else None
    reason = code if isinstance(code, str) and _ERROR_CODE.match(code) else "refused"
    return AuthError(f"{SERVICE}: the token refresh was refused (HTTP {response.status_code} {reason}): needs sign-in")


async def refresh(
    http: httpx.AsyncClient,
    token_url: str,
    refresh_token: str,
    *,
    client_id: str = "",
    client_secret: str = "",
    now: float,
) -> TokenSet:
    """A new access token from the refresh token; AuthError when the grant is refused."""
    url = httpx.URL(token_url)
    if url.scheme != "https" and not (url.scheme == "http" and url.host in _LOOPBACK):
        raise PermanentError(f"{SERVICE}: oauth_token_url must be an https:// address")
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    if client_id:
        form["client_id"] = client_id
    if client_secret:
        form["client_secret"] = client_secret
    with provider_failures(SERVICE):
        response = await http.post(token_url, data=form, headers={"Accept": "application/json"})
    if response.status_code in (400, 401):
        raise _refused(response)  # invalid_grant: revoked, expired or already used
    raise_for_response(response, SERVICE)
    doc = decode_json(response, SERVICE)
    if not isinstance(doc, dict) or not isinstance(doc.get("access_token"), str):
        raise AuthError(f"{SERVICE}: the token endpoint sent no access token: needs sign-in")
    lifetime = doc.get("expires_in")
    try:
        expires_at = now + float(lifetime) if lifetime is not None else None
    except (TypeError, ValueError):
        expires_at = None
    new_refresh = doc.get("refresh_token")
    return TokenSet(
        doc["access_token"],
        new_refresh if isinstance(new_refresh, str) and new_refresh else refresh_token,
        expires_at,
    )


class MailTokens:
    """The access token of one mail account, read from the secret store and refreshed when it
    is about to expire or a server refused it."""

    def __init__(
        self,
        account: Account,
        secrets: SecretStore,
        http: httpx.AsyncClient | None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._account = account
        self._secrets = secrets
        self._http = http
        self._clock = clock
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"MailTokens({self._account.id!r})"

    def _get(self, name: str) -> str:
        return (self._secrets.get(self._account.id, name) or "").strip()

    def _setting(self, name: str) -> str:
        return (self._account.settings.get(name) or "").strip()

    def current(self) -> str:
        """The stored access token (blocking: the secret store may be the keyring)."""
        token = self._get(ACCESS_TOKEN)
        if not token:
            raise AuthError(
                f"{SERVICE}: no OAuth access token stored for {self._account.id} (secret {ACCESS_TOKEN}): needs sign-in"
            )
        return token

    def validate(self) -> None:
        """Raise when the account cannot sign in as configured, naming what is missing."""
        self.current()
        if self._get(REFRESH_TOKEN) and not self._setting("oauth_token_url"):
            raise PermanentError(f"{SERVICE}: secret {REFRESH_TOKEN} is stored but setting oauth_token_url is empty")

    def can_refresh(self) -> bool:
        return bool(self._get(REFRESH_TOKEN) and self._setting("oauth_token_url"))

    def _expiring(self) -> bool:
        try:
            expires_at = float(self._get(EXPIRES_AT) or 0)
        except ValueError:
            return False  # unreadable: a refused token still triggers the refresh
        return bool(expires_at) and expires_at - self._clock() < REFRESH_MARGIN

    async def fresh(self, *, force: bool = False) -> str:
        """A token to sign in with: the stored one, or a new one when it expires within
        :data:`REFRESH_MARGIN` or ``force`` (the server refused the stored one). Without a refresh
        token and token URL, an expiring token is still tried and a refused one is AuthError."""
        token = await asyncio.to_thread(self.current)
        if not (force or await asyncio.to_thread(self._expiring)):
            return token
        async with self._lock:
            current = await asyncio.to_thread(self.current)
            if current != token:
                return current  # another sign-in refreshed it while we waited
            if not await asyncio.to_thread(self.can_refresh):
                if force:
                    raise AuthError(
                        f"{SERVICE}: the server refused the OAuth access token and no"
                        " refresh token and oauth_token_url are set: needs sign-in"
                    )
                return token
            if self._http is None:
                raise PermanentError(f"{SERVICE}: no HTTP client to refresh the OAuth token")
            refresh_token = await asyncio.to_thread(self._get, REFRESH_TOKEN)
            client_secret = await asyncio.to_thread(self._get, CLIENT_SECRET)
            tokens = await refresh(
                self._http,
                self._setting("oauth_token_url"),
                refresh_token,
                client_id=self._setting("oauth_client_id"),
                client_secret=client_secret,
                now=self._clock(),
            )
            await asyncio.to_thread(tokens.store, self._secrets, self._account.id)
            return tokens.access_token
