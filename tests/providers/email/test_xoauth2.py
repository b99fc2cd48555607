"""XOAUTH2 sign-in against a real Dovecot 2.3 (oauth2 passdb asking a local introspection
endpoint which tokens are active) and aiosmtpd with an ``AUTH XOAUTH2`` handler, plus the token
refresh through a local token endpoint (RFC 6749 §6). Everything runs on 127.0.0.1."""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import time
import uuid
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, TypeVar

import httpx
import pytest

from inbox.errors import AuthError, PermanentError, ProviderError
from inbox.models import Account, Author, Channel, Draft, IdentityKind, Surface
from inbox.providers.email import oauth
from inbox.providers.email.provider import EmailProvider
from inbox.secrets import MemorySecretStore
from tests.providers.email.servers import (
    DovecotServer,
    OAuthServer,
    SmtpServer,
    free_port,
    local_account,
    running_xoauth2_dovecot,
    running_xoauth2_smtp,
)

pytestmark = [pytest.mark.servers, pytest.mark.timeout(120)]
T = TypeVar("T")
ACCOUNT = "email:agent@example.test"
#: Every token these tests hand out or accept; none may leak into logs or errors.
VALID, STALE, REFRESH = "ya29.valid-access-token", "ya29.stale-access-token", "1//refresh-token"


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture
def tokens() -> Iterator[OAuthServer]:
    server = OAuthServer()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def dovecot(tokens: OAuthServer) -> Iterator[DovecotServer]:
    with running_xoauth2_dovecot(tokens) as server:
        yield server


@pytest.fixture
def smtp(tokens: OAuthServer) -> Iterator[tuple[SmtpServer, list[str]]]:
    with running_xoauth2_smtp(tokens) as server:
        yield server


def _account(imap_port: int, smtp_port: int, **extra: str) -> Account:
    return local_account(imap_port, smtp_port, **{"auth": "oauth2", **extra})


def _secrets(**values: str) -> MemorySecretStore:
    store = MemorySecretStore()
    for name, value in values.items():
        store.set(ACCOUNT, name, value)
    return store


def _mail(n: int) -> bytes:
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = f"Customer {n} <customer{n}@example.com>"
    msg["To"] = "agent@example.test"
    msg["Subject"] = f"Question {n}"
    msg["Message-ID"] = f"<q{n}@customer.example>"
    msg["Date"] = email.utils.format_datetime(datetime.now(UTC))
    msg.set_content(f"Hello {n}")
    return msg.as_bytes()


def _draft() -> Draft:
    return Draft(
        local_id=f"inbox.{uuid.uuid4()}@example.test",
        account_id=ACCOUNT,
        conversation_id=7,
        channel=Channel.EMAIL,
        surface=Surface.EMAIL,
        text="Hello Ann,\nplease restart the printer.",
        recipient=Author(IdentityKind.EMAIL, "ann@customer.example", "ann@customer.example", "Ann"),
        reply_to_id="q1@customer.example",
        subject="Printer broken",
    )


async def _fetch_subjects(account: Account, secrets: MemorySecretStore) -> list[str]:
    async with httpx.AsyncClient() as http, EmailProvider(account, secrets, http) as provider:
        result = await provider.fetch(None)
    return [m.subject or "" for m in result.batch.messages]


def _texts(exc: BaseException) -> str:
    """The message of an error and of every error it was raised from."""
    parts: list[str] = []
    current: BaseException | None = exc
    while current is not None:
        parts.append(f"{current!s} {current!r}")
        current = current.__cause__ or current.__context__
    return " ".join(parts)


def test_imap_signs_in_with_a_valid_token_and_fetches(dovecot: DovecotServer, tokens: OAuthServer) -> None:
    dovecot.append(_mail(1))
    dovecot.append(_mail(2))
    tokens.active.add(VALID)
    account = _account(dovecot.port, free_port())
    subjects = run(_fetch_subjects(account, _secrets(oauth_access_token=VALID)))
    assert subjects == ["Question 1", "Question 2"]
    # Dovecot checked the token with the introspection endpoint: a real XOAUTH2 sign-in.
    assert ("/introspect", {"token": VALID}) in tokens.requests
    assert "/token" not in tokens.paths()


def test_sending_signs_in_to_smtp_with_xoauth2(
    dovecot: DovecotServer, smtp: tuple[SmtpServer, list[str]], tokens: OAuthServer
) -> None:
    server, mechanisms = smtp
    tokens.active.add(VALID)
    account = _account(dovecot.port, server.port)
    draft = _draft()

    async def scenario() -> str:
        async with httpx.AsyncClient() as http, EmailProvider(account, _secrets(oauth_access_token=VALID), http) as p:
            await p.check()
            return await p.send(draft)

    message_id = run(scenario())
    assert mechanisms == ["XOAUTH2", "XOAUTH2"]  # check() and send()
    assert len(server.messages) == 1 and message_id.encode() in server.messages[0]
    assert any(message_id.encode() in raw for raw in dovecot.fetch_all("Sent"))


