"""The settings dialog's backend: accounts in the store, secrets in the keyring, provider checks.

Composition code (like ``app`` and ``workspace``): it joins the store, the provider registry,
the secret store and the shared HTTP client behind ``inbox.ui.settings_dialog.SettingsBackend``.
A connection test builds the provider with the secrets typed in the form held in memory only;
they reach the keyring when the account is saved, never SQLite.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import Any, cast

import httpx

from inbox.errors import (
    AuthError,
    InboxError,
    InputError,
    PermanentError,
    ProviderBug,
    RateLimited,
    TransientError,
)
from inbox.models import Account, Channel
from inbox.providers.base import Provider, ProviderInfo
from inbox.providers.registry import KINDS, build_provider, provider_info, provider_kind
from inbox.secrets import MemorySecretStore, SecretStore
from inbox.sla_holidays import country_holidays
from inbox.sla_policy import load_policies
from inbox.store.repository import Store
from inbox.workspace import POLICY_SETTING, refresh_sla

log = logging.getLogger(__name__)

#: A connection test that has not answered by then reports the server as unreachable.
CHECK_TIMEOUT = 30.0

Factories = dict[str, Callable[[Account, SecretStore, httpx.AsyncClient], Provider]]


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """An account as the settings list shows it."""

    id: str
    name: str
    kind: str  # the provider's display name
    state: str  # an inbox.sync.AccountState value, or "unknown"
    reason: str = ""


def check_message(exc: BaseException) -> str:
    """The one line a user reads when a connection test fails (no secret in it)."""
    if isinstance(exc, AuthError):
        return "needs sign-in: wrong password or token"
    if isinstance(exc, RateLimited):
        return f"the service asks to wait: {round(exc.retry_after)} s"
    if isinstance(exc, TransientError):
        return f"cannot reach the server: {exc}" if str(exc) else "cannot reach the server"
    if isinstance(exc, TimeoutError):
        return f"cannot reach the server: no answer in {CHECK_TIMEOUT:.0f} s"
    if isinstance(exc, PermanentError):
        return f"refused by the service: {exc}"
    if isinstance(exc, ProviderBug):
        return f"unexpected error in the connector: {exc}"
    if isinstance(exc, InboxError):
        return str(exc)
    return f"unexpected error: {type(exc).__name__}"


class SettingsBackend:
    """Meets ``inbox.ui.settings_dialog.SettingsBackend`` over the real store and providers."""

    def __init__(
        self,
        store: Store,
        secrets: SecretStore,
        http: httpx.AsyncClient,
        *,
        factories: Factories | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._secrets = secrets
        self._http = http
        self._factories = factories
        self._clock = clock

    def __repr__(self) -> str:
        return f"SettingsBackend({self._store.where!r})"

    # -- accounts -------------------------------------------------------------------------------

    def provider_kinds(self) -> list[ProviderInfo]:
        """Every provider kind whose connector can be loaded."""
        infos = []
        for kind in KINDS:
            try:
                infos.append(provider_info(kind))
            except InputError as exc:
                log.warning("settings: %s", exc)
        return infos

    def _kind(self, account: Account) -> str | None:
        try:
            return provider_kind(account)
        except InputError:
            return None

    def _secret_names(self, kind: str | None) -> list[str]:
        if kind is None:
            return []
        try:
            return [f.name for f in provider_info(kind).fields if f.secret]
        except InputError:
            return []

    def accounts(self) -> list[AccountStatus]:
        rows = []
        for account in self._store.accounts():
            kind = self._kind(account)
            try:
                label = provider_info(kind).display_name if kind else "unknown provider"
            except InputError:
                label = kind or "unknown provider"
            state, reason = self._store.account_state(account.id)
            rows.append(AccountStatus(account.id, account.name, label, state, reason))
        return rows

    def save_account(
        self,
        kind: str,
        account_id: str,
        name: str,
        settings: Mapping[str, str],
        secrets: Mapping[str, str],
    ) -> None:
        """Secrets to the secret store first, then the account (its state back to idle)."""
        info = provider_info(kind)
        prefix = f"{info.channel.value}:"
        own = account_id.removeprefix(prefix).strip()
        if not account_id.startswith(prefix) or not own:
            raise InputError("account id", f"'{account_id}' must be {prefix}<the account's own id>")
        secret_names = {f.name for f in info.fields if f.secret}
        clean = {k: v for k, v in settings.items() if k not in secret_names}
        clean["provider"] = kind
        own_key = own.lower() if info.channel is Channel.EMAIL else own
        existing = self._store.account(account_id)
        own_keys = frozenset({own_key}) | (existing.own_keys if existing else frozenset())
        for secret, value in secrets.items():
            if secret in secret_names and value:
                self._secrets.set(account_id, secret, value)
        account = Account(account_id, info.channel, name.strip() or own, own_keys, clean)
        self._store.save_account(account)
        self._store.set_account_state(account_id, "idle", "")

    def remove_account(self, account_id: str, wipe: bool) -> None:
        """Forget the account (with ``wipe``, its conversations too) and its secrets."""
        account = self._store.account(account_id)
        if account is None:
            raise InputError(f"account {account_id}", "no such account")
        names = self._secret_names(self._kind(account))
        self._store.remove_account(account_id, wipe=wipe)
        for secret in names:
            self._secrets.delete(account_id, secret)

    async def check(
        self, kind: str, settings: Mapping[str, str], secrets: Mapping[str, str]
    ) -> str | None:
        """Sign in with what the form holds; None when it works, else the user's message."""
        try:
            info = provider_info(kind)
        except InputError as exc:
            return str(exc)
        account = Account(
            id=f"{info.channel.value}:connection-test",
            channel=info.channel,
            name="connection test",
            settings={**settings, "provider": kind},
        )
        held = MemorySecretStore()
        for secret, value in secrets.items():
            held.set(account.id, secret, value)
        try:
            provider = build_provider(account, held, self._http, factories=self._factories)
            async with asyncio.timeout(CHECK_TIMEOUT), provider:
                await provider.check()
        except Exception as exc:
            if not isinstance(exc, InboxError | TimeoutError):
                log.warning("settings: connection test of %s failed: %r", kind, type(exc))
            return check_message(exc)
        return None

    async def sign_in(
        self, kind: str, settings: Mapping[str, str], open_browser: Callable[[str], object] | None = None
    ) -> str:
        """Browser sign-in (X: OAuth 2.0 with PKCE and a loopback redirect). The tokens go to the
        secret store under the account's real id, and the account is saved; returns its id.
        Raises InputError for a kind without browser sign-in, and the provider's errors."""
        if kind != "x":
            raise InputError("sign-in", "browser sign-in is for X accounts; other accounts use the form")
        import webbrowser

        held = MemorySecretStore()
        pending = Account("twitter:sign-in", Channel.TWITTER, "sign-in", settings={**settings, "provider": kind})
        provider = build_provider(pending, held, self._http, factories=self._factories)
        authorize = settings.get("authorize_url", "").strip()
        async with provider:
            sign_in = cast(Any, provider).sign_in  # XProvider's own ability, not the contract's
            extra = {"authorize_base": authorize} if authorize else {}
            user_id, username = await sign_in(open_browser or webbrowser.open, **extra)
        account_id = f"twitter:{user_id}"
        for name in ("access_token", "refresh_token", "expires_at"):
            value = held.get(pending.id, name)
            if value:
                self._secrets.set(account_id, name, value)
        clean = {k: v for k, v in settings.items() if k != "authorize_url"}
        clean.update({"provider": kind, "user_id": user_id, "username": username})
        self._store.save_account(Account(account_id, Channel.TWITTER, f"@{username}", frozenset({user_id}), clean))
        self._store.set_account_state(account_id, "idle", "")
        return account_id

    # -- SLA policies ---------------------------------------------------------------------------

    def policies_text(self) -> str:
        """The policy file in force (the shipped defaults until the user applies another)."""
        text = self._store.setting(POLICY_SETTING)
        if text:
            return text
        return resources.files("inbox").joinpath("data/default_policies.toml").read_text("utf-8")

    def apply_policies(self, text: str) -> None:
        """Validate, store, and recompute every deadline with the new policies."""
        load_policies(text, "SLA policies", country_holidays)
        self._store.set_setting(POLICY_SETTING, text)
        refresh_sla(self._store, self._clock())

    def country_holidays(self, country: str, years: range) -> set[date]:
        return country_holidays(country, years)
