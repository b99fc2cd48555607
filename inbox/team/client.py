"""The team server's HTTP API as the desktop uses it, with one mapping of failures.

Every library failure is mapped here and nowhere else: no answer (refused, timed out, dropped)
is :class:`ServerUnreachable`, a TLS certificate the machine does not trust is
:class:`CertificateProblem`, 401 is :class:`WrongPassword` on sign-in and :class:`SessionEnded`
elsewhere. A refused intent is not an error: :meth:`TeamClient.push` returns the answer.
The session token never appears in a ``repr``, an exception or a log line.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx

from inbox.errors import InboxError


class TeamError(InboxError):
    """Something the agent is told about the team server, in words they can act on."""


class ServerUnreachable(TeamError):
    """No answer from the server: this desktop keeps working on what it has."""


class CertificateProblem(TeamError):
    """The server's TLS certificate is not trusted by this machine."""


class WrongPassword(TeamError):
    """Sign-in refused: unknown name or wrong password."""


class SessionEnded(TeamError):
    """The session expired or was revoked: sign in again (nothing local is lost)."""


class ServerRefused(TeamError):
    """A request the server refused (other than an intent's answer)."""

    def __init__(self, message: str, status: int, body: dict[str, Any]) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in session. ``token`` is a secret: it goes to the keyring and nowhere else."""

    token: str = field(repr=False)
    expires_at: datetime
    agent: str
    display_name: str
    role: str
    accounts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Answer:
    """The server's answer to one intent: ``status`` 200 applied, 4xx refused with a problem body."""

    status: int
    body: dict[str, Any]
    replayed: bool


def normalise_url(url: str) -> str:
    url = url.strip().rstrip("/")
    if url.endswith("/v1"):
        url = url[:-3]
    if not url.startswith(("http://", "https://")):
        raise TeamError(f"{url or 'the server URL'} is not a web address (http://… or https://…)")
    return url


def ws_url(base_url: str) -> str:
    return ("wss://" + base_url[8:] if base_url.startswith("https://") else "ws://" + base_url[7:]) + "/v1/ws"


def _is_certificate(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _problem(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {"status": response.status_code, "detail": response.reason_phrase}
    return body if isinstance(body, dict) else {"status": response.status_code, "detail": str(body)}


class TeamClient:
    """Calls to one server, with or without a session token, on a shared ``httpx.AsyncClient``."""

    def __init__(self, base_url: str, http: httpx.AsyncClient, token: str | None = None) -> None:
        self.base_url = normalise_url(base_url)
        self._http = http
        self._token = token

    def __repr__(self) -> str:
        return f"TeamClient({self.base_url!r}, signed_in={self._token is not None})"

    @property
    def token(self) -> str | None:
        return self._token

    def use_token(self, token: str | None) -> None:
        self._token = token

    async def _request(self, method: str, path: str, *, signing_in: bool = False, **kw: Any) -> httpx.Response:
        headers = {"Accept": "application/json"}
        if self._token is not None and not signing_in:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            response = await self._http.request(method, self.base_url + path, headers=headers, **kw)
        except httpx.HTTPError as exc:
            if _is_certificate(exc):
                raise CertificateProblem(
                    f"the certificate of {self.base_url} is not trusted by this computer: check the address, "
                    "or ask whoever runs the server to fix its certificate"
                ) from None
            raise ServerUnreachable(
                f"the team server {self.base_url} cannot be reached ({type(exc).__name__}): "
                "Inbox keeps working on what it has and catches up when it answers"
            ) from None
        if response.status_code == 401:
            if signing_in:
                raise WrongPassword("unknown name or wrong password")
            raise SessionEnded("your team session has ended (expired or signed out elsewhere): sign in again")
        if response.status_code >= 500:
            raise ServerUnreachable(f"the team server {self.base_url} had a problem ({response.status_code}); retrying")
        return response

    async def sign_in(self, agent: str, password: str) -> Session:
        response = await self._request("POST", "/v1/session", signing_in=True, json={"name": agent, "password": password})
        if response.status_code != 201:
            body = _problem(response)
            raise ServerRefused(str(body.get("detail") or "sign-in refused"), response.status_code, body)
        body = response.json()
        self._token = str(body["token"])
        return Session(
            token=self._token,
            expires_at=datetime.fromisoformat(body["expires_at"]),
            agent=body["agent"],
            display_name=body.get("display_name", ""),
            role=body.get("role", "agent"),
            accounts=tuple(body.get("accounts", [])),
        )

    async def sign_out(self) -> None:
        """End the session on the server (an already ended one is fine)."""
        try:
            await self._request("DELETE", "/v1/session")
        except SessionEnded:
            pass
        self._token = None

    async def _get_json(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self._request("GET", path, params=params)
        if response.status_code != 200:
            body = _problem(response)
            raise ServerRefused(str(body.get("detail") or body.get("title") or response.status_code), response.status_code, body)
        data = response.json()
        assert isinstance(data, dict)
        return data

    async def changes(self, after: str, limit: int = 500) -> dict[str, Any]:
        return await self._get_json("/v1/changes", {"after": after, "limit": limit})

    async def conversation(self, conversation_id: int) -> dict[str, Any]:
        return await self._get_json(f"/v1/conversations/{conversation_id}")

    async def dashboard(self) -> dict[str, Any]:
        return await self._get_json("/v1/dashboard")

    async def sla_policies(self) -> str:
        """The server's SLA policies as TOML text ("" for the shipped defaults)."""
        return str((await self._get_json("/v1/sla/policies")).get("text") or "")

    async def push(self, client_id: str, seq: int, intent: dict[str, Any]) -> Answer:
        response = await self._request("POST", "/v1/intents", json={"client_id": client_id, "seq": seq, "intent": intent})
        return Answer(response.status_code, _problem(response), response.headers.get("Inbox-Replayed") == "true")

    def auth_headers(self) -> dict[str, str]:
        """For the WebSocket handshake only."""
        return {"Authorization": f"Bearer {self._token}"} if self._token else {}
