"""The settings backend over a real store: accounts saved with secrets in the secret store only,
removed with their secrets, connection tests mapped to one line a user understands (against a
real Dovecot and aiosmtpd too), SLA policies validated and put in force."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from types import TracebackType
from typing import ClassVar, Self

import httpx
import keyring
import pytest
from keyrings.alt.file import PlaintextKeyring  # type: ignore[import-untyped]

from inbox.app import settings_backend
from inbox.app.settings_backend import Factories, SettingsBackend
from inbox.errors import AuthError, InputError, PermanentError, RateLimited, TransientError
from inbox.models import Account, Channel, Draft
from inbox.providers.keyring_store import KeyringSecretStore
from inbox.secrets import MemorySecretStore, SecretStore
from inbox.store.repository import Store
from inbox.sync.contract import FetchResult, Provider, ProviderInfo
from inbox.ui import settings_dialog
from tests.providers.email.servers import (  # noqa: F401 - pytest fixtures
    DovecotServer,
    SmtpServer,
    dovecot_server,
    free_port,
    smtp_server,
)
from tests.sync.test_service import mail

EMAIL_SETTINGS = {
    "imap_host": "mail.shop.test",
    "imap_port": "993",
    "smtp_host": "mail.shop.test",
    "username": "Support@Shop.test",
}


class CheckingProvider:
    """A provider whose ``check`` raises what the test says (or hangs)."""

    info: ClassVar[ProviderInfo] = ProviderInfo("fake", Channel.EMAIL, "Fake", (), 60.0)
    outcome: ClassVar[BaseException | None] = None
    hang: ClassVar[bool] = False
    seen: ClassVar[list[tuple[Account, str | None]]] = []

    def __init__(self, account: Account, secrets: SecretStore, _http: httpx.AsyncClient) -> None:
        self._account = account
        self.seen.append((account, secrets.get(account.id, "password")))

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    @property
    def account(self) -> Account:
        return self._account

    async def check(self) -> None:
        if self.hang:
            await asyncio.Event().wait()
        if self.outcome is not None:
            raise self.outcome

    async def fetch(self, cursor: str | None) -> FetchResult:
        raise AssertionError("not fetched in a connection test")

    async def send(self, draft: Draft) -> str:
        raise AssertionError("nothing sent in a connection test")


def fake(account: Account, secrets: SecretStore, http: httpx.AsyncClient) -> Provider:
    return CheckingProvider(account, secrets, http)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "inbox.db")
    yield s
    s.close()


def check(
    backend: SettingsBackend, kind: str, settings: dict[str, str], secrets: dict[str, str]
) -> str | None:
    async def run() -> str | None:
        return await backend.check(kind, settings, secrets)

    return asyncio.run(run())


@pytest.fixture
def http() -> Iterator[httpx.AsyncClient]:
    client = httpx.AsyncClient(timeout=5)
    yield client
    asyncio.run(client.aclose())


Maker = Callable[..., SettingsBackend]


@pytest.fixture
def make(store: Store, http: httpx.AsyncClient) -> Maker:
    def build(
        secrets: SecretStore | None = None, factories: Factories | None = None
    ) -> SettingsBackend:
        return SettingsBackend(store, secrets or MemorySecretStore(), http, factories=factories)

    return build


def test_the_real_backend_meets_the_dialog_protocol(make: Maker, store: Store) -> None:
    backend: settings_dialog.SettingsBackend = make()
    kinds = {info.kind: info for info in backend.provider_kinds()}
    assert {"imap", "x", "facebook", "webform-json"} <= set(kinds)
    password = [f for f in kinds["imap"].fields if f.name == "password"]
    assert password and password[0].secret


@pytest.fixture
def keyring_secrets(tmp_path: Path) -> Iterator[KeyringSecretStore]:
    previous = keyring.get_keyring()
    ring = PlaintextKeyring()
    ring.file_path = str(tmp_path / "keyring.cfg")
    keyring.set_keyring(ring)
    yield KeyringSecretStore()
    keyring.set_keyring(previous)


def test_saved_account_keeps_its_password_out_of_sqlite(
    make: Maker, tmp_path: Path, store: Store, keyring_secrets: KeyringSecretStore
) -> None:
    backend = make(keyring_secrets)
    backend.save_account(
        "imap",
        "email:Support@Shop.test",
        "Support",
        {**EMAIL_SETTINGS, "password": "leak?"},
        {"password": "hunter2-Secret"},
    )
    [account] = store.accounts()
    assert account.id == "email:Support@Shop.test" and account.own_keys == frozenset(
        {"support@shop.test"}
    )
    assert account.settings["provider"] == "imap" and "password" not in account.settings
    assert keyring_secrets.get(account.id, "password") == "hunter2-Secret"
    assert b"hunter2" not in (tmp_path / "inbox.db").read_bytes()
    assert "hunter2" not in repr(backend) + repr(keyring_secrets)
    assert [(a.name, a.kind, a.state) for a in backend.accounts()] == [
        ("Support", "E-mail (IMAP/SMTP)", "idle")
    ]


def test_saving_again_leaves_the_state_to_the_sync_service(
    make: Maker, store: Store, keyring_secrets: KeyringSecretStore
) -> None:
    backend = make(keyring_secrets)
    backend.save_account("imap", "email:a@shop.test", "", EMAIL_SETTINGS, {"password": "old"})
    store.set_account_state("email:a@shop.test", "needs_sign_in", "password refused")
    assert backend.accounts()[0].state == "needs_sign_in"
    backend.save_account("imap", "email:a@shop.test", "A", EMAIL_SETTINGS, {"password": "new"})
    # The sync service owns account states: it runs the account again with the new password
    # (tests/ui/test_settings_reach_sync.py) and says how that went; Settings never guess it.
    assert [(a.name, a.state) for a in backend.accounts()] == [("A", "needs_sign_in")]
    assert keyring_secrets.get("email:a@shop.test", "password") == "new"


def test_an_account_id_of_another_channel_is_refused(make: Maker, store: Store) -> None:
    with pytest.raises(InputError, match="account id: 'twitter:1' must be email:"):
        make().save_account("imap", "twitter:1", "x", EMAIL_SETTINGS, {})
    with pytest.raises(InputError, match="unknown provider kind"):
        make().save_account("telex", "email:a", "x", {}, {})
    assert store.accounts() == []


def test_removing_forgets_the_secrets_and_wipe_the_conversations(make: Maker, store: Store) -> None:
    secrets = MemorySecretStore()
    backend = make(secrets)
    backend.save_account(
        "imap", "email:support@shop.test", "Support", EMAIL_SETTINGS, {"password": "p"}
    )
    account = store.account("email:support@shop.test")
    assert account is not None
    store.ingest(account, [mail(1)])
    assert store.open_conversation_ids()
    backend.remove_account(account.id, wipe=True)
    assert backend.accounts() == [] and store.open_conversation_ids() == []
    assert secrets.get(account.id, "password") is None
    with pytest.raises(InputError, match="no such account"):
        backend.remove_account(account.id, wipe=False)


def test_removing_an_account_forgets_the_tokens_its_sign_in_stored(make: Maker, store: Store) -> None:
    """An X account's tokens come from the browser sign-in, not from a form field."""
    secrets = MemorySecretStore()
    backend = make(secrets)
    store.save_account(Account("twitter:42", Channel.TWITTER, "@brand", frozenset({"42"}), {"provider": "x"}))
    for name in ("access_token", "refresh_token", "expires_at"):
        secrets.set("twitter:42", name, f"{name}-value")
    backend.remove_account("twitter:42", wipe=False)
    assert [secrets.get("twitter:42", n) for n in ("access_token", "refresh_token", "expires_at")] == [None] * 3


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        (None, None),
        (AuthError("535 authentication failed"), "needs sign-in: wrong password or token"),
        (TransientError("connection refused"), "cannot reach the server: connection refused"),
        (RateLimited("429", 90.4), "the service asks to wait: 90 s"),
        (PermanentError("403 page not managed"), "refused by the service: 403 page not managed"),
        (ValueError("boom"), "unexpected error: ValueError"),
    ],
)
def test_connection_test_messages(
    make: Maker,
    store: Store,
    outcome: BaseException | None,
    message: str | None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(CheckingProvider, "outcome", outcome)
    monkeypatch.setattr(CheckingProvider, "seen", [])
    backend = make(factories={"imap": fake})
    assert check(backend, "imap", EMAIL_SETTINGS, {"password": "typed"}) == message
    [(account, password)] = CheckingProvider.seen
    assert password == "typed" and account.settings["provider"] == "imap"
    assert store.accounts() == []  # a test saves nothing


def test_a_server_that_never_answers_is_unreachable(
    make: Maker, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CheckingProvider, "hang", True)
    monkeypatch.setattr(settings_backend, "CHECK_TIMEOUT", 0.05)
    backend = make(factories={"imap": fake})
    assert (check(backend, "imap", EMAIL_SETTINGS, {}) or "").startswith("cannot reach the server")


def test_unknown_kind_is_a_message_not_a_crash(make: Maker, store: Store) -> None:
    assert "unknown provider kind 'telex'" in (check(make(), "telex", {}, {}) or "")


def dovecot_settings(imap: DovecotServer, smtp_port: int) -> dict[str, str]:
    return {
        "imap_host": imap.host,
        "imap_port": str(imap.port),
        "imap_security": "none",
        "smtp_host": imap.host,
        "smtp_port": str(smtp_port),
        "smtp_security": "none",
        "username": imap.user,
    }


@pytest.mark.servers
def test_real_mail_servers_wrong_then_right_password(
    make: Maker,
    store: Store,
    dovecot_server: DovecotServer,  # noqa: F811
    smtp_server: SmtpServer,  # noqa: F811
) -> None:
    backend = make()
    settings = dovecot_settings(dovecot_server, smtp_server.port)
    assert (
        check(backend, "imap", settings, {"password": "wrong"})
        == "needs sign-in: wrong password or token"
    )
    assert check(backend, "imap", settings, {"password": dovecot_server.password}) is None
    closed = {**settings, "imap_port": str(free_port())}
    message = check(backend, "imap", closed, {"password": dovecot_server.password}) or ""
    assert message.startswith("cannot reach the server") and dovecot_server.password not in message


def test_policies_start_from_the_defaults_and_apply_only_when_valid(
    make: Maker, store: Store
) -> None:
    backend = make()
    text = backend.policies_text()
    assert "[[policy]]" in text
    bad = text.replace('first_reply = "1h"', 'first_reply = "soon"', 1)
    with pytest.raises(InputError, match="first_reply"):
        backend.apply_policies(bad)
    assert backend.policies_text() == text
    mine = text.replace('# country = "FR"', 'country = "FR"')
    backend.apply_policies(mine)
    assert backend.policies_text() == mine
    assert backend.country_holidays("FR", range(2026, 2027)) >= {date(2026, 7, 14)}
