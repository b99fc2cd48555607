"""An HTML mail's original formatting opens from the thread, safely, with every link's real
target shown and a misleading one marked."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from PySide6.QtCore import QUrl

from inbox.app import build_window
from inbox.cli.importing import import_paths
from inbox.models import QueueFilter
from inbox.store.repository import Store
from inbox.ui.main_window import MainWindow


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
