"""A web form whose submissions are polled from a JSON endpoint (our documented shape).

Settings: ``url`` (the endpoint), ``since_param`` (the query parameter that asks for newer
submissions, default ``since``), ``since_value`` (``time`` or ``id``), ``auth_header`` (optional
header name for the key) and the field mapping. The secret ``api_key`` lives in the SecretStore
and is sent as ``Authorization: Bearer …`` or in ``auth_header``; it never reaches a log or an
error text. Forms are answered by email, so :meth:`WebformProvider.send` always refuses.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar
from urllib.parse import urljoin

import httpx

from inbox.errors import PermanentError
from inbox.models import Account, Channel, Draft, Message, ParsedBatch, Rejection
from inbox.providers.failures import decode_json, provider_failures, raise_for_response
from inbox.providers.webform.parse import (
    FieldMapping,
    Submission,
    read_submissions,
    submission_message,
)
from inbox.secrets import SecretStore
from inbox.sync.contract import FetchResult, FormField, HttpProviderBase, ProviderInfo

log = logging.getLogger(__name__)
SERVICE = "web form"


@dataclass(frozen=True, slots=True)
class _Mark:
    """The newest submission seen: its instant, the ids seen at that instant, and its id."""

    after: str = ""
    ids: tuple[str, ...] = ()
    last_id: str = ""

    @classmethod
    def load(cls, raw: object) -> _Mark:
        if not isinstance(raw, dict):
            return cls()
        ids = raw.get("ids")
        return cls(
            str(raw.get("after") or ""),
            tuple(str(v) for v in ids) if isinstance(ids, list) else (),
            str(raw.get("last_id") or ""),
        )

    def data(self) -> dict[str, object]:
        return {"after": self.after, "ids": list(self.ids), "last_id": self.last_id}

    def is_new(self, sub: Submission) -> bool:
        after = _when(self.after)
        if after is None or sub.submitted_at > after:
            return True
        return sub.submitted_at == after and _key(sub) not in self.ids

    def advance(self, subs: list[Submission]) -> _Mark:
        """Past these submissions; those without a time of their own move only ``last_id``."""
        mark = self
        for sub in subs:
            after, key = _when(mark.after), _key(sub)
            if "submitted_at" in sub.meta:  # no time in the payload: never trust our clock here
                mark = _Mark(mark.after, mark.ids, sub.submission_id)
            elif after is None or sub.submitted_at >= after:
                same = after is not None and sub.submitted_at == after
                ids = (*mark.ids, key) if same else (key,)
                mark = _Mark(sub.submitted_at.isoformat(), ids, sub.submission_id)
        return mark


def _key(sub: Submission) -> str:
    return f"{sub.form_id}:{sub.submission_id}"


def _when(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None


def _load_cursor(text: str | None) -> tuple[_Mark, str, _Mark]:
    """(the committed mark, the next page to read, the mark of the round in progress)."""
    try:
        raw = json.loads(text) if text else {}
    except ValueError:
        raw = {}
    if not isinstance(raw, dict):
        return _Mark(), "", _Mark()
    mark = _Mark.load(raw)
    next_url = raw.get("next")
    return mark, next_url if isinstance(next_url, str) else "", _Mark.load(raw.get("round"))


class WebformProvider(HttpProviderBase):
    """Polls a JSON endpoint of form submissions; each submission is its own conversation."""

    info: ClassVar[ProviderInfo] = ProviderInfo(
        kind="webform-json",
        channel=Channel.WEBFORM,
        display_name="Web form (JSON endpoint)",
        fields=(
            FormField("url", "Submissions URL", kind="url", help="Returns our JSON shape"),
            FormField(
                "since_param",
                "Query parameter for newer submissions",
                default="since",
                required=False,
            ),
            FormField(
                "mapping",
                "Field mapping",
                required=False,
                help="One per line, e.g. email=Email Address",
            ),
            FormField("api_key", "API key", secret=True, kind="password", required=False),
            FormField(
                "auth_header",
                "Header for the API key",
                required=False,
                help="Empty: Authorization: Bearer <key>",
            ),
        ),
        min_poll_interval=60.0,
    )

    def __init__(self, account: Account, secrets: SecretStore, http: httpx.AsyncClient) -> None:
        self._account = account
        self._secrets = secrets
        self._http = http
        self._mapping = FieldMapping.from_settings(account.settings)

    def __repr__(self) -> str:
        return f"WebformProvider({self._account.id!r})"

    def _url(self) -> httpx.URL:
        text = self._account.settings.get("url", "").strip()
        try:
            url = httpx.URL(text)
        except (httpx.InvalidURL, TypeError, ValueError) as exc:
            raise PermanentError(f"{SERVICE}: setting 'url' is not a valid URL") from exc
        if url.scheme not in ("http", "https") or not url.host:
            raise PermanentError(f"{SERVICE}: setting 'url' must be an http(s) URL")
        return url

    def _headers(self) -> dict[str, str]:
        key = self._secrets.get(self._account.id, "api_key")
        headers = {"Accept": "application/json"}
        if key:
            name = self._account.settings.get("auth_header", "").strip()
            headers[name or "Authorization"] = key if name else f"Bearer {key}"
        return headers

    def _next_url(self, doc: object, current: httpx.URL) -> str:
        """The next page, only on the configured origin: the key is never sent elsewhere."""
        raw = doc.get("next") if isinstance(doc, dict) else None
        if not isinstance(raw, str) or not raw.strip():
            return ""
        base = self._url()
        try:
            target = httpx.URL(urljoin(str(current), raw.strip()))
        except (httpx.InvalidURL, ValueError) as exc:
            raise PermanentError(f"{SERVICE}: the 'next' page link is not a URL") from exc
        if (target.scheme, target.host, target.port) != (base.scheme, base.host, base.port):
            raise PermanentError(f"{SERVICE}: the 'next' page link leaves {base.host}")
        return str(target)

    def _same_origin(self, link: str) -> bool:
        """A stored page link is followed only on the configured origin, like a fresh one."""
        try:
            target, base = httpx.URL(link), self._url()
        except (httpx.InvalidURL, ValueError):
            return False
        return (target.scheme, target.host, target.port) == (base.scheme, base.host, base.port)

    async def _get(self, url: httpx.URL | str, params: dict[str, str] | None) -> object:
        with provider_failures(SERVICE):
            response = await self._http.get(url, params=params, headers=self._headers())
            raise_for_response(response, SERVICE)
            return decode_json(response, SERVICE)

    async def check(self) -> None:
        """Fetch the endpoint once; it must answer with submissions in our shape."""
        doc = await self._get(self._url(), None)
        if not (isinstance(doc, list) or (isinstance(doc, dict) and "submissions" in doc)):
            raise PermanentError(f"{SERVICE}: {self._url().host} does not return submissions")

    async def fetch(self, cursor: str | None) -> FetchResult:
        """One page of submissions newer than the cursor; ``more`` while pages remain.

        The cursor only moves past a round of pages once its last page is read, so pages sent
        newest first lose nothing; submissions already seen are dropped even when the endpoint
        ignores the ``since`` parameter.
        """
        mark, next_page, round_mark = _load_cursor(cursor)
        params: dict[str, str] | None = None
        if next_page and self._same_origin(next_page):
            url: httpx.URL | str = next_page
        else:
            url, round_mark = self._url(), mark
            by_id = self._account.settings.get("since_value", "time").strip() == "id"
            since = mark.last_id if by_id else mark.after.replace("+00:00", "Z")
            name = self._account.settings.get("since_param", "").strip() or "since"
            params = {name: since} if since else None
        doc = await self._get(url, params)
        where = httpx.URL(str(url))
        source = f"{SERVICE} {where.host}"
        read = read_submissions(doc, source)
        fresh = [sub for sub in read.submissions if mark.is_new(sub)]
        round_mark = round_mark.advance(fresh)
        results = [submission_message(sub, self._mapping, source) for sub in fresh]
        messages = tuple(r for r in results if isinstance(r, Message))
        rejections = (*read.rejections, *(r for r in results if isinstance(r, Rejection)))
        next_url = self._next_url(doc, where)
        if next_url:
            state: dict[str, object] = {**mark.data(), "next": next_url, "round": round_mark.data()}
        else:
            state = round_mark.data()
        log.debug("%s: %d new submission(s), more=%s", self._account.id, len(fresh), bool(next_url))
        result = ParsedBatch(messages, rejections, read.account_hint)
        return FetchResult(result, json.dumps(state), more=bool(next_url))

    async def send(self, draft: Draft) -> str:
        raise PermanentError(
            "web forms are answered by email: the reply goes to the submitter's address "
            "through an email account"
        )
