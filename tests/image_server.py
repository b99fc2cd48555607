"""A real HTTP server on 127.0.0.1 that serves what a mail's remote images can turn out to be:
a PNG, a file too big, a page that is not an image, a 404, redirects, a slow answer. It
records every request (path and headers) so tests can say what was, and was not, fetched."""

from __future__ import annotations

import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIG = 200_000  # bytes of the "too big" files; tests set the limit below it


def png(width: int = 6, height: int = 4, rgb: tuple[int, int, int] = (31, 111, 235)) -> bytes:
    """A valid PNG of one colour, written by hand (no Qt needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


@dataclass
class ImageServer:
    base: str
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    in_flight: int = 0
    most_in_flight: int = 0

    @property
    def paths(self) -> list[str]:
        return [path for path, _headers in self.requests]


@contextmanager
def image_server() -> Iterator[ImageServer]:
    picture = png()
    lock = threading.Lock()
    state = ImageServer("")

    class Handler(BaseHTTPRequestHandler):
        def send_body(self, kind: str, body: bytes, length: bool = True) -> None:
            self.send_response(200)
            self.send_header("Content-Type", kind)
            if length:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            with lock:
                state.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
                state.in_flight += 1
                state.most_in_flight = max(state.most_in_flight, state.in_flight)
            try:
                self.answer(self.path.split("?")[0])
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up on purpose (too big, too slow)
            finally:
                with lock:
                    state.in_flight -= 1

        def answer(self, path: str) -> None:
            if path.endswith("/a.png") or path == "/b.png":
                self.send_body("image/png", picture)
            elif path == "/big.png":  # declares its size
                self.send_body("image/png", b"\x89PNG" + b"\0" * BIG)
            elif path == "/big-stream.png":  # does not: the client must count
                self.send_body("image/png", b"\x89PNG" + b"\0" * BIG, length=False)
            elif path == "/page.html":
                self.send_body("text/html", b"<p>not an image</p>")
            elif path == "/picture.svg":
                self.send_body("image/svg+xml", b"<svg xmlns='http://www.w3.org/2000/svg'/>")
            elif path == "/redirect.png":
                self.send_response(302)
                self.send_header("Location", "/a.png")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/loop.png":
                self.send_response(302)
                self.send_header("Location", "/loop.png")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif path == "/cookie.png":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Set-Cookie", "tracker=abc; Path=/")
                self.send_header("Content-Length", str(len(picture)))
                self.end_headers()
                self.wfile.write(picture)
            elif path.startswith("/slow"):
                time.sleep(1.0 if path == "/slow.png" else 0.05)
                self.send_body("image/png", picture)
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
