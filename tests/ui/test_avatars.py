"""Profile pictures are fetched once into a local cache (images only) and shown in the customer
panel, offline too."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QBuffer, QByteArray, QIODevice
from PySide6.QtGui import QColor, QImage

from inbox.app.window import build_window
from inbox.app.workspace import fetch_avatars
from inbox.models import Author, IdentityKind, QueueFilter
from inbox.store.repository import Store
from inbox.ui.main_window import MainWindow
from tests.factories import X, tweet


def png() -> bytes:
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.fill(QColor("#1F6FEB"))
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(data.data())


@pytest.fixture()
def picture_server(qapp: object) -> Iterator[tuple[str, list[str]]]:
    body = png()
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            if self.path == "/avatar.png":
                self.send_response(200)
                self.send_header("Content-Type", "image/png")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            else:
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.end_headers()
                self.wfile.write(b"<script>no</script>")

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


def test_pictures_are_cached_once_and_shown(qtbot: object, tmp_path: Path, picture_server: tuple[str, list[str]]) -> None:
    base, hits = picture_server
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(X)
    from dataclasses import replace

    mention = tweet("1")
    store.ingest(X, [replace(mention, author=Author(IdentityKind.TWITTER, "200", "@lea", "Léa", 50, f"{base}/avatar.png"))])
    store.ingest(X, [replace(tweet("2", user="300", handle="@bob"),
                             author=Author(IdentityKind.TWITTER, "300", "@bob", "Bob", 5, f"{base}/page.html"))])

    async def fetch() -> int:
        async with httpx.AsyncClient() as http:
            return await fetch_avatars(store, http)

    assert asyncio.run(fetch()) == 1  # the HTML page is not an image: not kept
    assert asyncio.run(fetch()) == 0 and hits.count("/avatar.png") == 1  # cached: fetched once
    window = build_window(store, language="en")
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    lea = next(c for c in store.queue(QueueFilter()) if c.customer_name == "Léa")
    window.open_conversation(lea.id)
    assert not window.customer.picture.isHidden() and not window.customer.picture.pixmap().isNull()
    bob = next(c for c in store.queue(QueueFilter()) if c.customer_name == "Bob")
    window.open_conversation(bob.id)
    assert window.customer.picture.isHidden()
    window.close()
    store.close()
