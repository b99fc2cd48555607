"""The polled web-form provider against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from inbox.errors import AuthError, PermanentError, ProviderError, TransientError
from inbox.models import Account, Channel, Draft, ParsedBatch, Surface
from inbox.providers.webform.provider import WebformProvider
from inbox.secrets import MemorySecretStore
from inbox.sync.contract import FetchResult

from .fake_forms import FormsState, fake_forms, submission

pytestmark = pytest.mark.servers

KEY = "sk-live-5ecr3t-value"
T = TypeVar("T")


def run(factory: Callable[[WebformProvider], Awaitable[T]], url: str, **settings: str) -> T:
    """Run ``factory(provider)`` with a fresh client and provider for the account."""
    account = Account(
        id="webform:contact-fr",
        channel=Channel.WEBFORM,
        name="Contact",
        settings={"url": url, **settings},
    )
    secrets = MemorySecretStore()
    secrets.set(account.id, "api_key", KEY)

    async def main() -> T:
        async with (
            httpx.AsyncClient(timeout=5.0) as http,
            WebformProvider(account, secrets, http) as provider,
        ):
            return await factory(provider)

    return asyncio.run(main())


def fetch_all(
    cursor: str | None,
) -> Callable[[WebformProvider], Coroutine[Any, Any, tuple[list[str], str | None]]]:
    async def go(provider: WebformProvider) -> tuple[list[str], str | None]:
        ids: list[str] = []
        result = FetchResult(batch=ParsedBatch(), cursor=cursor, more=True)
        while result.more:
            result = await provider.fetch(result.cursor)
            ids += [m.provider_id.rsplit(":", 1)[-1] for m in result.batch.messages]
        return ids, result.cursor

    return go


def state(**kwargs: Any) -> FormsState:
    subs = [submission(n, 10 + n) for n in range(1, 6)]
    return FormsState(api_key=KEY, submissions=subs, **kwargs)


@pytest.mark.parametrize("newest_first", [False, True])
def test_pages_then_only_new_submissions(newest_first: bool) -> None:
    forms = state(newest_first=newest_first)
    with fake_forms(forms) as url:
        ids, cursor = run(fetch_all(None), url)
        assert sorted(ids) == ["s-1", "s-2", "s-3", "s-4", "s-5"]
        assert len(forms.requests) == 3  # three pages of two
        assert all(h["authorization"] == f"Bearer {KEY}" for _, h in forms.requests)
        # Nothing new: the server still returns the newest one (its filter is inclusive).
        again, cursor = run(fetch_all(cursor), url)
        assert again == []
        # s-6 arrives in the same minute as s-5, the newest seen: it is new all the same.
        forms.submissions += [submission(6, 15), submission(7, 16), submission(8, 30)]
        before = len(forms.requests)
        new, cursor = run(fetch_all(cursor), url)
        assert sorted(new) == ["s-6", "s-7", "s-8"]
        since = parse_qs(urlsplit(forms.requests[before][0]).query)
        assert since["since"] == ["2026-11-20T09:15:00Z"]


def test_messages_are_form_conversations_with_mapping() -> None:
    forms = FormsState(api_key=KEY, submissions=[submission(1, 5, message="", Adresse="a@x.fr")])
    forms.submissions[0]["fields"] = {"Nom": "Zoé", "Adresse": "zoe@example.fr", "Texte": "Allô"}
    with fake_forms(forms) as url:
        result = run(lambda p: p.fetch(None), url, mapping="email=Adresse\nmessage=Texte")
    (msg,) = result.batch.messages
    assert msg.surface is Surface.FORM
    assert msg.thread_key == "form:contact-fr:s-1"
    assert msg.author.key == "zoe@example.fr"
    assert msg.author.display_name == "Zoé"
    assert msg.text == "Allô"
    assert result.batch.account_hint == "webform:contact-fr"


def test_custom_auth_header_and_since_param() -> None:
    forms = state(auth_header="X-Api-Key", since_param="after", page_size=10)
    with fake_forms(forms) as url:
        ids, cursor = run(fetch_all(None), url, auth_header="X-Api-Key", since_param="after")
        run(fetch_all(cursor), url, auth_header="X-Api-Key", since_param="after")
    assert len(ids) == 5
    assert forms.requests[0][1]["x-api-key"] == KEY
    assert "authorization" not in forms.requests[0][1]
    assert parse_qs(urlsplit(forms.requests[-1][0]).query)["after"] == ["2026-11-20T09:15:00Z"]


@pytest.mark.parametrize(
    ("mode", "error"),
    [
        ("401", AuthError),
        ("500", TransientError),
        ("truncated", TransientError),
        ("foreign-next", PermanentError),
    ],
)
def test_failures_map_to_contract_errors_without_the_key(
    mode: str, error: type[ProviderError]
) -> None:
    forms = state(mode=mode)
    with fake_forms(forms) as url, pytest.raises(error) as caught:
        run(lambda p: p.fetch(None), url)
    assert KEY not in str(caught.value)
    assert KEY not in repr(caught.value)
    assert caught.value.__cause__ is None or KEY not in str(caught.value.__cause__)
    if mode == "foreign-next":
        assert all("attacker" not in path for path, _ in forms.requests)


def test_unreachable_endpoint_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransientError) as caught:
        run(lambda p: p.fetch(None), f"http://127.0.0.1:{port}/x")
    assert KEY not in str(caught.value)


def test_check_accepts_submissions_and_refuses_other_endpoints() -> None:
    forms = state()
    with fake_forms(forms) as url:
        run(lambda p: p.check(), url)
        forms.mode = "not-forms"
        with pytest.raises(PermanentError, match="does not return submissions"):
            run(lambda p: p.check(), url)
        forms.mode = "401"
        with pytest.raises(AuthError):
            run(lambda p: p.check(), url)
    with pytest.raises(PermanentError, match="url"):
        run(lambda p: p.check(), "ftp://example.org/forms")


def test_replies_go_by_email() -> None:
    draft = Draft("l1", "webform:contact-fr", 1, Channel.WEBFORM, Surface.FORM, "Merci")
    with pytest.raises(PermanentError, match="answered by email"):
        run(lambda p: p.send(draft), "http://127.0.0.1:9/")


def test_provider_declares_its_setup_form() -> None:
    fields = {f.name: f for f in WebformProvider.info.fields}
    assert {"url", "since_param", "mapping", "api_key"} <= fields.keys()
    assert fields["api_key"].secret and not fields["url"].secret
    assert fields["since_param"].default == "since"


def test_a_rejected_submission_is_reported_once() -> None:
    anonymous = submission(2, 20)
    anonymous["fields"] = {"message": "no way to answer me"}
    forms = FormsState(api_key=KEY, submissions=[submission(1, 10), anonymous], page_size=10)
    with fake_forms(forms) as url:
        first = run(lambda p: p.fetch(None), url)
        second = run(lambda p: p.fetch(first.cursor), url)
    assert [m.provider_id for m in first.batch.messages] == ["form:contact-fr:s-1"]
    assert "s-2" in first.batch.rejections[0].reason
    assert second.batch.messages == () and second.batch.rejections == ()


def test_cursor_by_submission_id() -> None:
    forms = state(page_size=10, since_param="after_id")
    with fake_forms(forms) as url:
        first = run(lambda p: p.fetch(None), url, since_value="id", since_param="after_id")
        run(lambda p: p.fetch(first.cursor), url, since_value="id", since_param="after_id")
    assert parse_qs(urlsplit(forms.requests[-1][0]).query)["after_id"] == ["s-5"]


def test_a_page_link_in_a_tampered_cursor_is_not_followed() -> None:
    forms = state(page_size=10)
    cursor = '{"after": "", "ids": [], "next": "http://elsewhere.invalid/steal", "round": {}}'
    with fake_forms(forms) as url:
        result = run(lambda p: p.fetch(cursor), url)
    assert len(result.batch.messages) == 5
    assert all(path.startswith("/api/submissions") for path, _ in forms.requests)
