"""The X API v2 provider: mentions, our own posts and DMs in; replies and DMs out.

``fetch`` walks three streams one page per call, in order: mentions
(``GET /2/users/:id/mentions`` with ``since_id``), our own posts (``GET /2/users/:id/tweets``, so
replies written on x.com appear as outbound), and DM events (``GET /2/dm_events``, which has no
``since_id``: paging stops at the newest event already seen). The cursor is JSON::

    {"mentions_since": id, "own_since": id, "dm_since_event": id,
     "pending": {"stream": "mentions" | "own" | "dm", "token": next_token, "newest": id}}

A stream's ``*_since`` advances only when its last page was read, so a failure mid-way repeats
the pages from the saved cursor and nothing is skipped. ``more`` stays true until every stream
is done.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import ClassVar

import httpx

from inbox.conversations.routing import x_dm_participants
from inbox.errors import AuthError, PermanentError
from inbox.models import Account, Channel, Draft, Message, ParsedBatch, Surface
from inbox.providers.failures import decode_json, provider_failures, raise_for_response
from inbox.providers.twitter import oauth
from inbox.providers.twitter.length import MAX_DM_LENGTH, MAX_TWEET_LENGTH, weighted_length
from inbox.providers.twitter.parse import parse_payload
from inbox.providers.twitter.payload import integer, obj, text
from inbox.secrets import SecretStore
from inbox.sync.contract import FetchResult, FormField, HttpProviderBase, ProviderInfo

SERVICE = "X"
PAGE_SIZE = 100
STREAMS = ("mentions", "own", "dm")
_SINCE = {"mentions": "mentions_since", "own": "own_since", "dm": "dm_since_event"}

TWEET_PARAMS: Mapping[str, str] = {
    "expansions": "author_id,referenced_tweets.id,attachments.media_keys,"
    "referenced_tweets.id.author_id",
    "tweet.fields": "created_at,conversation_id,in_reply_to_user_id,referenced_tweets,lang,"
    "public_metrics,note_tweet,attachments,author_id",
    "user.fields": "username,name,public_metrics,profile_image_url",
    "media.fields": "type,url,preview_image_url,variants",
}
DM_PARAMS: Mapping[str, str] = {
    "dm_event.fields": "id,text,event_type,created_at,dm_conversation_id,sender_id,attachments,"
    "referenced_tweets",
    "expansions": "sender_id,attachments.media_keys",
    "user.fields": "username,name,public_metrics,profile_image_url",
    "media.fields": "type,url,preview_image_url,variants",
}


def _newer(a: str | None, b: str | None) -> str | None:
    """The larger of two snowflake ids (either may be missing)."""
    if not a or integer(a) is None:
        return b if b and integer(b) is not None else None
    if not b or integer(b) is None:
        return a
    return a if (integer(a) or 0) >= (integer(b) or 0) else b


def _load_cursor(cursor: str | None) -> dict[str, object]:
    try:
        state = json.loads(cursor) if cursor else {}
    except ValueError:
        state = {}
    return obj(state)


class XProvider(HttpProviderBase):
    """An X account read and written through the X API v2 with OAuth 2.0 user tokens.

    ``account.settings``: ``user_id`` (our X user id; looked up when absent), ``username``,
    ``client_id`` (the app's public OAuth client id) and an optional ``base_url``. Tokens live in
    the secret store as ``access_token``, ``refresh_token`` and ``expires_at``.
    """

    info: ClassVar[ProviderInfo] = ProviderInfo(
        kind="x",
        channel=Channel.TWITTER,
        display_name="X (Twitter)",
        fields=(
            FormField("username", "X username", help="The account's @handle, without the @"),
            FormField("client_id", "OAuth 2.0 client id", help="From the X developer console"),
            FormField("user_id", "X user id", required=False, help="Filled in after sign-in"),
            FormField(
                "base_url", "API address", kind="url", default="https://api.x.com", required=False
            ),
        ),
        min_poll_interval=60.0,
    )

    def __init__(
        self,
        account: Account,
        secrets: SecretStore,
        http: httpx.AsyncClient,
        *,
        base_url: str = "https://api.x.com",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._account = account
        self._secrets = secrets
        self._http = http
        self._base = (account.settings.get("base_url") or base_url).rstrip("/")
        self._clock = clock
        self._user_id = account.settings.get("user_id", "")
        self._refresh_lock = asyncio.Lock()
        self._rate: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"XProvider(account={self._account.id!r}, base_url={self._base!r})"

    @property
    def token_url(self) -> str:
        return f"{self._base}/2/oauth2/token"

    # -- sign-in and tokens ---------------------------------------------------------------

    async def sign_in(
        self,
        open_browser: Callable[[str], object],
        *,
        authorize_base: str = oauth.AUTHORIZE_URL,
        port: int = 0,
        timeout: float = 300.0,
    ) -> tuple[str, str]:
        """Run the browser sign-in, keep the tokens, and return ``(user_id, username)``."""
        tokens = await oauth.sign_in(
            self._http,
            self._client_id(),
            open_browser,
            token_url=self.token_url,
            authorize_base=authorize_base,
            port=port,
            timeout=timeout,
            clock=self._clock,
        )
        tokens.store(self._secrets, self._account.id)
        return await self.me()

    def _client_id(self) -> str:
        client_id = self._account.settings.get("client_id", "")
        if not client_id:
            raise PermanentError(f"{SERVICE} account {self._account.name}: no OAuth client id set")
        return client_id

    def _needs_sign_in(self, why: str) -> AuthError:
        return AuthError(f"{SERVICE} account {self._account.name} needs sign-in ({why})")

    async def _access_token(self, *, force_refresh: bool = False) -> str:
        account_id = self._account.id
        token = self._secrets.get(account_id, "access_token")
        if not token:
            raise self._needs_sign_in("no access token")
        try:
            expires_at = float(self._secrets.get(account_id, "expires_at") or 0)
        except ValueError:
            expires_at = 0.0  # unknown: rely on a 401 to trigger the refresh
        soon = expires_at and expires_at - self._clock() < oauth.REFRESH_MARGIN
        if not (force_refresh or soon):
            return token
        async with self._refresh_lock:
            current = self._secrets.get(account_id, "access_token")
            if current and current != token:
                return current  # another request refreshed while we waited
            refresh = self._secrets.get(account_id, "refresh_token")
            if not refresh:
                raise self._needs_sign_in("the access token expired and there is no refresh token")
            tokens = await oauth.refresh_tokens(
                self._http, self.token_url, self._client_id(), refresh, self._clock
            )
            tokens.store(self._secrets, account_id)
            return tokens.access_token

    async def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Mapping[str, object] | None = None,
    ) -> httpx.Response:
        token = await self._access_token()
        for attempt in (1, 2):
            with provider_failures(SERVICE):
                response = await self._http.request(
                    method,
                    f"{self._base}{path}",
                    params=dict(params or {}),
                    json=body,
                    headers={"Authorization": f"Bearer {token}"},
                )
            self._note_rate_limit(response)
            if response.status_code == 401 and attempt == 1:
                token = await self._access_token(force_refresh=True)  # revoked early: retry once
                continue
            return response
        return response  # pragma: no cover - the loop always returns

    def _note_rate_limit(self, response: httpx.Response) -> None:
        reset = integer(response.headers.get("x-rate-limit-reset", ""))
        if reset is not None:
            try:
                self._rate["rate_limit_reset"] = datetime.fromtimestamp(reset, UTC).isoformat()
            except (OverflowError, OSError, ValueError):
                pass
        remaining = response.headers.get("x-rate-limit-remaining")
        if remaining is not None and remaining.isdigit():
            self._rate["rate_limit_remaining"] = remaining

    async def _get_json(self, path: str, params: Mapping[str, str]) -> dict[str, object]:
        response = await self._request("GET", path, params=params)
        raise_for_response(response, SERVICE)
        return obj(decode_json(response, SERVICE))

    # -- the provider contract ----------------------------------------------------------

    async def me(self) -> tuple[str, str]:
        """``(user_id, username)`` of the signed-in account."""
        doc = obj((await self._get_json("/2/users/me", {"user.fields": "username"})).get("data"))
        user_id, username = text(doc.get("id")), text(doc.get("username"))
        if not user_id:
            raise PermanentError(f"{SERVICE} GET /2/users/me: no user id in the answer")
        return user_id, username

    async def check(self) -> None:
        """Fail unless the tokens work and belong to the configured account."""
        user_id, username = await self.me()
        expected = self._account.settings.get("user_id")
        if expected and expected != user_id:
            raise AuthError(
                f"{SERVICE}: signed in as @{username}, not the account {self._account.name}"
            )
        self._user_id = user_id

    async def _own_id(self) -> str:
        if not self._user_id:
            self._user_id = (await self.me())[0]
        return self._user_id

    async def fetch(self, cursor: str | None) -> FetchResult:
        state = _load_cursor(cursor)
        pending = obj(state.get("pending"))
        stream = text(pending.get("stream"))
        if stream not in STREAMS:
            stream, pending = STREAMS[0], {}
        token = text(pending.get("token"))
        since = text(state.get(_SINCE[stream]))
        params = dict(DM_PARAMS if stream == "dm" else TWEET_PARAMS)
        params["max_results"] = str(PAGE_SIZE)
        if token:
            params["pagination_token"] = token
        if stream == "dm":
            path = "/2/dm_events"
        else:
            kind = "mentions" if stream == "mentions" else "tweets"
            path = f"/2/users/{await self._own_id()}/{kind}"
            if since:
                params["since_id"] = since
        doc = await self._get_json(path, params)
        batch = parse_payload(doc, f"{SERVICE} GET {path}")
        meta = obj(doc.get("meta"))
        newest = _newer(text(pending.get("newest")) or None, text(meta.get("newest_id")) or None)
        next_token = text(meta.get("next_token"))
        if stream == "dm":
            batch, reached_seen = self._only_new_dms(batch, since)
            for message in batch.messages:
                newest = _newer(newest, message.provider_id.removeprefix("dm:"))
            if reached_seen:
                next_token = ""
        if next_token:
            state["pending"] = {"stream": stream, "token": next_token, "newest": newest}
        else:
            state[_SINCE[stream]] = _newer(since or None, newest) or since or None
            position = STREAMS.index(stream)
            if position + 1 < len(STREAMS):
                state["pending"] = {"stream": STREAMS[position + 1]}
            else:
                state.pop("pending", None)
        more = "pending" in state
        return FetchResult(batch, json.dumps(state, sort_keys=True), more, dict(self._rate))

    @staticmethod
    def _only_new_dms(batch: ParsedBatch, since: str) -> tuple[ParsedBatch, bool]:
        """Drop DM events not newer than ``since``; say whether paging reached them."""
        floor = integer(since)
        if floor is None:
            return batch, False
        fresh: list[Message] = []
        reached = False
        for message in batch.messages:
            number = integer(message.provider_id.removeprefix("dm:"))
            if number is not None and number <= floor:
                reached = True
            else:
                fresh.append(message)
        return ParsedBatch(tuple(fresh), batch.rejections, batch.account_hint), reached

    async def send(self, draft: Draft) -> str:
        """Post a reply (``MENTION``) or a DM; return the new tweet id or ``dm:<event id>``."""
        if draft.surface is Surface.MENTION:
            length = weighted_length(draft.text)
            if length > MAX_TWEET_LENGTH:
                raise PermanentError(
                    f"{SERVICE}: a post may weigh at most {MAX_TWEET_LENGTH} characters; "
                    f"this one weighs {length}"
                )
            body: dict[str, object] = {"text": draft.text}
            if draft.reply_to_id:
                body["reply"] = {"in_reply_to_tweet_id": draft.reply_to_id}
            data = await self._post("/2/tweets", body)
            new_id = text(data.get("id"))
        elif draft.surface is Surface.DM:
            if len(draft.text) > MAX_DM_LENGTH:
                raise PermanentError(
                    f"{SERVICE}: a direct message may hold at most {MAX_DM_LENGTH} characters"
                )
            participant = await self._dm_participant(draft)
            path = f"/2/dm_conversations/with/{participant}/messages"
            data = await self._post(path, {"text": draft.text})
            event_id = text(data.get("dm_event_id"))
            new_id = f"dm:{event_id}" if event_id else ""
        else:
            raise PermanentError(f"{SERVICE} cannot post on the {draft.surface.value} surface")
        if not new_id:
            raise PermanentError(f"{SERVICE}: the post was accepted but no id came back")
        return new_id

    async def _dm_participant(self, draft: Draft) -> str:
        if draft.recipient is not None and draft.recipient.key:
            return draft.recipient.key
        # A one-to-one thread key names both users: the other one is it.
        pair = x_dm_participants(draft.thread_key)
        own = await self._own_id()
        others = [user for user in pair or () if user != own]
        if pair and len(others) == 1 and integer(others[0]) is not None:
            return others[0]
        raise PermanentError(f"{SERVICE}: this direct message has no recipient")

    async def _post(self, path: str, body: Mapping[str, object]) -> dict[str, object]:
        response = await self._request("POST", path, body=body)
        if response.status_code == 403 and not _is_auth_problem(response):
            # X answers 403 to duplicates and to users who do not accept DMs: not a sign-in issue.
            detail = text(obj(_json_or_none(response)).get("detail")) or "forbidden"
            raise PermanentError(f"{SERVICE} POST {path}: refused ({detail})")
        raise_for_response(response, SERVICE)
        return obj(obj(decode_json(response, SERVICE)).get("data"))


def _json_or_none(response: httpx.Response) -> object:
    try:
        return response.json()
    except ValueError:
        return None


def _is_auth_problem(response: httpx.Response) -> bool:
    kind = text(obj(_json_or_none(response)).get("type"))
    return kind.endswith(("client-forbidden", "unsupported-authentication", "not-authorized"))
