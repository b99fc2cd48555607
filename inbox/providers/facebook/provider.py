"""The Facebook Page provider: Messenger conversations and post comments through the Graph API.

Settings: ``page_id`` (required), ``page_name``, ``graph_version`` or ``base_url``,
``history_days`` (how far back a first sync reads; "0" for everything), and for device login
``app_id``. Secrets: ``page_token`` (a Page access token, pasted or obtained by device login) and
``client_token`` (the app's client token, for device login).

Replies go back where the customer wrote: Messenger replies are standard ``RESPONSE`` messages
and are refused before any request outside Messenger's 24-hour window; comment replies are
posted under the comment answered. A private Messenger reply to a commenter is
:meth:`FacebookProvider.send_private_reply`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import ClassVar

import httpx

from inbox.errors import AuthError, PermanentError, ProviderBug
from inbox.models import Account, Channel, Draft, IdentityKind, ParsedBatch, Surface
from inbox.providers.facebook import device_login
from inbox.providers.facebook.device_login import DeviceLogin, PageChoice
from inbox.providers.facebook.graph import SERVICE, GraphClient
from inbox.providers.facebook.payload import MESSENGER_WINDOW_SECONDS, ident, normalise_mid
from inbox.providers.facebook.sync import PageSync, SyncCursor, history_start
from inbox.secrets import SecretStore
from inbox.sync.contract import FetchResult, FormField, HttpProviderBase, ProviderInfo

DEFAULT_BASE_URL = "https://graph.facebook.com/v23.0"
MESSENGER_MAX_CHARS = 2000
TOKEN = "page_token"

LastInbound = Callable[[Draft], datetime | None]


def messenger_window_remaining(last_inbound: datetime, now: datetime) -> float:
    """Seconds left to answer with a standard Messenger message; 0 when the window closed."""
    elapsed = (now - last_inbound).total_seconds()
    return max(0.0, MESSENGER_WINDOW_SECONDS - elapsed)


class FacebookProvider(HttpProviderBase):
    """One Facebook Page. ``last_inbound`` tells, for a draft, when the customer last wrote
    (from the store); without it the 24-hour rule is left to Facebook to enforce."""

    info: ClassVar[ProviderInfo] = ProviderInfo(
        kind="facebook",
        channel=Channel.FACEBOOK,
        display_name="Facebook Page",
        fields=(
            FormField("page_id", "Page ID", help="The numeric id of the Page"),
            FormField("page_name", "Page name", required=False),
            FormField(
                TOKEN,
                "Page access token",
                secret=True,
                kind="password",
                required=False,
                help="Paste a Page token, or sign in with Facebook to fetch one",
            ),
            FormField("app_id", "App ID (for sign-in with Facebook)", required=False),
            FormField("client_token", "App client token", secret=True, required=False),
            FormField("graph_version", "Graph API version", default="v23.0", required=False),
            FormField(
                "history_days",
                "Days of history on first sync",
                kind="int",
                default="30",
                required=False,
                help="0 reads everything the Graph API still has",
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
        base_url: str = DEFAULT_BASE_URL,
        clock: Callable[[], float] = time.time,
        last_inbound: LastInbound | None = None,
    ) -> None:
        self._account = account
        self._secrets = secrets
        self._clock = clock
        self._last_inbound = last_inbound
        settings = account.settings
        if settings.get("base_url"):
            base_url = settings["base_url"]
        elif settings.get("graph_version"):
            base_url = f"https://graph.facebook.com/{settings['graph_version'].strip('/')}"
        self._graph = GraphClient(http, base_url, self._token, clock)

    def __repr__(self) -> str:
        return f"FacebookProvider(account={self._account.id!r})"

    @property
    def page_id(self) -> str:
        page = self._account.settings.get("page_id", "").strip()
        if not page:
            raise PermanentError(f"{SERVICE}: no Page ID in the account settings")
        return page

    def _token(self) -> str:
        token = self._secrets.get(self._account.id, TOKEN)
        if not token:
            raise AuthError(f"{SERVICE} needs sign-in: no Page token saved for this account")
        return token

    async def check(self) -> None:
        """The token is a Page token for the configured Page, allowed to read its inbox."""
        me = await self._graph.get("me", {"fields": "id,name", "metadata": "1"})
        found, name, kind = device_login.page_identity(me)
        if kind and kind != "page":
            raise PermanentError(
                f"{SERVICE}: this is a {kind} access token ({name or found}), not a Page token; "
                "paste the Page's token or sign in with Facebook to pick the Page"
            )
        if found != self.page_id:
            raise PermanentError(
                f"{SERVICE}: the token belongs to {name or 'another object'} ({found}), "
                f"not the Page {self.page_id}"
            )
        await self._graph.get(
            f"{self.page_id}/conversations", {"platform": "messenger", "fields": "id", "limit": "1"}
        )

    async def fetch(self, cursor: str | None) -> FetchResult:
        start = history_start(self._account.settings.get("history_days", "30"), self._clock())
        state = SyncCursor.load(cursor, start)
        read = await PageSync(self._graph, self.page_id, self._clock).read(state)
        batch = ParsedBatch(
            messages=tuple(read.messages),
            rejections=tuple(read.rejections),
            account_hint=f"facebook:{self.page_id}",
        )
        info = {"messages": str(len(read.messages))}
        return FetchResult(batch=batch, cursor=state.dump(), more=read.more, info=info)

    async def send(self, draft: Draft) -> str:
        if draft.channel is not Channel.FACEBOOK:
            raise PermanentError(f"{SERVICE}: cannot send a {draft.channel} reply")
        if draft.surface is Surface.MESSENGER and draft.thread_key is None and draft.reply_to_id:
            return await self.send_private_reply(draft)  # a commenter answered in Messenger
        if draft.surface is Surface.MESSENGER:
            return await self._send_messenger(draft)
        if draft.surface is Surface.COMMENT:
            return await self._send_comment(draft)
        raise PermanentError(f"{SERVICE}: cannot reply on the {draft.surface} surface")

    async def send_private_reply(self, draft: Draft) -> str:
        """Answer a commenter in Messenger (one private reply per comment, within 7 days)."""
        if not draft.reply_to_id:
            raise PermanentError(f"{SERVICE}: a private reply needs the comment it answers")
        self._check_text(draft.text)
        body = {"recipient": {"comment_id": draft.reply_to_id}, "message": {"text": draft.text}}
        doc = await self._graph.post_json(f"{self.page_id}/messages", body)
        return self._sent_id(doc, "message_id")

    async def _send_messenger(self, draft: Draft) -> str:
        psid = self._psid(draft)
        self._check_text(draft.text)
        last = self._last_inbound(draft) if self._last_inbound else None
        if last is not None:
            now = datetime.fromtimestamp(self._clock(), tz=UTC)
            if messenger_window_remaining(last, now) <= 0:
                when = last.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
                raise PermanentError(
                    f"{SERVICE}: outside Messenger's 24-hour window (last customer message "
                    f"{when}); the customer must write again first"
                )
        body = {
            "recipient": {"id": psid},
            "messaging_type": "RESPONSE",
            "message": {"text": draft.text},
        }
        doc = await self._graph.post_json(f"{self.page_id}/messages", body)
        return self._sent_id(doc, "message_id")

    async def _send_comment(self, draft: Draft) -> str:
        target = draft.reply_to_id or ""
        key = draft.thread_key or ""
        if not target and key.startswith("fb:post:"):
            post = key.removeprefix("fb:post:")
            target = post if "_" in post else f"{self.page_id}_{post}"
        if not target or not draft.text.strip():
            raise PermanentError(
                f"{SERVICE}: a comment reply needs text and the comment it answers"
            )
        doc = await self._graph.post_json(f"{target}/comments", {"message": draft.text})
        return self._sent_id(doc, "id")

    def _psid(self, draft: Draft) -> str:
        recipient = draft.recipient
        if recipient is not None and recipient.kind is IdentityKind.FACEBOOK and recipient.key:
            return recipient.key
        parts = (draft.thread_key or "").split(":")
        if len(parts) == 4 and parts[:2] == ["fb", "psid"] and parts[3]:
            if parts[2] != self.page_id:
                raise PermanentError(f"{SERVICE}: this conversation belongs to another Page")
            return parts[3]
        raise PermanentError(f"{SERVICE}: no Messenger recipient for this reply")

    @staticmethod
    def _check_text(body: str) -> None:
        if not body.strip():
            raise PermanentError(f"{SERVICE}: an empty message cannot be sent")
        if len(body) > MESSENGER_MAX_CHARS:
            raise PermanentError(
                f"{SERVICE}: Messenger messages are limited to {MESSENGER_MAX_CHARS} characters "
                f"({len(body)} written)"
            )

    @staticmethod
    def _sent_id(doc: dict[str, object], key: str) -> str:
        sent = ident(doc.get(key))
        if not sent:
            raise ProviderBug(f"{SERVICE}: the reply was accepted without an id ({key})")
        return normalise_mid(sent)

    # Sign-in with Facebook Login for Devices.

    def _app_token(self) -> str:
        client = self._secrets.get(self._account.id, "client_token") or ""
        return device_login.app_token(self._account.settings.get("app_id", ""), client)

    async def device_login_start(self) -> DeviceLogin:
        """Ask Facebook for a code the person enters at facebook.com/device."""
        return await device_login.start(self._graph, self._app_token(), self._clock())

    async def device_login_poll(self, login: DeviceLogin) -> str | None:
        """The person's user token once approved; None while pending (poll each interval)."""
        return await device_login.poll(self._graph, self._app_token(), login, self._clock())

    async def pages_for_user(self, user_token: str) -> list[PageChoice]:
        """The Pages the signed-in person manages, each with its Page token."""
        return await device_login.pages(self._graph, user_token)

    def adopt_page(self, page: PageChoice) -> None:
        """Keep the chosen Page's token; the caller saves ``page.id``/``page.name`` as settings."""
        if self._account.settings.get("page_id") and page.id != self.page_id:
            raise PermanentError(f"{SERVICE}: {page.name} is not the Page {self.page_id}")
        self._secrets.set(self._account.id, TOKEN, page.token)
