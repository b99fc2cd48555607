"""A fake X API v2 server on 127.0.0.1 that replays recorded corpus payloads.

It speaks real HTTP (stdlib ``http.server`` in a thread) and answers the endpoints the provider
uses: ``/2/users/me``, ``/2/users/:id/mentions``, ``/2/users/:id/tweets``, ``/2/dm_events``,
``POST /2/tweets``, ``POST /2/dm_conversations/with/:id/messages``, the OAuth 2.0 PKCE pair
``/i/oauth2/authorize`` (redirects to the app's loopback) and ``POST /2/oauth2/token``.

Timelines come from the corpus: the sns-python-twitter mentions timeline plus the twarc search
page (105 tweets with ``includes``), sns ``timeline_tweets.json`` as our own posts, and the sns
and tweepy DM events. Paging is real (``max_results``, ``pagination_token``/``next_token``,
``since_id``), every answer carries ``x-rate-limit-*`` headers, and faults can be queued:
429 with ``x-rate-limit-reset``, 401 with X's error body, 500/503, or a connection dropped in the
middle of a page. Every request is recorded for assertions.

Use the ``fake_x`` fixture (import it into a test module or a conftest).
"""

from __future__ import annotations

import base64
import hashlib
import io
import itertools
import json
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.corpus import corpus_dir
from tests.providers.twitter.fake_x_timeline import Json, load_timelines

OWN_USER = {"id": "2244994945", "name": "Twitter Dev", "username": "TwitterDev"}
CLIENT_ID = "inbox-test-client"
UNAUTHORIZED = {
    "title": "Unauthorized",
    "type": "about:blank",
    "status": 401,
    "detail": "Unauthorized",
}
TOO_MANY = {
    "title": "Too Many Requests",
    "detail": "Too Many Requests",
    "type": "about:blank",
    "status": 429,
}
INVALID_TOKEN = {
    "error": "invalid_request",
    "error_description": "Value passed for the token was invalid.",
}
TOKEN_LIFETIME = 7200
LOST = -1  # Fault.status: the request is carried out, the connection closes before the answer


@dataclass
class Recorded:
    """One request the fake received (the Authorization header is kept for token assertions)."""

    method: str
    path: str
    query: dict[str, str]
    body: Any
    authorization: str = ""


@dataclass
class Fault:
    path_prefix: str
    status: int  # 0: drop the connection in the middle of the body; LOST: act, never answer
    reset: int | None = None


class FakeX:
    """The fake server's state; ``url`` is its base address (use it as the provider base_url)."""

    def __init__(self, corpus: Path) -> None:
        self.mentions, self.own, self.dms = load_timelines(corpus, OWN_USER)
        self.requests: list[Recorded] = []
        self.faults: list[Fault] = []
        self.rate_limit_reset = int(time.time()) + 900
        self.remaining = 450
        self.access_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (challenge, redirect_uri)
        self.deny_authorize = False
        self._ids = itertools.count(1_900_000_000_000_000_000)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> FakeX:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # -- test controls ------------------------------------------------------------------

    def issue_tokens(self) -> tuple[str, str]:
        """A fresh (access, refresh) pair the server accepts, as after a sign-in."""
        with self._lock:
            access, refresh = f"AT-{secrets.token_urlsafe(16)}", f"RT-{secrets.token_urlsafe(16)}"
            self.access_tokens.add(access)
            self.refresh_tokens.add(refresh)
            return access, refresh

    def revoke_all(self) -> None:
        """The user revoked the app on x.com: no token works any more."""
        with self._lock:
            self.access_tokens.clear()
            self.refresh_tokens.clear()

    def expire_access_tokens(self) -> None:
        with self._lock:
            self.access_tokens.clear()

    def fail(self, path_prefix: str, status: int, *, reset: int | None = None) -> None:
        """Answer the next request under ``path_prefix`` with ``status`` (0: drop mid-body;
        :data:`LOST`: carry the request out, e.g. really post, then close without answering)."""
        self.faults.append(Fault(path_prefix, status, reset))

    def add_mention(self, text: str, author_id: str = "1181341904765628416") -> str:
        """A new mention, newer than every other; returns its id."""
        tweet_id = str(next(self._ids))
        self.mentions.items.insert(
            0,
            {
                "id": tweet_id,
                "text": text,
                "author_id": author_id,
                "conversation_id": tweet_id,
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            },
        )
        return tweet_id

    def add_dm(self, text: str, sender_id: str = "906948460078698496") -> str:
        event_id = str(next(self._ids))
        self.dms.items.insert(
            0,
            {
                "id": event_id,
                "event_type": "MessageCreate",
                "text": text,
                "sender_id": sender_id,
                "dm_conversation_id": f"{sender_id}-{OWN_USER['id']}",
                "created_at": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            },
        )
        return event_id

    def requests_to(self, path_prefix: str, method: str = "GET") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    # -- request handling (called from the server threads) --------------------------------

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if path.startswith(fault.path_prefix):
                    self.faults.remove(fault)
                    return fault
        return None

    def authorized(self, header: str) -> bool:
        with self._lock:
            return header.removeprefix("Bearer ") in self.access_tokens

    def token(self, form: dict[str, str]) -> tuple[int, Json]:
        with self._lock:
            if form.get("client_id") != CLIENT_ID:
                return 400, {
                    "error": "invalid_request",
                    "error_description": "Missing valid client_id",
                }
            if form.get("grant_type") == "authorization_code":
                challenge, redirect = self.codes.pop(form.get("code", ""), ("", ""))
                verifier = form.get("code_verifier", "").encode()
                digest = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
                if (
                    not challenge
                    or digest.decode() != challenge
                    or form.get("redirect_uri") != redirect
                ):
                    return 400, INVALID_TOKEN
            elif form.get("grant_type") == "refresh_token":
                if form.get("refresh_token") not in self.refresh_tokens:
                    return 400, INVALID_TOKEN
                self.refresh_tokens.discard(form["refresh_token"])  # single use
            else:
                return 400, {"error": "unsupported_grant_type"}
        access, refresh = self.issue_tokens()
        return 200, {
            "token_type": "bearer",
            "expires_in": TOKEN_LIFETIME,
            "access_token": access,
            "scope": "tweet.read tweet.write users.read dm.read dm.write offline.access",
            "refresh_token": refresh,
        }

    def authorize(self, query: dict[str, str]) -> tuple[int, dict[str, str]]:
        redirect = query.get("redirect_uri", "")
        valid = (
            query.get("client_id") == CLIENT_ID
            and query.get("response_type") == "code"
            and query.get("code_challenge_method") == "S256"
            and redirect.startswith("http://127.0.0.1:")
        )
        if not valid:
            return 400, {}
        if self.deny_authorize:
            answer = {"error": "access_denied", "state": query.get("state", "")}
        else:
            code = secrets.token_urlsafe(12)
            with self._lock:
                self.codes[code] = (query.get("code_challenge", ""), redirect)
            answer = {"state": query.get("state", ""), "code": code}
        return 302, {"Location": f"{redirect}?{urlencode(answer)}"}


