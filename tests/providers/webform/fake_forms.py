"""A submissions endpoint that really listens on 127.0.0.1 (stdlib http.server in a thread).

It serves our JSON shape with ``since`` filtering (inclusive, as many real APIs do, so the
client must drop what it has already seen), paging by relative ``next`` links, and failure modes.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class FormsState:
    """What the server holds and how it behaves; tests change it between requests."""

    api_key: str
    submissions: list[dict[str, object]] = field(default_factory=list)
    page_size: int = 2
    newest_first: bool = False
    auth_header: str = "Authorization"
    mode: str = "ok"  # ok | 500 | truncated | 401 | foreign-next | not-forms
    since_param: str = "since"
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(state: FormsState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
            return

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # the http.server API names it
            with state.lock:
                state.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
            expected = state.api_key
            if state.auth_header.lower() == "authorization":
                expected = f"Bearer {state.api_key}"
            if state.mode == "401" or self.headers.get(state.auth_header) != expected:
                self._send(401, b'{"error": "invalid api key"}')
                return
            if state.mode == "500":
                self._send(500, b'{"error": "database down"}')
                return
            if state.mode == "not-forms":
                self._send(200, b'{"status": "ok"}')
                return
            self._send(200, self._page())

        def _page(self) -> bytes:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            since = query.get(state.since_param, "")
            with state.lock:
                rows = [s for s in state.submissions if str(s["submitted_at"]) >= since]
            rows.sort(key=lambda s: str(s["submitted_at"]), reverse=state.newest_first)
            page = int(query.get("page", "1"))
            start = (page - 1) * state.page_size
            doc: dict[str, object] = {
                "inbox_webform": 1,
                "form": {"id": "contact-fr", "title": "Contact"},
                "submissions": rows[start : start + state.page_size],
            }
            if start + state.page_size < len(rows):
                link = f"{url.path}?page={page + 1}&{state.since_param}={since}"
                if state.mode == "foreign-next":
                    link = "http://attacker.invalid" + link
                doc["next"] = link
            body = json.dumps(doc).encode()
            return body[: len(body) // 2] if state.mode == "truncated" else body

    return Handler


@contextmanager
def fake_forms(state: FormsState) -> Iterator[str]:
    """Serve ``state`` on 127.0.0.1; yields the submissions URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/api/submissions"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def submission(number: int, minute: int, **fields: str) -> dict[str, object]:
    """A submission at 2026-11-20 09:<minute>Z."""
    values = {"name": f"Client {number}", "email": f"c{number}@example.org", "message": "Bonjour"}
    values.update(fields)
    return {
        "id": f"s-{number}",
        "submitted_at": f"2026-11-20T09:{minute:02d}:00Z",
        "fields": values,
    }
