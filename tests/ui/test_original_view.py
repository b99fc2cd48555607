"""An HTML mail's original formatting opens from the thread, safely, with every link's real
target shown and a misleading one marked."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Awaitable, Callable, Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QImage, QPixmap, QTextDocument
from pytestqt.qtbot import QtBot

from inbox.app.remote_images import ImageLimits
from inbox.app.window import build_window
from inbox.app.workspace import Workspace
from inbox.cli.importing import import_paths
from inbox.models import QueueFilter
from inbox.store.repository import Store
from inbox.ui.main_window import MainWindow
from inbox.ui.original_view import OfflineBrowser, OriginalView
from tests.image_server import BIG, ImageServer, image_server, png


def phishing(tmp_path: Path) -> Path:
    msg = EmailMessage()
    msg["From"] = "Bank <alerts@bank.example>"
    msg["To"] = "support@shop.example"
    msg["Subject"] = "Your account"
    msg["Message-ID"] = "<p1@bank.example>"
    msg.set_content("Please verify your account.")
    msg.add_alternative(
        "<p>Please <a href='https://evil.example/login'>https://bank.example/login</a></p>"
        "<img src='https://tracker.example/pixel.gif' width='1' height='1'>"
        "<script>alert(1)</script>",
        subtype="html",
    )
    path = tmp_path / "p.eml"
    path.write_bytes(msg.as_bytes())
    return path


def test_original_view_shows_real_link_targets(qtbot: object, tmp_path: Path) -> None:
    store = Store.open(tmp_path / "inbox.db")
    import_paths(store, [phishing(tmp_path)])
    window = build_window(store, language="en")
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    conv = store.queue(QueueFilter())[0]
    window.open_conversation(conv.id)
    assert "inbox:original/" in window.thread_view.toHtml()
    [message] = store.messages(conv.id)
    window._anchor(QUrl(f"inbox:original/{message.id}"))
    view = window.original
    links = [view.links.item(i).text() for i in range(view.links.count())]
    assert links == ["⚠ misleading · https://bank.example/login → https://evil.example/login"]
    shown = view.body.toHtml()
    assert "alert(1)" not in shown and "tracker.example" not in shown
    view.close()
    window.close()
    store.close()


def newsletter(tmp_path: Path, name: str, sender: str, images: list[str]) -> Path:
    msg = EmailMessage()
    msg["From"] = f"{name} <{sender}>"
    msg["To"] = "support@shop.example"
    msg["Subject"] = f"News from {name}"
    msg["Message-ID"] = f"<{name}@news.example>"
    msg.set_content("See the pictures.")
    msg.add_alternative(
        f"<p>Hello from {name}</p>" + "".join(f"<img src='{src}' alt='picture'>" for src in images),
        subtype="html",
    )
    path = tmp_path / f"{name}.eml"
    path.write_bytes(msg.as_bytes())
    return path


@pytest.fixture()
def server() -> Iterator[ImageServer]:
    with image_server() as running:
        yield running


@pytest.fixture()
def two_newsletters(
    qtbot: QtBot, tmp_path: Path, server: ImageServer
) -> Iterator[tuple[MainWindow, Store, dict[str, int]]]:
    """A window over two HTML mails with remote images: A's are a PNG, a file too big, a page
    and a 404; B's one PNG. Loopback image hosts are allowed here (they are not by default)."""
    store = Store.open(tmp_path / "inbox.db")
    base = server.base
    import_paths(
        store,
        [
            newsletter(
                tmp_path,
                "alpha",
                "news@alpha.example",
                [f"{base}/a.png", f"{base}/big.png", f"{base}/page.html", f"{base}/missing.png"],
            ),
            newsletter(tmp_path, "beta", "news@beta.example", [f"{base}/b.png"]),
        ],
    )
    window = build_window(store, language="en")
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)
    workspace = window.services.remote_images
    assert isinstance(workspace, Workspace)
    workspace.image_limits = ImageLimits(private_hosts=True, max_bytes=BIG // 2)
    ids: dict[str, int] = {}
    for conv in store.queue(QueueFilter()):
        [message] = store.messages(conv.id)
        ids["alpha" if "alpha" in conv.subject else "beta"] = message.id
    yield window, store, ids
    window.close()
    store.close()


def open_original(window: MainWindow, message_id: int) -> OriginalView:
    window._anchor(QUrl(f"inbox:original/{message_id}"))
    view = window.original
    assert isinstance(view, OriginalView)
    return view


def run(loop: asyncio.AbstractEventLoop, body: Callable[[], Awaitable[None]]) -> None:
    loop.run_until_complete(asyncio.wait_for(body(), 30))


async def until(check: Callable[[], bool]) -> None:
    while not check():
        await asyncio.sleep(0.02)


def shows_fetched(view: OriginalView, src: str) -> bool:
    """True when the view shows the PNG the server serves (6 px wide) for ``src``."""
    image = view.body.document().resource(QTextDocument.ResourceType.ImageResource, QUrl(src))
    return isinstance(image, QImage) and image.width() == 6


def test_remote_images_load_only_for_the_message_allowed(
    qtbot: QtBot,
    two_newsletters: tuple[MainWindow, Store, dict[str, int]],
    server: ImageServer,
    qasync_loop: asyncio.AbstractEventLoop,
) -> None:
    window, _store, ids = two_newsletters
    base = server.base

    async def body() -> None:
        view = open_original(window, ids["alpha"])
        await asyncio.sleep(0.1)  # time for a request, had the view made one
        assert server.requests == []  # opening the original fetches nothing
        assert view.remote_bar.isVisibleTo(view) and view.load_button.isVisibleTo(view)
        assert view.remote_status.text() == "Remote images are blocked to protect your privacy"
        assert view.load_button.accessibleName() == "Load remote images for this message"
        assert view.load_button.focusPolicy() & Qt.FocusPolicy.TabFocus
        assert "[image blocked: picture]" in view.body.toPlainText()
        qtbot.keyClick(view, Qt.Key.Key_Return)  # Enter in the dialog does not load them
        assert not view.loading() and server.requests == []

        qtbot.keyClick(view.load_button, Qt.Key.Key_Space)
        assert view.remote_status.text() == "Loading 4 images…"
        assert not view.load_button.isVisibleTo(view)
        await until(lambda: not view.loading())
        assert sorted(server.paths) == ["/a.png", "/big.png", "/missing.png", "/page.html"]
        assert view.remote_status.text() == "1 image loaded, 3 could not be loaded"
        assert shows_fetched(view, f"{base}/a.png")
        assert "[image blocked" not in view.body.toPlainText()
        assert f'src="{base}/a.png"' in view.body.toHtml()
        view.close()

        other = open_original(window, ids["beta"])  # another message: still blocked, nothing fetched
        await asyncio.sleep(0.1)
        assert other.load_button.isVisibleTo(other) and "/b.png" not in server.paths
        assert not shows_fetched(other, f"{base}/b.png")
        other.close()

        again = open_original(window, ids["alpha"])  # the same message: allowed without asking
        assert not again.load_button.isVisibleTo(again)
        await until(lambda: not again.loading())
        assert again.remote_status.text() == "1 image loaded, 3 could not be loaded"
        assert shows_fetched(again, f"{base}/a.png")
        again.close()

    run(qasync_loop, body)
    assert "/b.png" not in server.paths


def test_closing_the_view_stops_the_fetch(
    tmp_path: Path,
    two_newsletters: tuple[MainWindow, Store, dict[str, int]],
    server: ImageServer,
    qasync_loop: asyncio.AbstractEventLoop,
) -> None:
    window, store, _ids = two_newsletters
    import_paths(store, [newsletter(tmp_path, "slow", "news@slow.example", [f"{server.base}/slow.png"])])
    [conv] = [c for c in store.queue(QueueFilter()) if "slow" in c.subject]
    [message] = store.messages(conv.id)

    async def body() -> None:
        view = open_original(window, message.id)
        view.load_button.click()
        assert view.loading()
        task = view._task
        assert task is not None
        await until(lambda: bool(server.requests))
        view.close()
        assert not view.loading()
        await asyncio.wait([task])
        assert task.cancelled()
        assert view.remote_status.text() == "Loading 1 image…"  # nothing touched the closed view

    run(qasync_loop, body)


def test_the_view_loads_no_local_file_and_marks_a_missing_image(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "secret.png").write_bytes(png(9, 9))
    monkeypatch.chdir(tmp_path)  # a relative src would resolve here in a plain QTextBrowser
    browser = OfflineBrowser()
    qtbot.addWidget(browser)
    document = browser.document()
    image = QTextDocument.ResourceType.ImageResource
    for src in ("secret.png", f"file://{tmp_path}/secret.png", "https://cdn.example/x.png"):
        loaded = document.resource(image, QUrl(src))
        assert isinstance(loaded, QImage) and loaded.width() == 24, src  # the grey box, not the file
    inline = document.resource(image, QUrl("data:image/png;base64," + base64.b64encode(png(9, 9)).decode()))
    assert isinstance(inline, QImage | QPixmap) and inline.width() == 9  # inline images still show
