"""The window says why a reply waits and lets the agent decide the one it waits for."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from PySide6.QtCore import QUrl

from inbox.app.window import build_window
from inbox.models import OutboxState, QueueFilter
from inbox.replies.outbox import Outbox
from inbox.store.repository import Store
from inbox.ui.main_window import MainWindow
from tests.factories import MAILBOX, mail

HELD = "waiting: an earlier reply may have been sent, decide it first"


def test_held_replies_say_why_and_the_uncertain_one_is_decided_from_the_thread(
    qtbot: object, tmp_path: Path
) -> None:
    store = Store.open(tmp_path / "inbox.db")
    store.save_account(MAILBOX)
    store.ingest(MAILBOX, [mail("<q1@example.fr>")])
    conv = store.queue(QueueFilter())[0]
    outbox = Outbox(store, clock=lambda: datetime.now(UTC))
    ids = [outbox.reply(conv.id, f"Answer {n}").draft.local_id for n in (1, 2, 3)]
    store.set_outbox_state(ids[0], OutboxState.UNCERTAIN, datetime.now(UTC), error="may have been sent")

    window = build_window(store, language="en")
    assert isinstance(window, MainWindow)
    qtbot.addWidget(window)  # type: ignore[attr-defined]
    window.open_conversation(conv.id)
    page = window.thread_view.toPlainText()
    assert page.count(HELD) == 2 and "may have been sent" in page
    html = window.thread_view.toHtml()
    for action in ("mark-sent", "resend", "drop"):
        assert f"inbox:outbox/{action}/{quote(ids[0], safe='')}" in html

    window._anchor(QUrl(f"inbox:outbox/mark-sent/{quote(ids[0], safe='')}"))  # on the store's writer
    qtbot.waitUntil(lambda: HELD not in window.thread_view.toPlainText())  # type: ignore[attr-defined]
    first = store.outbox_item(ids[0])
    assert first is not None and first.state is OutboxState.SENT
    page = window.thread_view.toPlainText()
    assert HELD not in page and "waiting: an earlier reply goes first" in page  # 3 after 2, both queued
    window._anchor(QUrl(f"inbox:outbox/resend/{quote(ids[0], safe='')}"))  # decided already
    qtbot.waitUntil(lambda: "is sent" in window.statusBar().currentMessage())  # type: ignore[attr-defined]
    window.close()
    store.close()
