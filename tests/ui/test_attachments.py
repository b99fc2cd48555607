"""Attachments are kept beside the store (size-limited, content-addressed, user-only files) and
offered as files to save, never rendered."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from inbox.app.window import build_window
from inbox.cli.importing import import_paths
from inbox.models import QueueFilter
from inbox.store.repository import Store
from inbox.ui.main_window import MainWindow

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40


def mail_with_invoice(tmp_path: Path) -> Path:
    msg = EmailMessage()
    msg["From"] = "Léa <lea@example.fr>"
    msg["To"] = "support@shop.example"
    msg["Subject"] = "Invoice attached"
    msg["Message-ID"] = "<inv1@example.fr>"
    msg["Date"] = "Fri, 20 Nov 2026 10:00:00 +0100"
    msg.set_content("Here is the invoice.")
    msg.add_attachment(PDF, maintype="application", subtype="pdf", filename="facture-4411.pdf")
    path = tmp_path / "inv.eml"
    path.write_bytes(msg.as_bytes())
    return path


def test_attachment_is_kept_and_saved_where_the_agent_chooses(qtbot: object, tmp_path: Path) -> None:
    store = Store.open(tmp_path / "data" / "inbox.db")
    import_paths(store, [mail_with_invoice(tmp_path)])
    import_paths(store, [mail_with_invoice(tmp_path)])  # again: nothing new
    conv = store.queue(QueueFilter())[0]
    [message] = store.messages(conv.id)
    [kept] = store.attachment_files(message.id)
    assert kept.filename == "facture-4411.pdf" and kept.size == len(PDF)
    assert kept.path.read_bytes() == PDF and kept.path.stat().st_mode & 0o077 == 0
    assert kept.path.is_relative_to(tmp_path / "data" / "attachments")

    window = build_window(store, language="en")
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.open_conversation(conv.id)
    assert f"inbox:attachment/{kept.id}" in window.thread_view.toHtml()
    target = tmp_path / "saved.pdf"
    assert window.save_attachment(kept.id, target)
    assert target.read_bytes() == PDF
    window.close()
    store.close()