def test_an_expiring_token_is_refreshed_before_signing_in(dovecot: DovecotServer, tokens: OAuthServer) -> None:
    dovecot.append(_mail(1))
    tokens.refresh_tokens.add(REFRESH)
    tokens.rotate = True  # a new refresh token comes back and must be kept
    account = _account(dovecot.port, free_port(), oauth_token_url=tokens.token_url, oauth_client_id="inbox-app")
    secrets = _secrets(
        oauth_access_token=STALE,  # never active: the server would refuse it
        oauth_refresh_token=REFRESH,
        oauth_client_secret="client-secret",
        oauth_expires_at=f"{time.time() + 30:.0f}",  # within the 60 s margin
    )
    before = time.time()
    assert run(_fetch_subjects(account, secrets)) == ["Question 1"]
    token_calls = [form for path, form in tokens.requests if path == "/token"]
    assert token_calls == [
        {
            "grant_type": "refresh_token",
            "refresh_token": REFRESH,
            "client_id": "inbox-app",
            "client_secret": "client-secret",
        }
    ]
    assert secrets.get(ACCOUNT, "oauth_access_token") == "token-1"
    assert secrets.get(ACCOUNT, "oauth_refresh_token") == "refresh-1"
    expires = float(secrets.get(ACCOUNT, "oauth_expires_at") or 0)
    assert before + 3600 - 1 <= expires <= time.time() + 3600 + 1  # whole seconds are stored
    # Only the new token was ever presented to Dovecot.
    assert [f["token"] for p, f in tokens.requests if p == "/introspect"] == ["token-1"]


def test_a_token_the_servers_refuse_is_refreshed_and_the_work_retried_once(
    dovecot: DovecotServer, smtp: tuple[SmtpServer, list[str]], tokens: OAuthServer
) -> None:
    dovecot.append(_mail(1))
    tokens.refresh_tokens.add(REFRESH)
    server, mechanisms = smtp
    account = _account(dovecot.port, server.port, oauth_token_url=tokens.token_url)
    secrets = _secrets(oauth_access_token=STALE, oauth_refresh_token=REFRESH)  # no expiry known
    assert run(_fetch_subjects(account, secrets)) == ["Question 1"]
    introspected = [f["token"] for p, f in tokens.requests if p == "/introspect"]
    assert introspected == [STALE, "token-1"]  # refused, refreshed, signed in
    assert secrets.get(ACCOUNT, "oauth_access_token") == "token-1"
    assert secrets.get(ACCOUNT, "oauth_refresh_token") == REFRESH  # none new: the old one stays

    # SMTP: the stored token is revoked meanwhile; the refusal (error challenge, then 535)
    # brings one refresh and the mail goes out once.
    tokens.active.discard("token-1")

    async def send() -> str:
        async with httpx.AsyncClient() as http, EmailProvider(account, secrets, http) as p:
            return await p.send(_draft())

    message_id = run(send())
    assert len(server.messages) == 1 and message_id.encode() in server.messages[0]
    assert mechanisms == ["XOAUTH2", "XOAUTH2"]  # refused, then signed in
    assert secrets.get(ACCOUNT, "oauth_access_token") == "token-2"
    assert tokens.paths().count("/token") == 2  # one refresh per refusal


