"""One Graph API call: the token in a header, Graph's error envelope mapped, usage headers read.

The access token travels only in the ``Authorization`` header (or, for device login, in a form
body), never in a URL, and every error text is scrubbed of it as well. Graph's own rate-limit
headers (``X-App-Usage``, ``X-Business-Use-Case-Usage``) are read on every response: once a
budget reaches :data:`USAGE_PAUSE_AT` percent, later calls refuse with ``RateLimited`` before
going out, so the app backs off before Facebook blocks it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping

import httpx

from inbox.errors import AuthError, PermanentError, ProviderError, RateLimited, with_message
from inbox.providers.facebook.payload import integer, obj, text
from inbox.providers.failures import decode_json, provider_failures, raise_for_response

SERVICE = "Facebook"
USAGE_PAUSE_AT = 95
#: Graph's refusal of a standard message outside the 24-hour window (code 10, this subcode).
WINDOW_SUBCODE = 2018278
_DEFAULT_PAUSE = 300.0


def _usage_percent_and_wait(headers: httpx.Headers) -> tuple[int, float]:
    """The highest usage percentage in Graph's usage headers, and the wait it announces."""
    highest, wait = 0, 0.0
    try:
        app = obj(json.loads(headers.get("x-app-usage", "{}")))
        business = obj(json.loads(headers.get("x-business-use-case-usage", "{}")))
    except ValueError:
        return 0, 0.0
    blocks: list[Mapping[str, object]] = [app]
    for entries in business.values():
        blocks += [obj(e) for e in entries] if isinstance(entries, list) else []
    for block in blocks:
        for key in ("call_count", "total_cputime", "total_time"):
            highest = max(highest, integer(block.get(key)) or 0)
        minutes = integer(block.get("estimated_time_to_regain_access")) or 0
        wait = max(wait, minutes * 60.0)
    return highest, wait


class GraphClient:
    """Graph requests for one account; ``token`` is asked for on each call (keyring-backed)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        token: Callable[[], str],
        clock: Callable[[], float],
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._token = token
        self._clock = clock
        self._paused_until = 0.0
        self._secrets: set[str] = set()

    def __repr__(self) -> str:
        return f"GraphClient({self._base!r})"

    def remember_secret(self, value: str) -> None:
        """A value to scrub from every error text (a user token during sign-in)."""
        if value:
            self._secrets.add(value)

    def _scrub(self, message: str) -> str:
        for secret in self._secrets:
            message = message.replace(secret, "[token]")
        return message

    async def get(
        self, path: str, params: Mapping[str, str] | None = None, token: str | None = None
    ) -> dict[str, object]:
        return await self._call("GET", path, params=params, token=token)

    async def post_json(self, path: str, body: Mapping[str, object]) -> dict[str, object]:
        return await self._call("POST", path, json_body=body)

    async def post_form(self, path: str, form: Mapping[str, str]) -> dict[str, object]:
        """A POST authenticated by the form itself (device login's app|client token).

        A 4xx answer with a Graph error envelope is returned as the body (``{"error": …}``),
        because device login speaks through error subcodes; other failures raise as usual.
        """
        return await self._call("POST", path, form=form, token="", errors_as_body=True)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        json_body: Mapping[str, object] | None = None,
        form: Mapping[str, str] | None = None,
        token: str | None = None,
        errors_as_body: bool = False,
    ) -> dict[str, object]:
        wait = self._paused_until - self._clock()
        if wait > 0:
            raise RateLimited(f"{SERVICE}: API usage near its limit; waiting", wait)
        secret = self._token() if token is None else token
        self.remember_secret(secret)
        headers = {"Authorization": f"Bearer {secret}"} if secret else {}
        try:
            with provider_failures(SERVICE):
                response = await self._http.request(
                    method,
                    f"{self._base}/{path.lstrip('/')}",
                    params=dict(params or {}),
                    json=dict(json_body) if json_body is not None else None,
                    data=dict(form) if form is not None else None,
                    headers=headers,
                )
                self._read_usage(response.headers)
                if errors_as_body and 400 <= response.status_code < 500:
                    body = obj(decode_json(response, SERVICE))
                    if isinstance(body.get("error"), dict):
                        return body
                if not response.is_success:
                    self._raise(response)
                return obj(decode_json(response, SERVICE))
        except ProviderError as exc:  # the same error (unsure, retry_after...), token scrubbed
            raise with_message(exc, self._scrub(str(exc))) from exc.__cause__

    def _read_usage(self, headers: httpx.Headers) -> None:
        percent, wait = _usage_percent_and_wait(headers)
        if percent >= USAGE_PAUSE_AT:
            self._paused_until = self._clock() + (wait or _DEFAULT_PAUSE)

    def _raise(self, response: httpx.Response) -> None:
        try:
            error = obj(obj(response.json()).get("error"))
        except ValueError:
            error = {}
        code, subcode = integer(error.get("code")), integer(error.get("error_subcode"))
        if code == 10 and subcode == WINDOW_SUBCODE:
            raise PermanentError(
                f"{SERVICE}: outside Messenger's 24-hour window ({text(error.get('message'))})"
            )
        try:
            raise_for_response(response, SERVICE)
        except AuthError as exc:
            raise with_message(exc, f"{SERVICE} needs sign-in again: {exc}") from None
        except RateLimited as exc:
            _, wait = _usage_percent_and_wait(response.headers)
            limited = with_message(exc, str(exc))
            limited.retry_after = max(exc.retry_after, wait)
            raise limited from None
