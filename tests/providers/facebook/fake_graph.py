"""A local Graph API for the provider tests: a real HTTP server on 127.0.0.1.

It replays recorded corpus payloads (sns-python-facebook conversations, messages, comments p1/p2
and posts; restfb ``conversation.json``; ``me/accounts`` pages) as one Page's data, with real
``after`` cursors and ``paging.next`` links, field-expansion limits, ``since`` filters and
newest-first order. Failures are injected per path: Graph error envelopes exactly as Facebook
sends them (190/463 expired token, throttling codes 4/17/32/613, the 24-hour window refusal),
HTTP 500/503, a connection dropped in the middle of a body, and ``lost``: the request is carried
out (a message really posted) but the connection closes before any answer. Every request is
recorded.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from tests.corpus import corpus_dir

PAGE_ID, PAGE_NAME = "19292868552", "Facebook for Developers"
PAGE_TOKEN = "EAAPage-SECRET-token-7f3a9c"
USER_TOKEN = "EAAUser-SECRET-token-1b2d4e"
USER_ID = "413140042878187"
APP_TOKEN = "1234567890|client-SECRET-abc"
DEVICE_CODE = "device-code-SECRET-42"
_SNS = ("sns-python-facebook", "testdata", "facebook")
_OLD_PAGES = ("2121008874780932", "261743132120084")  # the recorded Pages, replayed as ours

ERRORS: dict[str, tuple[int, dict[str, Any]]] = {
    "expired": (400, {"message": "Error validating access token: Session has expired on "
                      "Tuesday, 10-Aug-21 06:00:00 PDT. The current time is Tuesday, 10-Aug-21 "
                      "07:00:00 PDT.", "type": "OAuthException", "code": 190, "error_subcode": 463}),
    "invalid": (400, {"message": "Invalid OAuth access token - Cannot parse access token",
                      "type": "OAuthException", "code": 190}),
    "throttle4": (400, {"message": "(#4) Application request limit reached",
                        "type": "OAuthException", "is_transient": True, "code": 4}),
    "throttle17": (400, {"message": "(#17) User request limit reached",
                         "type": "OAuthException", "is_transient": True, "code": 17}),
    "throttle32": (400, {"message": "(#32) Page request limit reached",
                         "type": "OAuthException", "code": 32}),
    "throttle613": (400, {"message": "(#613) Calls to this api have exceeded the rate limit.",
                          "type": "OAuthException", "code": 613}),
    "window": (400, {"message": "(#10) This message is sent outside of allowed window.",
                     "type": "OAuthException", "code": 10, "error_subcode": 2018278}),
    "500": (500, {"message": "An unknown error occurred", "type": "OAuthException", "code": 1,
                  "is_transient": True}),
    "503": (503, {"message": "Service temporarily unavailable", "type": "OAuthException",
                  "code": 2, "is_transient": True}),
    "pending": (400, {"message": "(#31) User has not yet authorized your application",
                      "type": "OAuthException", "code": 31, "error_subcode": 1349174,
                      "error_user_title": "Device Login Authorization Pending"}),
}  # fmt: skip


@dataclass
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    authorization: str
    body: Any


def _load(*parts: str) -> Any:
    raw = corpus_dir(*parts).read_text("utf-8")
    for old in _OLD_PAGES:
        raw = raw.replace(old, PAGE_ID)
    return json.loads(raw)


def _cursor(index: int) -> str:
    return base64.b64encode(f"idx:{index}".encode()).decode()


def _uncursor(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor).decode().split(":")[1]) + 1
    except (ValueError, IndexError):
        return 0


@dataclass
class FakeGraph:
    """The Page's data and the failures to inject; ``url`` is the base URL with a version."""

    conversations: list[dict[str, Any]] = field(default_factory=list)
    posts: list[dict[str, Any]] = field(default_factory=list)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    requests: list[Recorded] = field(default_factory=list)
    max_limit: int = 100
    app_usage: dict[str, int] = field(default_factory=lambda: {"call_count": 3})
    pending_polls: int = 1
    device_code_expired: bool = False
    url: str = ""
    _failures: list[tuple[str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _sent: int = 0

    def load_corpus(self) -> None:
        modelled = _load(*_SNS, "models", "conversation.json")
        messages = list(_load(*_SNS, "apidata", "messages", "messages_info.json").values())
        restfb = _load("restfb", "json", "conversation.json")
        hehe = copy.deepcopy(messages[0]) | {
            "id": "m_hehe",
            "message": "hehe",
            "created_time": "2021-07-23T09:30:39+0000",
        }
        hehe["from"] = {"name": "Li Wei", "email": "4400@facebook.com", "id": "4400"}
        others = _load(*_SNS, "apidata", "conversations", "cvses_info.json")["t_233782918546745"]
        others["participants"] = {"data": [hehe["from"], modelled["participants"]["data"][1]]}
        self.conversations = [
            modelled | {"messages": messages},
            restfb | {"messages": restfb["messages"]["data"]},
            others | {"messages": [hehe]},
        ]
        first = _load(*_SNS, "apidata", "comments", "comments_p1.json")["data"]
        second = _load(*_SNS, "apidata", "comments", "comments_p2.json")["data"]
        asked = {
            "id": f"{PAGE_ID}_10158407654328553",
            "message": "Ask us about the new Pages",
            "created_time": "2021-08-10T18:00:00+0000",
            "comments": first + second,
        }
        multi = list(_load(*_SNS, "apidata", "posts", "multi_posts_data.json").values())
        self.posts = [asked] + [p | {"comments": p["comments"]["data"]} for p in multi]
        accounts = _load(*_SNS, "apidata", "users", "user_accounts_p1.json")["data"]
        accounts += _load(*_SNS, "apidata", "users", "user_accounts_p2.json")["data"]
        ours = {
            "id": PAGE_ID,
            "name": PAGE_NAME,
            "access_token": PAGE_TOKEN,
            "tasks": ["MESSAGING"],
        }
        self.accounts = accounts[:2] + [ours] + accounts[2:]
        for conversation in self.conversations:
            self._order(conversation)

    @staticmethod
    def _order(conversation: dict[str, Any]) -> None:
        conversation["messages"].sort(key=lambda m: m["created_time"], reverse=True)
        conversation["updated_time"] = conversation["messages"][0]["created_time"]

    def fail(self, path_part: str, kind: str, times: int = 1) -> None:
        """Answer the next ``times`` requests whose path contains ``path_part`` with ``kind``."""
        with self._lock:
            self._failures += [(path_part, kind)] * times

    def add_message(self, conversation_id: str, text: str, created: str, sender: str) -> str:
        with self._lock:
            conversation = next(c for c in self.conversations if c["id"] == conversation_id)
            mid = f"m_new_{len(self.requests)}_{len(conversation['messages'])}"
            conversation["messages"].append(
                {"id": mid, "message": text, "created_time": created, "from": {"id": sender},
                 "to": {"data": [{"id": PAGE_ID, "name": PAGE_NAME}]}}
            )  # fmt: skip
            self._order(conversation)
            return mid

    def add_comment(self, post_index: int, text: str, created: str, sender: str) -> str:
        with self._lock:
            post = self.posts[post_index]
            cid = f"{post['id'].split('_')[-1]}_{9000 + len(post['comments'])}"
            post["comments"].append({"id": cid, "message": text, "created_time": created,
                                     "from": {"id": sender, "name": "New Commenter"}})  # fmt: skip
            return cid

    def approve_device_login(self) -> None:
        """The person entered the code and approved: the next poll gets the user token."""
        with self._lock:
            self.pending_polls = 0

    def posted(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    # Serving.

    def _next_failure(self, path: str) -> str | None:
        with self._lock:
            for index, (part, kind) in enumerate(self._failures):
                if part in path:
                    del self._failures[index]
                    return kind
        return None

    def _page(
        self, items: list[dict[str, Any]], query: dict[str, str], path: str, limit: int
    ) -> dict[str, Any]:
        start = _uncursor(query["after"]) if query.get("after") else 0
        limit = max(1, min(limit, self.max_limit))
        chunk = items[start : start + limit]
        doc: dict[str, Any] = {"data": chunk}
        if chunk:
            doc["paging"] = {"cursors": {"before": _cursor(start - 1),
                                         "after": _cursor(start + len(chunk) - 1)}}  # fmt: skip
            if start + limit < len(items):
                link = query | {"access_token": PAGE_TOKEN, "after": _cursor(start + limit - 1)}
                doc["paging"]["next"] = f"{self.url}/{path}?{urlencode(link)}"
        return doc

    def answer(self, method: str, path: str, query: dict[str, str], token: str, body: Any
               ) -> tuple[int, dict[str, Any]]:  # fmt: skip
        parts = [p for p in path.split("/") if p]
        if parts and re.fullmatch(r"v\d+\.\d+", parts[0]):
            parts = parts[1:]
        route = "/".join(parts)
        if route.startswith("device/"):
            return self._device(route, body)
        if token not in (PAGE_TOKEN, USER_TOKEN):
            return ERRORS["invalid"][0], {"error": ERRORS["invalid"][1]}
        fields = query.get("fields", "")
        if route == "me":
            me = {"id": PAGE_ID, "name": PAGE_NAME} if token == PAGE_TOKEN else {
                "id": USER_ID, "name": "Page Admin"}  # fmt: skip
            kind = "page" if token == PAGE_TOKEN else "user"
            return 200, me | ({"metadata": {"type": kind}} if query.get("metadata") else {})
        if route == "me/accounts" and token == USER_TOKEN:
            return 200, self._page(self.accounts, query, route, int(query.get("limit", 25)))
        if method == "POST":
            return self._post(parts, body)
        if route == f"{PAGE_ID}/conversations":
            since = int(query.get("since", 0))
            found = sorted((c for c in self.conversations if _epoch(c["updated_time"]) >= since),
                           key=lambda c: c["updated_time"], reverse=True)  # fmt: skip
            page = self._page(found, query, route, int(query.get("limit", 25)))
            nested = int((re.search(r"messages\.limit\((\d+)\)", fields) or [0, 25])[1])
            page["data"] = [self._expand(c, "messages", nested) for c in page["data"]]
            return 200, page
        if route == f"{PAGE_ID}/feed":
            since = int(query.get("since", 0))
            found = sorted((p for p in self.posts if _epoch(p["created_time"]) >= since),
                           key=lambda p: p["created_time"], reverse=True)  # fmt: skip
            page = self._page(found, query, route, int(query.get("limit", 25)))
            nested = int((re.search(r"comments[^{]*limit\((\d+)\)", fields) or [0, 25])[1])
            page["data"] = [self._expand(p, "comments", nested) for p in page["data"]]
            return 200, page
        if len(parts) == 2 and parts[1] in ("messages", "comments"):
            owner = next((o for o in self.conversations + self.posts if o["id"] == parts[0]), None)
            if owner is None:
                return 400, {"error": {"message": "(#100) Unsupported get request.",
                                       "type": "GraphMethodException", "code": 100}}  # fmt: skip
            items = self._ordered(owner, parts[1])
            return 200, self._page(items, query, route, int(query.get("limit", 25)))
        return 400, {"error": {"message": f"(#100) Unknown path {route}",
                               "type": "OAuthException", "code": 100}}  # fmt: skip

    def _ordered(self, owner: dict[str, Any], edge: str) -> list[dict[str, Any]]:
        return sorted(owner[edge], key=lambda i: i["created_time"], reverse=True)

    def _expand(self, owner: dict[str, Any], edge: str, limit: int) -> dict[str, Any]:
        items = self._ordered(owner, edge)
        return owner | {edge: self._page(items, {}, f"{owner['id']}/{edge}", limit)}

    def _post(self, parts: list[str], body: Any) -> tuple[int, dict[str, Any]]:
        self._sent += 1
        if parts == [PAGE_ID, "messages"]:
            recipient = body.get("recipient", {}) if isinstance(body, dict) else {}
            who = recipient.get("id") or "psid-of-commenter"
            return 200, {"recipient_id": who, "message_id": f"m_sent{self._sent}"}
        if len(parts) == 2 and parts[1] == "comments":
            return 200, {"id": f"{parts[0].split('_')[0]}_{7000 + self._sent}"}
        return 400, {"error": {"message": "(#3) Unknown method", "type": "OAuthException",
                               "code": 3}}  # fmt: skip

    def _device(self, route: str, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or body.get("access_token") != APP_TOKEN:
            return 400, {"error": {"message": "Invalid OAuth access token signature.",
                                   "type": "OAuthException", "code": 190}}  # fmt: skip
        if route == "device/login":
            return 200, {
                "code": DEVICE_CODE,
                "user_code": "A1NWZ9",
                "expires_in": 420,
                "interval": 5,
                "verification_uri": "https://www.facebook.com/device",
            }
        if body.get("code") != DEVICE_CODE:
            return 400, {"error": {"message": "Invalid code", "type": "OAuthException",
                                   "code": 100, "error_subcode": 1349152}}  # fmt: skip
        if self.device_code_expired:
            return 400, {"error": {"message": "This code has expired.", "type": "OAuthException",
                                   "code": 100, "error_subcode": 1349152}}  # fmt: skip
        with self._lock:
            if self.pending_polls > 0:
                self.pending_polls -= 1
                return ERRORS["pending"][0], {"error": ERRORS["pending"][1]}
        return 200, {"access_token": USER_TOKEN, "expires_in": 5183944}


def _epoch(graph_time: str) -> int:
    return int(datetime.strptime(graph_time, "%Y-%m-%dT%H:%M:%S%z").timestamp())


class _Handler(BaseHTTPRequestHandler):
    fake: FakeGraph

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        kind = self.headers.get("Content-Type", "")
        body: Any = None
        if raw and "json" in kind:
            body = json.loads(raw)
        elif raw:
            body = {k: v[-1] for k, v in parse_qs(raw.decode()).items()}
        auth = self.headers.get("Authorization", "")
        token = auth.removeprefix("Bearer ") if auth else query.get("access_token", "")
        fake = self.fake
        with fake._lock:
            fake.requests.append(Recorded(method, split.path, query, auth, body))
        failure = fake._next_failure(split.path)
        if failure == "drop":
            full = json.dumps({"data": [{"id": "x" * 400}] * 20}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(full)))
            self.end_headers()
            self.wfile.write(full[: len(full) // 3])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if failure == "lost":  # carried out, then the answer never comes back
            fake.answer(method, split.path, query, token, body)
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if failure is not None:
            status, doc = ERRORS[failure][0], {"error": ERRORS[failure][1] | {"fbtrace_id": "AbC1"}}
        else:
            status, doc = fake.answer(method, split.path, query, token, body)
        data = json.dumps(doc, ensure_ascii=False).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=UTF-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("X-App-Usage", json.dumps(fake.app_usage))
        if failure and failure.startswith("throttle"):
            usage = {
                PAGE_ID: [
                    {
                        "type": "pages",
                        "call_count": 100,
                        "total_cputime": 20,
                        "total_time": 30,
                        "estimated_time_to_regain_access": 7,
                    }
                ]
            }
            self.send_header("X-Business-Use-Case-Usage", json.dumps(usage))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def fake_graph() -> Iterator[FakeGraph]:
    """A Graph API serving the corpus as Page 19292868552, on 127.0.0.1."""
    fake = FakeGraph()
    fake.load_corpus()
    handler = type("Handler", (_Handler,), {"fake": fake})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    fake.url = f"http://127.0.0.1:{server.server_address[1]}/v23.0"
    thread = threading.Thread(target=server.serve_forever, name="fake-graph", daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