def _handler_for(fake: FakeX) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return None

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def _dispatch(self, method: str) -> None:
            split = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(split.query).items()}
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            body: Any = None
            if raw and self.headers.get("Content-Type", "").startswith("application/json"):
                body = json.loads(raw)
            elif raw:
                body = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
            auth = self.headers.get("Authorization", "")
            fake.requests.append(Recorded(method, split.path, query, body, auth))
            fault = fake.take_fault(split.path)
            if fault is not None and fault.status == LOST:
                self.wfile = io.BytesIO()  # the post happens; its answer goes nowhere
                self._route(method, split.path, query, body, auth)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault is not None:
                self._fault(fault)
                return
            self._route(method, split.path, query, body, auth)

        def _route(
            self, method: str, path: str, query: dict[str, str], body: Any, auth: str
        ) -> None:
            if path == "/i/oauth2/authorize" and method == "GET":
                status, headers = fake.authorize(query)
                self._send(status, {}, headers)
                return
            if path == "/2/oauth2/token" and method == "POST":
                self._send(*fake.token(body or {}))
                return
            if not fake.authorized(auth):
                self._send(401, UNAUTHORIZED)
                return
            parts = path.strip("/").split("/")
            if method == "GET" and path == "/2/users/me":
                self._send(200, {"data": dict(OWN_USER)})
            elif method == "GET" and parts[:2] == ["2", "users"] and parts[-1] == "mentions":
                self._send(200, fake.mentions.page(query))
            elif method == "GET" and parts[:2] == ["2", "users"] and parts[-1] == "tweets":
                self._send(200, fake.own.page(query))
            elif method == "GET" and path == "/2/dm_events":
                self._send(200, fake.dms.page(query))
            elif method == "POST" and path == "/2/tweets":
                self._send(201, {"data": {"id": str(next(fake._ids)), "text": body["text"]}})
            elif method == "POST" and parts[:3] == ["2", "dm_conversations", "with"]:
                low, high = sorted((parts[3], OWN_USER["id"]), key=int)
                self._send(
                    201,
                    {
                        "data": {
                            "dm_conversation_id": f"{low}-{high}",
                            "dm_event_id": str(next(fake._ids)),
                        }
                    },
                )
            else:
                self._send(
                    404,
                    {
                        "title": "Not Found Error",
                        "type": "about:blank",
                        "status": 404,
                        "detail": f"Sorry, that page does not exist: {path}",
                    },
                )

        def _rate_headers(self, remaining: int | None = None) -> dict[str, str]:
            fake.remaining = max(0, fake.remaining - 1) if remaining is None else remaining
            return {
                "x-rate-limit-limit": "450",
                "x-rate-limit-remaining": str(fake.remaining),
                "x-rate-limit-reset": str(fake.rate_limit_reset),
            }

        def _fault(self, fault: Fault) -> None:
            if fault.status == 429:
                headers = self._rate_headers(0)
                headers["x-rate-limit-reset"] = str(fault.reset or fake.rate_limit_reset)
                self._send(429, TOO_MANY, headers)
            elif fault.status == 401:
                self._send(401, UNAUTHORIZED)
            elif fault.status == 0:
                partial = json.dumps(fake.mentions.page({"max_results": "5"})).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(partial)))
                self.end_headers()
                self.wfile.write(partial[: len(partial) // 2])
                self.wfile.flush()
                self.close_connection = True
            else:
                self._send(
                    fault.status,
                    {
                        "title": "Service Unavailable",
                        "type": "about:blank",
                        "status": fault.status,
                        "detail": "Service Unavailable",
                    },
                )

        def _send(self, status: int, doc: Json, headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(doc).encode() if doc or status != 302 else b""
            self.send_response(status)
            for name, value in {**self._rate_headers(), **(headers or {})}.items():
                self.send_header(name, value)
            if payload:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler


@pytest.fixture
def fake_x() -> Iterator[FakeX]:
    """A running fake X API server replaying the shared corpus (skips when it is absent)."""
    server = FakeX(corpus_dir()).start()
    try:
        yield server
    finally:
        server.stop()
