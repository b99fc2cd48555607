"""The one place where library and service failures become :mod:`inbox.errors` types.

HTTP: timeouts and network errors -> TransientError; 401/403 and revoked tokens -> AuthError;
429 -> RateLimited(retry_after from the real headers); 5xx -> TransientError; other 4xx ->
PermanentError; anything unexpected -> ProviderBug raised from the original. IMAP and SMTP map
through the same function. Messages never carry secrets: URLs lose their query strings.
"""

from __future__ import annotations

import imaplib
import json
import smtplib
import socket
import ssl
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx

from inbox.errors import (
    AuthError,
    PermanentError,
    ProviderBug,
    ProviderError,
    RateLimited,
    TransientError,
)

#: Graph API error codes (https://developers.facebook.com/docs/graph-api/guides/error-handling).
GRAPH_THROTTLED = frozenset({4, 17, 32, 613, 80001, 80006})
GRAPH_AUTH = frozenset({102, 190, 200, 10, 463, 467})


def _safe_url(url: httpx.URL) -> str:
    return str(url.copy_with(query=None))


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float:
    """Seconds to wait, from ``Retry-After`` or X's ``x-rate-limit-reset`` (epoch seconds)."""
    now = time.time() if now is None else now
    value = headers.get("retry-after")
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
    reset = headers.get("x-rate-limit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            pass
    return 60.0


def _graph_error(body: object) -> tuple[int | None, int | None, str]:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        err = body["error"]
        code = err.get("code")
        sub = err.get("error_subcode")
        return (
            code if isinstance(code, int) else None,
            sub if isinstance(sub, int) else None,
            str(err.get("message", "")),
        )
    return None, None, ""


def _x_error(body: object) -> str:
    if isinstance(body, dict):
        for key in ("detail", "title", "error_description", "error"):
            if isinstance(body.get(key), str):
                return str(body[key])
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return str(errors[0].get("message") or errors[0].get("detail") or "")
    return ""


def raise_for_response(response: httpx.Response, service: str) -> None:
    """Raise the mapped error for a failed HTTP response; return quietly on success."""
    if response.is_success:
        return
    try:
        body: object = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError):
        body = None
    code, _sub, graph_message = _graph_error(body)
    reason = graph_message or _x_error(body) or response.reason_phrase
    where = f"{service} {response.request.method} {_safe_url(response.request.url)}"
    text = f"{where}: HTTP {response.status_code} {reason}".strip()
    if code is not None and code in GRAPH_THROTTLED:
        raise RateLimited(text, retry_after_seconds(response.headers, None))
    if response.status_code == 429:
        raise RateLimited(text, retry_after_seconds(response.headers))
    if response.status_code in (401, 403) or (code is not None and code in GRAPH_AUTH):
        raise AuthError(text)
    if response.status_code >= 500:
        raise TransientError(text)
    raise PermanentError(text)


def decode_json(response: httpx.Response, service: str) -> object:
    """The JSON body of a successful response; truncated or invalid JSON is transient."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        # The service answered (and may have acted on the request) but the body was cut.
        raise TransientError(
            f"{service}: invalid JSON from {_safe_url(response.request.url)} ({exc})", unsure=True
        ) from exc


def server_text(value: object) -> str:
    """What a server said, as text: imaplib and smtplib hand over the server's bytes (imaplib
    wraps them in its exception, so ``str()`` shows ``b'[AUTHENTICATIONFAILED] ...'``)."""
    if isinstance(value, BaseException) and len(value.args) == 1:
        value = value.args[0]
    if isinstance(value, (bytes, bytearray)):
        value = bytes(value).decode("utf-8", "replace")
    return " ".join(str(value).split())


@contextmanager
def provider_failures(service: str) -> Iterator[None]:
    """Map any library exception raised inside the block to the contract's error types."""
    try:
        yield
    except ProviderError:
        raise
    except httpx.TimeoutException as exc:
        sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
        raise TransientError(f"{service}: timed out ({type(exc).__name__})", unsure=sent) from exc
    except (httpx.TransportError, httpx.StreamError) as exc:
        sent = not isinstance(exc, (httpx.ConnectError, httpx.UnsupportedProtocol, httpx.ProxyError))
        raise TransientError(f"{service}: network error ({type(exc).__name__})", unsure=sent) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise AuthError(
            f"{service}: sign-in refused ({exc.smtp_code} {server_text(exc.smtp_error)})"
        ) from exc
    except smtplib.SMTPResponseException as exc:
        text = f"{service}: SMTP {exc.smtp_code} {server_text(exc.smtp_error)}"
        if 400 <= exc.smtp_code < 500:
            raise TransientError(text) from exc
        raise PermanentError(text) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentError(f"{service}: recipients refused {list(exc.recipients)}") from exc
    except smtplib.SMTPConnectError as exc:
        raise TransientError(f"{service}: SMTP connection refused ({exc})") from exc
    except smtplib.SMTPServerDisconnected as exc:
        raise TransientError(f"{service}: SMTP connection lost ({exc})", unsure=True) from exc
    except imaplib.IMAP4.abort as exc:
        raise TransientError(f"{service}: IMAP connection lost ({server_text(exc)})") from exc
    except imaplib.IMAP4.error as exc:
        text = server_text(exc)
        if "AUTHENTICATIONFAILED" in text.upper() or "LOGIN" in text.upper():
            raise AuthError(f"{service}: sign-in refused ({text})") from exc
        raise PermanentError(f"{service}: IMAP error ({text})") from exc
    except ssl.SSLError as exc:
        raise TransientError(f"{service}: TLS error ({exc.reason})") from exc
    except (ConnectionRefusedError, socket.gaierror) as exc:
        raise TransientError(f"{service}: cannot connect ({type(exc).__name__})") from exc
    except (ConnectionError, TimeoutError, OSError) as exc:
        # Reset, broken pipe or a timeout mid-conversation: what was sent may have arrived.
        raise TransientError(f"{service}: network error ({type(exc).__name__})", unsure=True) from exc
    except Exception as exc:  # the contract: anything else is a bug, kept as the cause
        raise ProviderBug(f"{service}: unexpected {type(exc).__name__}") from exc
