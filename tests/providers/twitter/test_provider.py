"""The X provider against the fake X API server: paging, increments, tokens, failures, sends."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

import httpx
import pytest

from inbox.errors import AuthError, PermanentError, RateLimited, TransientError
from inbox.models import Account, Author, Channel, Draft, IdentityKind, Message, Surface
from inbox.providers.twitter import XProvider
from inbox.secrets import MemorySecretStore
from inbox.sync.contract import FetchResult
from tests.providers.twitter.fake_x import CLIENT_ID, OWN_USER, FakeX

pytestmark = pytest.mark.anyio

ACCOUNT = Account(
    id=f"twitter:{OWN_USER['id']}",
    channel=Channel.TWITTER,
    name="@TwitterDev",
    own_keys=frozenset({OWN_USER["id"]}),
    settings={"user_id": OWN_USER["id"], "username": "TwitterDev", "client_id": CLIENT_ID},
)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@asynccontextmanager
async def connected(
    fake: FakeX, *, expires_in: float = 7200, clock: Callable[[], float] = time.time
) -> AsyncIterator[tuple[XProvider, MemorySecretStore]]:
    store = MemorySecretStore()
    access, refresh = fake.issue_tokens()
    store.set(ACCOUNT.id, "access_token", access)
    store.set(ACCOUNT.id, "refresh_token", refresh)
    store.set(ACCOUNT.id, "expires_at", f"{clock() + expires_in:.0f}")
    async with httpx.AsyncClient(timeout=10) as http:
        async with XProvider(ACCOUNT, store, http, base_url=fake.url, clock=clock) as provider:
            yield provider, store


async def sync(provider: XProvider, cursor: str | None) -> tuple[list[Message], str | None]:
    """Fetch until no page remains, as the sync service does."""
    messages: list[Message] = []
    while True:
        result = await provider.fetch(cursor)
        messages.extend(result.batch.messages)
        cursor = result.cursor
        if not result.more:
            return messages, cursor


def reply(text: str, to: str = "1364398068313903104") -> Draft:
    return Draft("local-1", ACCOUNT.id, 1, Channel.TWITTER, Surface.MENTION, text, reply_to_id=to)


async def test_paging_yields_every_tweet_and_dm_exactly_once(fake_x: FakeX) -> None:
    async with connected(fake_x) as (provider, _store):
        messages, cursor = await sync(provider, None)
    ids = [m.provider_id for m in messages]
    assert len(ids) == len(set(ids))
    mentions = {t["id"] for t in fake_x.mentions.items}
    own = {t["id"] for t in fake_x.own.items}
    dms = {f"dm:{e['id']}" for e in fake_x.dms.items}
    assert set(ids) == mentions | own | dms
    assert len(fake_x.requests_to("/2/users/2244994945/mentions")) == 2  # 105 tweets, 100 a page
    first = fake_x.requests_to("/2/users/2244994945/mentions")[0].query
    assert "author_id" in first["expansions"] and "note_tweet" in first["tweet.fields"]
    assert cursor is not None
    state = json.loads(cursor)
    assert state["mentions_since"] == max(mentions, key=int)
    assert "pending" not in state
    reply_msg = next(m for m in messages if m.provider_id == "1380242549785366530")
    assert reply_msg.author.handle == "@ChrisFromGA68"
    assert reply_msg.reply_to_id == "1380241441637625860"
    ours = [m for m in messages if m.provider_id in own]
    assert {m.author.key for m in ours} == {OWN_USER["id"]}  # the store marks them outbound


async def test_since_id_brings_only_what_is_new(fake_x: FakeX) -> None:
    async with connected(fake_x) as (provider, _store):
        _, cursor = await sync(provider, None)
        newest = json.loads(cursor or "{}")["mentions_since"]
        fake_x.requests.clear()
        new_tweet = fake_x.add_mention("@TwitterDev my order never arrived")
        new_dm = fake_x.add_dm("hello, any news?")
        messages, cursor = await sync(provider, cursor)
    assert [m.provider_id for m in messages] == [new_tweet, f"dm:{new_dm}"]
    (mentions_call,) = fake_x.requests_to("/2/users/2244994945/mentions")
    assert mentions_call.query["since_id"] == newest
    assert json.loads(cursor or "{}")["mentions_since"] == new_tweet
    assert json.loads(cursor or "{}")["dm_since_event"] == new_dm


async def test_rate_limit_is_rate_limited_with_wait_from_the_reset_header(fake_x: FakeX) -> None:
    reset = int(time.time()) + 900
    fake_x.fail("/2/users/", 429, reset=reset)
    async with connected(fake_x) as (provider, _store):
        with pytest.raises(RateLimited) as caught:
            await provider.fetch(None)
        result = await provider.fetch(None)
    assert 800 < caught.value.retry_after <= 900
    assert datetime.fromisoformat(result.info["rate_limit_reset"]).timestamp() == pytest.approx(
        fake_x.rate_limit_reset
    )


@pytest.mark.parametrize("status", [500, 503, 0])
async def test_server_errors_and_dropped_pages_are_transient_and_keep_the_cursor(
    fake_x: FakeX, status: int
) -> None:
    async with connected(fake_x) as (provider, _store):
        first: FetchResult = await provider.fetch(None)
        assert first.more
        fake_x.fail("/2/users/", status)
        with pytest.raises(TransientError):
            await provider.fetch(first.cursor)
        second = await provider.fetch(first.cursor)  # the same cursor again: nothing skipped
    seen = {m.provider_id for m in first.batch.messages} | {
        m.provider_id for m in second.batch.messages
    }
    assert seen == {t["id"] for t in fake_x.mentions.items}


async def test_token_is_refreshed_when_less_than_five_minutes_remain(fake_x: FakeX) -> None:
    clock = Clock()
    async with connected(fake_x, expires_in=240, clock=clock) as (provider, store):
        old_refresh = store.get(ACCOUNT.id, "refresh_token")
        await provider.fetch(None)
    token_calls = fake_x.requests_to("/2/oauth2/token", "POST")
    assert [c.body["grant_type"] for c in token_calls] == ["refresh_token"]
    assert fake_x.requests[0].path == "/2/oauth2/token"  # before the first API call
    assert store.get(ACCOUNT.id, "refresh_token") != old_refresh
    assert old_refresh not in fake_x.refresh_tokens  # X refresh tokens are single-use
    assert float(store.get(ACCOUNT.id, "expires_at") or 0) == pytest.approx(clock.now + 7200)
    api_call = fake_x.requests_to("/2/users/")[0]
    assert api_call.authorization == f"Bearer {store.get(ACCOUNT.id, 'access_token')}"


async def test_token_with_time_left_is_not_refreshed(fake_x: FakeX) -> None:
    async with connected(fake_x, expires_in=3600) as (provider, _store):
        await provider.fetch(None)
    assert not fake_x.requests_to("/2/oauth2/token", "POST")


async def test_access_token_refused_early_is_refreshed_once_and_retried(fake_x: FakeX) -> None:
    async with connected(fake_x) as (provider, _store):
        fake_x.expire_access_tokens()
        result = await provider.fetch(None)
    assert result.batch.messages
    assert len(fake_x.requests_to("/2/oauth2/token", "POST")) == 1


async def test_revoked_tokens_need_sign_in_and_never_show_the_tokens(fake_x: FakeX) -> None:
    async with connected(fake_x, expires_in=60) as (provider, store):
        fake_x.revoke_all()
        with pytest.raises(AuthError) as caught:
            await provider.fetch(None)
        provider_repr = repr(provider)
    assert "sign-in" in str(caught.value)
    secrets = [store.get(ACCOUNT.id, "access_token"), store.get(ACCOUNT.id, "refresh_token")]
    for secret in filter(None, secrets):
        assert secret not in str(caught.value)
        assert secret not in repr(caught.value)
        assert secret not in str(caught.value.__cause__)
        assert secret not in provider_repr
        assert secret not in repr(store)


async def test_api_errors_never_show_the_tokens(fake_x: FakeX) -> None:
    errors: list[BaseException] = []
    async with connected(fake_x) as (provider, store):
        for status in (401, 429, 503, 0):
            fake_x.fail("/2/", status)
            fake_x.fail("/2/", 401)  # for 401: the retry after refresh is refused too
            try:
                await provider.fetch(None)
            except (AuthError, TransientError) as exc:
                errors.append(exc)
            fake_x.faults.clear()
        secrets = [store.get(ACCOUNT.id, "access_token"), store.get(ACCOUNT.id, "refresh_token")]
    assert len(errors) == 4
    for error in errors:
        for secret in filter(None, secrets):
            assert secret not in f"{error} {error!r} {error.__cause__} {error.__cause__!r}"


async def test_reply_is_posted_to_tweets_with_the_tweet_it_answers(fake_x: FakeX) -> None:
    async with connected(fake_x) as (provider, _store):
        new_id = await provider.send(reply("Thanks, we are on it!"))
    (post,) = fake_x.requests_to("/2/tweets", "POST")
    assert post.body == {
        "text": "Thanks, we are on it!",
        "reply": {"in_reply_to_tweet_id": "1364398068313903104"},
    }
    assert new_id.isdigit()


async def test_dm_is_posted_to_the_participant(fake_x: FakeX) -> None:
    customer = Author(IdentityKind.TWITTER, "906948460078698496", "@someone")
    draft = Draft("local-2", ACCOUNT.id, 2, Channel.TWITTER, Surface.DM, "Hi!", recipient=customer)
    async with connected(fake_x) as (provider, _store):
        new_id = await provider.send(draft)
        by_thread = Draft(
            "local-3",
            ACCOUNT.id,
            2,
            Channel.TWITTER,
            Surface.DM,
            "And again",
            thread_key=f"x:dm:906948460078698496-{OWN_USER['id']}",
        )
        await provider.send(by_thread)
    posts = fake_x.requests_to("/2/dm_conversations/with/", "POST")
    assert [p.path for p in posts] == ["/2/dm_conversations/with/906948460078698496/messages"] * 2
    assert posts[0].body == {"text": "Hi!"}
    assert new_id.startswith("dm:") and new_id[3:].isdigit()


async def test_too_long_reply_is_refused_before_any_request(fake_x: FakeX) -> None:
    async with connected(fake_x, expires_in=10) as (provider, _store):
        with pytest.raises(PermanentError, match="280"):
            await provider.send(reply("日本語" * 47))  # 141 CJK characters weigh 282
    assert fake_x.requests == []


async def test_check_refuses_tokens_of_another_account(fake_x: FakeX) -> None:
    other = Account(
        id="twitter:1", channel=Channel.TWITTER, name="@other", settings={"user_id": "1"}
    )
    store = MemorySecretStore()
    store.set(other.id, "access_token", fake_x.issue_tokens()[0])
    async with httpx.AsyncClient(timeout=10) as http:
        with pytest.raises(AuthError, match="TwitterDev"):
            await XProvider(other, store, http, base_url=fake_x.url).check()
        store.delete(other.id, "access_token")
        with pytest.raises(AuthError, match="needs sign-in"):
            await XProvider(other, store, http, base_url=fake_x.url).check()
