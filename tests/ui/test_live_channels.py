"""Replying from the window on X and Facebook: the reply reaches the local fake service on the
surface the customer used (public reply to the tweet, Messenger to the PSID), exactly once."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from inbox.models import Account, Channel, QueueFilter, Status, Surface
from inbox.secrets import MemorySecretStore
from inbox.store.repository import Store
from tests.providers.facebook.fake_graph import PAGE_ID, PAGE_TOKEN, FakeGraph, fake_graph  # noqa: F401
from tests.providers.twitter.fake_x import CLIENT_ID, OWN_USER, FakeX, fake_x  # noqa: F401
from tests.ui.test_live_window import live_app, loop, until  # noqa: F401

pytestmark = pytest.mark.servers


def reply_from_window(
    loop: asyncio.AbstractEventLoop,  # noqa: F811
    qtbot: object,
    store: Store,
    secrets: MemorySecretStore,
    pick: Callable[[Store], int],
    delivered: Callable[[], int],
    text: str,
    privately: bool = False,
) -> None:
    window, live = live_app(store, secrets, qtbot)

    async def body() -> None:
        await live.start()
        try:
            await until(lambda: "up_to_date" in window.account_label.text())
            cid = pick(store)
            window.open_conversation(cid)
            assert window.current_conversation() is not None
            assert window.current_conversation().id == cid  # type: ignore[union-attr]
            if privately:
                assert window.composer.private.isVisible()
                window.composer.private.setChecked(True)
            window.composer.editor.setFocus()
            qtbot.keyClicks(window.composer.editor, text)  # type: ignore[attr-defined]
            qtbot.keyClick(window.composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)  # type: ignore[attr-defined]
            await until(lambda: delivered() == 1)
            await asyncio.sleep(1.0)
            assert delivered() == 1
        finally:
            await live.stop()

    loop.run_until_complete(asyncio.wait_for(body(), 150))
    window.close()


def x_workspace(tmp_path: Path, fake_x: FakeX) -> tuple[Store, MemorySecretStore]:  # noqa: F811
    """A store with the fake X account signed in (tokens the fake accepts)."""
    store = Store.open(tmp_path / "inbox.db")
    account = Account(f"twitter:{OWN_USER['id']}", Channel.TWITTER, "@TwitterDev", frozenset({OWN_USER["id"]}),
                      {"user_id": OWN_USER["id"], "username": "TwitterDev", "client_id": CLIENT_ID, "base_url": fake_x.url})
    store.save_account(account)
    secrets = MemorySecretStore()
    access, refresh = fake_x.issue_tokens()
    secrets.set(account.id, "access_token", access)
    secrets.set(account.id, "refresh_token", refresh)
    secrets.set(account.id, "expires_at", f"{datetime.now(UTC).timestamp() + 7200:.0f}")
    return store, secrets


def test_x_public_reply_goes_to_the_tweet(
    tmp_path: Path, qtbot: object, loop: asyncio.AbstractEventLoop, fake_x: FakeX  # noqa: F811
) -> None:
    store, secrets = x_workspace(tmp_path, fake_x)
    tweet_id = fake_x.add_mention("@TwitterDev my order never arrived")

    def pick(s: Store) -> int:
        for conv in s.queue(QueueFilter(channel=Channel.TWITTER), limit=1000):
            if any(m.provider_id == tweet_id for m in s.messages(conv.id)):
                assert conv.surface is Surface.MENTION and conv.status is Status.NEW
                return conv.id
        raise AssertionError("the new mention is not in the queue")

    posts = lambda: len(fake_x.requests_to("/2/tweets", "POST"))  # noqa: E731
    reply_from_window(loop, qtbot, store, secrets, pick, posts, "Sorry! Checking your order now.")
    body = fake_x.requests_to("/2/tweets", "POST")[0].body
    assert body == {"text": "Sorry! Checking your order now.", "reply": {"in_reply_to_tweet_id": tweet_id}}
    store.close()


def test_messenger_reply_goes_to_the_customer_psid(
    tmp_path: Path, qtbot: object, loop: asyncio.AbstractEventLoop, fake_graph: FakeGraph  # noqa: F811
) -> None:
    store = Store.open(tmp_path / "inbox.db")
    account = Account(f"facebook:{PAGE_ID}", Channel.FACEBOOK, "Page", frozenset({PAGE_ID}),
                      {"page_id": PAGE_ID, "history_days": "0", "base_url": fake_graph.url})
    store.save_account(account)
    secrets = MemorySecretStore()
    secrets.set(account.id, "page_token", PAGE_TOKEN)
    conversation = fake_graph.conversations[0]
    customer = next(p["id"] for p in conversation["participants"]["data"] if p["id"] != PAGE_ID)
    fake_graph.add_message(conversation["id"], "any news about my order?",
                           datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S+0000"), customer)

    def pick(s: Store) -> int:
        for conv in s.queue(QueueFilter(channel=Channel.FACEBOOK), limit=1000):
            if conv.surface is Surface.MESSENGER and any(m.text == "any news about my order?" for m in s.messages(conv.id)):
                return conv.id
        raise AssertionError("the new Messenger message is not in the queue")

    sends = lambda: len([r for r in fake_graph.posted() if r.path.endswith(f"/{PAGE_ID}/messages")])  # noqa: E731
    reply_from_window(loop, qtbot, store, secrets, pick, sends, "Hello! It ships today.")
    post = [r for r in fake_graph.posted() if r.path.endswith(f"/{PAGE_ID}/messages")][0]
    assert post.body == {"recipient": {"id": customer}, "messaging_type": "RESPONSE", "message": {"text": "Hello! It ships today."}}
    store.close()


def test_x_public_complaint_moved_to_dm(
    tmp_path: Path, qtbot: object, loop: asyncio.AbstractEventLoop, fake_x: FakeX  # noqa: F811
) -> None:
    store, secrets = x_workspace(tmp_path, fake_x)
    author = "1181341904765628416"
    tweet_id = fake_x.add_mention("@TwitterDev this is a disgrace, my account number is 4411", author_id=author)

    def pick(s: Store) -> int:
        for conv in s.queue(QueueFilter(channel=Channel.TWITTER), limit=1000):
            if any(m.provider_id == tweet_id for m in s.messages(conv.id)):
                return conv.id
        raise AssertionError("the new mention is not in the queue")

    dms = lambda: len(fake_x.requests_to("/2/dm_conversations/with/", "POST"))  # noqa: E731
    reply_from_window(loop, qtbot, store, secrets, pick, dms, "Sorry! Let's sort this out here.", privately=True)
    post = fake_x.requests_to("/2/dm_conversations/with/", "POST")[0]
    assert post.path == f"/2/dm_conversations/with/{author}/messages"
    assert post.body == {"text": "Sorry! Let's sort this out here."}
    assert fake_x.requests_to("/2/tweets", "POST") == []  # nothing said in public
    store.close()
