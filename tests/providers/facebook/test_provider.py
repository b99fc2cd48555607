"""The Facebook Page provider against a local Graph API (tests/providers/facebook/fake_graph)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TypeVar

import httpx
import pytest

from inbox.errors import AuthError, PermanentError, ProviderError, RateLimited, TransientError
from inbox.models import Account, Author, Channel, Draft, IdentityKind, Message, Surface
from inbox.providers.facebook.provider import FacebookProvider, messenger_window_remaining
from inbox.secrets import MemorySecretStore
from inbox.sync.contract import Provider

from .fake_graph import PAGE_ID, PAGE_TOKEN, USER_TOKEN, FakeGraph

T = TypeVar("T")
NOW = datetime(2021, 9, 1, 12, 0, tzinfo=UTC)
CUSTOMER = "2711636948859886"  # Kun Liu, in the recorded conversation t_587956915396498


def run(
    fake: FakeGraph,
    act: Callable[[FacebookProvider], Awaitable[T]],
    *,
    token: str | None = PAGE_TOKEN,
    last_inbound: Callable[[Draft], datetime | None] | None = None,
    secrets: MemorySecretStore | None = None,
    **settings: str,
) -> T:
    account = Account(
        id=f"facebook:{PAGE_ID}",
        channel=Channel.FACEBOOK,
        name="Facebook for Developers",
        own_keys=frozenset({PAGE_ID}),
        settings={"page_id": PAGE_ID, "history_days": "0"} | settings,
    )
    store = secrets or MemorySecretStore()
    if token is not None:
        store.set(account.id, "page_token", token)

    async def main() -> T:
        async with httpx.AsyncClient(timeout=5.0) as http:
            provider = FacebookProvider(
                account,
                store,
                http,
                base_url=fake.url,
                clock=NOW.timestamp,
                last_inbound=last_inbound,
            )
            contract: Provider = provider  # the shared provider contract, checked by mypy
            async with contract:
                return await act(provider)

    return asyncio.run(main())


async def sync(provider: FacebookProvider, cursor: str | None = None) -> tuple[list[Message], str]:
    """Fetch until no page remains; every message and the final cursor."""
    found: list[Message] = []
    more = True
    while more:
        result = await provider.fetch(cursor)
        found += result.batch.messages
        assert result.cursor is not None
        cursor, more = result.cursor, result.more
    assert cursor is not None
    return found, cursor


def expected_ids(fake: FakeGraph) -> set[str]:
    messages = {m["id"] for c in fake.conversations for m in c["messages"]}
    comments = set()
    for post in fake.posts:
        for comment in post["comments"]:
            link = comment.get("permalink_url", "")
            if "id" in comment:
                comments.add(comment["id"])
            else:  # recorded without "id": the id the permalink names
                post_id = link.split("/posts/")[1].split("/")[0]
                last = link.rsplit("=", 1)[1]
                comments.add(f"{post_id}_{last}")
    return messages | comments


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        assert PAGE_TOKEN not in text and USER_TOKEN not in text


def test_check_accepts_the_page_token(fake_graph: FakeGraph) -> None:
    run(fake_graph, lambda p: p.check())
    paths = [r.path for r in fake_graph.requests]
    assert paths == ["/v23.0/me", f"/v23.0/{PAGE_ID}/conversations"]
    assert all(r.authorization == f"Bearer {PAGE_TOKEN}" for r in fake_graph.requests)
    assert all("access_token" not in r.query for r in fake_graph.requests)


def test_check_refuses_a_user_token_with_a_clear_message(fake_graph: FakeGraph) -> None:
    with pytest.raises(PermanentError) as caught:
        run(fake_graph, lambda p: p.check(), token=USER_TOKEN)
    assert "user access token" in str(caught.value) and "Page token" in str(caught.value)
    assert_no_secret(str(caught.value))


def test_check_with_an_expired_or_missing_token_asks_for_sign_in(fake_graph: FakeGraph) -> None:
    fake_graph.fail("/me", "expired")
    with pytest.raises(AuthError) as caught:
        run(fake_graph, lambda p: p.check())
    assert "needs sign-in" in str(caught.value) and "Session has expired" in str(caught.value)
    assert_no_secret(str(caught.value))
    with pytest.raises(AuthError, match="no Page token"):
        run(fake_graph, lambda p: p.check(), token=None)
    with pytest.raises(AuthError, match="Invalid OAuth access token"):
        run(fake_graph, lambda p: p.check(), token="EAA-not-a-token")


@pytest.mark.parametrize("page_size", [1, 2, 25])
def test_paging_yields_every_message_and_comment_exactly_once(
    fake_graph: FakeGraph, page_size: int
) -> None:
    fake_graph.max_limit = page_size
    messages, _ = run(fake_graph, sync)
    ids = [m.provider_id for m in messages]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected_ids(fake_graph)
    assert len(ids) == 36  # 5 Messenger messages, 31 comments
    messenger = [m for m in messages if m.surface is Surface.MESSENGER]
    assert {m.thread_key for m in messenger} == {
        f"fb:psid:{PAGE_ID}:{CUSTOMER}",
        f"fb:psid:{PAGE_ID}:120042743874449",
        f"fb:psid:{PAGE_ID}:4400",
    }
    assert {m.author.key for m in messenger if m.direction.value == "out"} == {PAGE_ID}
    comments = [m for m in messages if m.surface is Surface.COMMENT]
    assert "fb:post:10158407654328553" in {m.thread_key for m in comments}
    if page_size == 1:  # nested edges were followed through their own pages
        paths = {r.path for r in fake_graph.requests}
        assert "/v23.0/t_587956915396498/messages" in paths
        assert f"/v23.0/{PAGE_ID}_10158407654328553/comments" in paths


def test_an_incremental_fetch_returns_only_what_is_new(fake_graph: FakeGraph) -> None:
    fake_graph.max_limit = 2
    _, cursor = run(fake_graph, sync)
    again, cursor = run(fake_graph, lambda p: sync(p, cursor))
    assert again == []
    mid = fake_graph.add_message(
        "t_587956915396498", "any news?", "2021-09-01T11:00:00+0000", CUSTOMER
    )
    comment = fake_graph.add_comment(0, "me too", "2021-09-01T11:05:00+0000", "555")
    new, cursor = run(fake_graph, lambda p: sync(p, cursor))
    assert sorted(m.provider_id for m in new) == sorted([mid, comment])
    (message,) = [m for m in new if m.provider_id == mid]
    assert message.thread_key == f"fb:psid:{PAGE_ID}:{CUSTOMER}" and message.text == "any news?"
    since = [r.query.get("since") for r in fake_graph.requests if r.path.endswith("/conversations")]
    assert since[-1] is not None  # the API was asked for recent conversations only
    last, _ = run(fake_graph, lambda p: sync(p, cursor))
    assert last == []


def test_a_message_that_shows_up_late_is_not_lost(fake_graph: FakeGraph) -> None:
    _, cursor = run(fake_graph, sync)  # the newest message seen: 2021-07-23T10:24:23
    late = fake_graph.add_message("t_233782918546745", "late", "2021-07-23T10:20:00+0000", "4400")
    found, cursor = run(fake_graph, lambda p: sync(p, cursor))
    assert [m.provider_id for m in found] == [late]
    again, _ = run(fake_graph, lambda p: sync(p, cursor))
    assert again == []


def test_a_first_sync_reads_only_the_configured_history(fake_graph: FakeGraph) -> None:
    fake_graph.add_message("t_233782918546745", "recent", "2021-08-31T12:00:00+0000", "4400")
    messages, _ = run(fake_graph, sync, history_days="10")
    assert [m.text for m in messages] == ["recent"]


@pytest.mark.parametrize("kind", ["throttle4", "throttle17", "throttle32", "throttle613"])
def test_graph_throttling_is_rate_limited_with_the_announced_wait(
    fake_graph: FakeGraph, kind: str
) -> None:
    fake_graph.fail("/feed", kind)
    with pytest.raises(RateLimited) as caught:
        run(fake_graph, lambda p: p.fetch(None))
    assert caught.value.retry_after >= 7 * 60  # estimated_time_to_regain_access: 7 minutes
    assert_no_secret(str(caught.value))


def test_an_expired_token_during_a_sync_needs_sign_in(fake_graph: FakeGraph) -> None:
    fake_graph.fail("/conversations", "expired")
    with pytest.raises(AuthError, match="needs sign-in"):
        run(fake_graph, lambda p: p.fetch(None))


@pytest.mark.parametrize("kind", ["500", "503", "drop"])
def test_server_failures_are_transient_and_the_cursor_does_not_advance(
    fake_graph: FakeGraph, kind: str
) -> None:
    fake_graph.max_limit = 1

    async def interrupted(provider: FacebookProvider) -> list[str]:
        first = await provider.fetch(None)
        assert first.more and first.cursor
        fake_graph.fail("/conversations", kind)
        with pytest.raises(TransientError) as caught:
            await provider.fetch(first.cursor)
        assert not isinstance(caught.value, RateLimited)
        assert_no_secret(str(caught.value))
        rest, _ = await sync(provider, first.cursor)  # the old cursor, again
        return [m.provider_id for m in first.batch.messages + tuple(rest)]

    ids = run(fake_graph, interrupted)
    assert len(ids) == len(set(ids)) and set(ids) == expected_ids(fake_graph)


def test_high_app_usage_pauses_before_the_next_request(fake_graph: FakeGraph) -> None:
    fake_graph.app_usage = {"call_count": 97, "total_cputime": 10, "total_time": 12}
    fake_graph.max_limit = 1

    async def two(provider: FacebookProvider) -> None:
        await provider.check()

    with pytest.raises(RateLimited) as caught:
        run(fake_graph, two)
    assert caught.value.retry_after > 0
    assert len(fake_graph.requests) == 1  # /me answered; the next call was not sent


def draft(surface: Surface, **fields: object) -> Draft:
    values: dict[str, object] = {
        "local_id": "local-1",
        "account_id": f"facebook:{PAGE_ID}",
        "conversation_id": 7,
        "channel": Channel.FACEBOOK,
        "surface": surface,
        "text": "Thanks for writing, we are on it.",
    }
    return Draft(**(values | fields))  # type: ignore[arg-type]


def test_a_messenger_reply_is_a_standard_response(fake_graph: FakeGraph) -> None:
    reply = draft(Surface.MESSENGER, thread_key=f"fb:psid:{PAGE_ID}:{CUSTOMER}")
    sent = run(
        fake_graph, lambda p: p.send(reply), last_inbound=lambda d: NOW - timedelta(hours=23)
    )
    assert sent == "m_sent1"
    (post,) = fake_graph.posted()
    assert post.path == f"/v23.0/{PAGE_ID}/messages"
    assert post.body == {
        "recipient": {"id": CUSTOMER},
        "messaging_type": "RESPONSE",
        "message": {"text": "Thanks for writing, we are on it."},
    }
    by_recipient = draft(Surface.MESSENGER, recipient=Author(IdentityKind.FACEBOOK, "999"))
    run(fake_graph, lambda p: p.send(by_recipient))
    assert fake_graph.posted()[-1].body["recipient"] == {"id": "999"}


def test_a_reply_whose_answer_is_cut_may_have_been_sent(fake_graph: FakeGraph) -> None:
    """Graph received the reply but the connection dropped mid-answer: the error keeps saying the
    reply may have been sent (``unsure``) after the token is scrubbed from it, so the outbox
    never sends it a second time blindly."""
    fake_graph.fail("/messages", "drop")
    reply = draft(Surface.MESSENGER, thread_key=f"fb:psid:{PAGE_ID}:{CUSTOMER}")
    with pytest.raises(TransientError) as caught:
        run(fake_graph, lambda p: p.send(reply), last_inbound=lambda d: NOW - timedelta(hours=1))
    assert caught.value.unsure
    assert isinstance(caught.value.__cause__, httpx.TransportError)
    assert_no_secret(str(caught.value))
    assert [r.path for r in fake_graph.posted()] == [f"/v23.0/{PAGE_ID}/messages"]


def test_a_messenger_reply_outside_24_hours_is_refused_before_any_request(
    fake_graph: FakeGraph,
) -> None:
    reply = draft(Surface.MESSENGER, thread_key=f"fb:psid:{PAGE_ID}:{CUSTOMER}")
    last = NOW - timedelta(hours=24, minutes=1)
    with pytest.raises(PermanentError, match="outside Messenger's 24-hour window") as caught:
        run(fake_graph, lambda p: p.send(reply), last_inbound=lambda d: last)
    assert "2021-08-31 11:59 UTC" in str(caught.value)
    assert fake_graph.requests == []


def test_the_window_rule_enforced_by_facebook_is_permanent_not_auth(fake_graph: FakeGraph) -> None:
    fake_graph.fail("/messages", "window")
    reply = draft(Surface.MESSENGER, thread_key=f"fb:psid:{PAGE_ID}:{CUSTOMER}")
    with pytest.raises(PermanentError, match="24-hour window"):
        run(fake_graph, lambda p: p.send(reply))


def test_messenger_window_remaining() -> None:
    assert messenger_window_remaining(NOW - timedelta(hours=23), NOW) == 3600.0
    assert messenger_window_remaining(NOW - timedelta(hours=30), NOW) == 0.0
    assert messenger_window_remaining(NOW, NOW) == 24 * 3600.0


def test_a_comment_reply_goes_under_the_comment_answered(fake_graph: FakeGraph) -> None:
    answer = "10158407654328553_10158407903973553"
    reply = draft(Surface.COMMENT, reply_to_id=answer, thread_key="fb:post:10158407654328553")
    sent = run(fake_graph, lambda p: p.send(reply))
    (post,) = fake_graph.posted()
    assert post.path == f"/v23.0/{answer}/comments"
    assert post.body == {"message": "Thanks for writing, we are on it."}
    assert sent.startswith("10158407654328553_")
    on_post = draft(Surface.COMMENT, thread_key="fb:post:10158407654328553")
    run(fake_graph, lambda p: p.send(on_post))
    assert fake_graph.posted()[-1].path == f"/v23.0/{PAGE_ID}_10158407654328553/comments"


def test_a_private_reply_answers_a_commenter_in_messenger(fake_graph: FakeGraph) -> None:
    reply = draft(Surface.COMMENT, reply_to_id="10158407654328553_10158408043788553")
    sent = run(fake_graph, lambda p: p.send_private_reply(reply))
    assert sent == "m_sent1"
    assert fake_graph.posted()[0].body == {
        "recipient": {"comment_id": "10158407654328553_10158408043788553"},
        "message": {"text": "Thanks for writing, we are on it."},
    }


def test_the_outbox_private_reply_draft_goes_out_through_send(fake_graph: FakeGraph) -> None:
    # What inbox.replies.compose.compose_reply(..., dm=True) makes of a comment: Messenger, no thread yet.
    reply = draft(Surface.MESSENGER, reply_to_id="10158407654328553_10158408043788553")
    run(fake_graph, lambda p: p.send(reply))
    assert fake_graph.posted()[0].body == {
        "recipient": {"comment_id": "10158407654328553_10158408043788553"},
        "message": {"text": "Thanks for writing, we are on it."},
    }


def test_replies_that_cannot_go_out_are_refused_locally(fake_graph: FakeGraph) -> None:
    cases = [
        draft(Surface.MESSENGER),  # no recipient at all
        draft(Surface.MESSENGER, thread_key="fb:psid:111:222"),  # another Page's thread
        draft(Surface.MESSENGER, thread_key=f"fb:psid:{PAGE_ID}:1", text="x" * 2001),
        draft(Surface.DM, thread_key=f"fb:psid:{PAGE_ID}:1"),
        draft(Surface.COMMENT),
    ]
    for refused in cases:
        with pytest.raises(PermanentError):
            run(fake_graph, lambda p, d=refused: p.send(d))  # type: ignore[misc]
    assert fake_graph.requests == []


def test_sign_in_with_facebook_login_for_devices(fake_graph: FakeGraph) -> None:
    fake_graph.max_limit = 2
    secrets = MemorySecretStore()
    secrets.set(f"facebook:{PAGE_ID}", "client_token", "client-SECRET-abc")

    async def sign_in(provider: FacebookProvider) -> str:
        login = await provider.device_login_start()
        assert login.user_code == "A1NWZ9" and "facebook.com/device" in login.verification_uri
        assert "device-code" not in repr(login)
        assert await provider.device_login_poll(login) is None  # not approved yet
        user_token = await provider.device_login_poll(login)
        assert user_token == USER_TOKEN
        pages = await provider.pages_for_user(user_token)
        assert len(pages) == 7  # every page of me/accounts was read
        (ours,) = [p for p in pages if p.id == PAGE_ID]
        assert PAGE_TOKEN not in repr(ours) and PAGE_TOKEN not in repr(pages)
        provider.adopt_page(ours)
        await provider.check()
        return repr(provider)

    shown = run(fake_graph, sign_in, token=None, secrets=secrets, app_id="1234567890")
    assert_no_secret(shown)
    assert secrets.get(f"facebook:{PAGE_ID}", "page_token") == PAGE_TOKEN
    device = [r for r in fake_graph.requests if r.path.startswith("/v23.0/device/")]
    assert device and all(r.query == {} for r in device)  # the app token went in the body


def test_tokens_never_reach_urls_errors_or_repr(fake_graph: FakeGraph) -> None:
    fake_graph.max_limit = 1
    failures: list[str] = []
    for kind in ("expired", "throttle613", "500", "drop"):
        fake_graph.fail("/feed", kind)
        try:
            run(fake_graph, sync)
        except ProviderError as exc:
            failures += [str(exc), repr(exc), str(exc.__cause__ or "")]
    assert len(failures) == 12
    assert_no_secret(*failures)
    assert all("access_token" not in r.query for r in fake_graph.requests)
    assert_no_secret(repr(run(fake_graph, lambda p: asyncio.sleep(0, p))))