def test_invalid_grant_means_needs_sign_in_and_no_token_leaks(
    dovecot: DovecotServer,
    smtp: tuple[SmtpServer, list[str]],
    tokens: OAuthServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    dovecot.append(_mail(1))
    tokens.active.add(VALID)
    tokens.refresh_tokens.add(REFRESH)
    server, _mechanisms = smtp
    account = _account(dovecot.port, server.port, oauth_token_url=tokens.token_url, oauth_client_id="inbox-app")
    secrets = _secrets(oauth_access_token=VALID, oauth_refresh_token=REFRESH, oauth_client_secret="client-secret")
    assert run(_fetch_subjects(account, secrets)) == ["Question 1"]
    # The user revoked the app: the access token dies and the refresh token with it.
    tokens.active.clear()
    tokens.refresh_tokens.clear()
    errors: list[ProviderError] = []

    async def scenario() -> None:
        async with httpx.AsyncClient() as http, EmailProvider(account, secrets, http) as p:
            for attempt in (p.fetch(None), p.send(_draft()), p.wait_for_changes(5), p.check()):
                with pytest.raises(AuthError) as caught:
                    await attempt
                errors.append(caught.value)

    run(scenario())
    assert len(errors) == 4
    assert all("needs sign-in" in str(error) for error in errors), [str(e) for e in errors]
    assert "invalid_grant" in str(errors[0])
    assert server.messages == []
    assert secrets.get(ACCOUNT, "oauth_refresh_token") == REFRESH  # kept for a later look
    leaked = (VALID, REFRESH, "client-secret", "auth=Bearer")
    text = caplog.text + " ".join(_texts(e) for e in errors)
    assert [secret for secret in leaked if secret in text] == []


def test_no_token_refresh_without_a_refresh_token(dovecot: DovecotServer, tokens: OAuthServer) -> None:
    account = _account(dovecot.port, free_port(), oauth_token_url=tokens.token_url)
    secrets = _secrets(oauth_access_token=STALE)
    with pytest.raises(AuthError, match="needs sign-in") as caught:
        run(_fetch_subjects(account, secrets))
    assert STALE not in _texts(caught.value)
    assert "/token" not in tokens.paths()


def test_check_names_what_an_oauth2_account_is_missing(dovecot: DovecotServer) -> None:
    async def check(account: Account, secrets: MemorySecretStore) -> None:
        async with httpx.AsyncClient() as http, EmailProvider(account, secrets, http) as p:
            await p.check()

    with pytest.raises(AuthError, match="oauth_access_token"):
        run(check(_account(dovecot.port, free_port()), _secrets(password="unused")))
    with pytest.raises(PermanentError, match="oauth_token_url"):
        run(check(_account(dovecot.port, free_port()), _secrets(oauth_access_token=VALID, oauth_refresh_token=REFRESH)))
    with pytest.raises(PermanentError, match="auth must be password or oauth2"):
        run(check(_account(dovecot.port, free_port(), auth="token"), _secrets(password="x")))


def test_servers_without_xoauth2_are_refused_clearly(dovecot_server: DovecotServer, smtp_server: SmtpServer) -> None:
    """The stock fixtures offer only PLAIN and LOGIN: the token is never sent to them."""
    account = _account(dovecot_server.port, smtp_server.port)
    with pytest.raises(PermanentError, match="IMAP server does not offer XOAUTH2"):
        run(_fetch_subjects(account, _secrets(oauth_access_token=VALID)))

    async def send() -> None:
        async with httpx.AsyncClient() as http:
            await EmailProvider(account, _secrets(oauth_access_token=VALID), http).send(_draft())

    with pytest.raises(PermanentError, match="SMTP server does not offer XOAUTH2"):
        run(send())


def test_password_accounts_still_sign_in_with_their_password(
    dovecot: DovecotServer, smtp: tuple[SmtpServer, list[str]], tokens: OAuthServer
) -> None:
    """On the very servers that offer XOAUTH2, ``auth=password`` (and no auth setting at all)
    signs in with LOGIN / AUTH PLAIN as before and never asks the token endpoints."""
    dovecot.append(_mail(1))
    server, mechanisms = smtp
    for extra in ({"auth": "password"}, {}):
        account = _account(dovecot.port, server.port, **extra)
        settings = dict(account.settings)
        if not extra:
            settings.pop("auth")
        account = Account(ACCOUNT, Channel.EMAIL, "ACME Support", account.own_keys, settings)
        secrets = _secrets(password=dovecot.password, oauth_access_token=VALID)

        async def scenario(account: Account = account, secrets: MemorySecretStore = secrets) -> int:
            async with httpx.AsyncClient() as http, EmailProvider(account, secrets, http) as p:
                await p.check()
                result = await p.fetch(None)
                await p.send(_draft())
                return len(result.batch.messages)

        assert run(scenario()) == 1
    assert mechanisms == []
    assert len(server.messages) == 2
    assert tokens.requests == []


def test_a_token_url_without_tls_is_refused_and_tokens_stay_out_of_repr() -> None:
    """Only loopback may take a refresh token over plain HTTP (the tests' token endpoint)."""

    async def refresh_over_http() -> None:
        async with httpx.AsyncClient() as http:
            await oauth.refresh(http, "http://oauth.example.test/token", REFRESH, now=0.0)

    with pytest.raises(PermanentError, match="https://") as caught:
        run(refresh_over_http())
    assert REFRESH not in _texts(caught.value)
    assert oauth.sasl_string("a@example.test", "tok") == b"user=a@example.test\x01auth=Bearer tok\x01\x01"
    tokens = oauth.TokenSet(VALID, REFRESH, 10.0)
    provider = EmailProvider(_account(1, 2), _secrets(oauth_access_token=VALID, oauth_refresh_token=REFRESH))
    shown = f"{tokens!r} {provider!r} {provider._tokens!r}"
    assert VALID not in shown and REFRESH not in shown
