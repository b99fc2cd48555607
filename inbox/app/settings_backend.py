"""The settings dialog's backend: accounts in the store, secrets in the keyring, provider checks.

Composition code (like ``app`` and ``workspace``): it joins the store, the provider registry,
the secret store and the shared HTTP client behind ``inbox.ui.settings_dialog.SettingsBackend``.
A connection test builds the provider with the secrets typed in the form held in memory only;
they reach the keyring when the account is saved, never SQLite. :class:`FacebookSignIn` is
Facebook Login for Devices in steps the dialog drives: the code, the wait, the Page chosen.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from typing import TYPE_CHECKING, Protocol, cast

import httpx

from inbox.app.workspace import refresh_sla
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
from inbox.providers.registry import KINDS, build_provider, provider_info, provider_kind
from inbox.secrets import STORED_SECRET_NAMES, MemorySecretStore, SecretStore
from inbox.sla.holidays import country_holidays
from inbox.sla.policy import POLICY_SETTING, load_policies
from inbox.store.repository import Store
from inbox.sync.contract import Provider, ProviderInfo, SupportsBrowserSignIn

if TYPE_CHECKING:  # the connector itself is imported only when a sign-in starts
    from inbox.providers.facebook.device_login import DeviceLogin, PageChoice

log = logging.getLogger(__name__)

#: A connection test that has not answered by then reports the server as unreachable.
CHECK_TIMEOUT = 30.0

Factories = dict[str, Callable[[Account, SecretStore, httpx.AsyncClient], Provider]]
Sleep = Callable[[float], Awaitable[object]]

#: Where a person enters a device-login code when Facebook names no https address.
FACEBOOK_DEVICE_URL = "https://www.facebook.com/device"
#: Network failures in a row while waiting for approval before the sign-in gives up.
POLL_FAILURES_LIMIT = 3
CODE_EXPIRED = "the code expired before it was approved: start again"


@dataclass(frozen=True, slots=True)
class AccountStatus:
    """An account as the settings list shows it."""

    id: str
    name: str
    kind: str  # the provider's display name
    state: str  # an inbox.sync.service.AccountState value, or "unknown"
    reason: str = ""
    rejected: int = 0  # items its fetches rejected (the state stays "up to date")
    last_rejection: str = ""


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
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._store = store
        self._secrets = secrets
        self._http = http
        self._factories = factories
        self._clock = clock
        self._sleep = sleep  # between device-login polls (tests shorten it)

    @property
    def http(self) -> httpx.AsyncClient:
        """The client "Test connection" and sign-in use (the app's one client)."""
        return self._http

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
            rejected, last = self._store.account_rejections(account.id)
            rows.append(AccountStatus(account.id, account.name, label, state, reason, rejected, last))
        return rows

    def save_account(
        self,
        kind: str,
        account_id: str,
        name: str,
        settings: Mapping[str, str],
        secrets: Mapping[str, str],
    ) -> None:
        """Secrets to the secret store first, then the account. Its state belongs to the sync
        service, which runs it again with what was saved (``LiveSync.accounts_changed``)."""
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

    def remove_account(self, account_id: str, wipe: bool) -> None:
        """Forget the account (with ``wipe``, its conversations too) and its secrets."""
        account = self._store.account(account_id)
        if account is None:
            raise InputError(f"account {account_id}", "no such account")
        # The form's secret fields and what a sign-in stored (an X account's tokens are no field).
        names = dict.fromkeys([*self._secret_names(self._kind(account)), *STORED_SECRET_NAMES])
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
        if not isinstance(provider, SupportsBrowserSignIn):
            raise InputError("sign-in", f"{provider_info(kind).display_name} accounts use the form, not the browser")
        browser = open_browser or webbrowser.open
        async with provider:
            if authorize:
                user_id, username = await provider.sign_in(browser, authorize_base=authorize)
            else:
                user_id, username = await provider.sign_in(browser)
        account_id = f"twitter:{user_id}"
        for name in ("access_token", "refresh_token", "expires_at"):
            value = held.get(pending.id, name)
            if value:
                self._secrets.set(account_id, name, value)
        clean = {k: v for k, v in settings.items() if k != "authorize_url"}
        clean.update({"provider": kind, "user_id": user_id, "username": username})
        self._store.save_account(Account(account_id, Channel.TWITTER, f"@{username}", frozenset({user_id}), clean))
        return account_id

    async def facebook_sign_in(
        self, settings: Mapping[str, str], secrets: Mapping[str, str]
    ) -> FacebookSignIn:
        """Start Facebook Login for Devices with the form's app id and client token.

        Returns the sign-in showing its code; raises SignInFailed with the user's message."""
        if not settings.get("app_id", "").strip() or not secrets.get("client_token"):
            raise InputError(
                "sign-in with Facebook", "fill in the App ID and the App client token first"
            )
        names = set(self._secret_names("facebook"))
        clean = {k: v for k, v in settings.items() if k not in names and k not in PAGE_KEYS}
        held = MemorySecretStore()
        pending = Account(
            "facebook:sign-in", Channel.FACEBOOK, "sign-in", settings={**clean, "provider": "facebook"}
        )
        held.set(pending.id, "client_token", secrets["client_token"])
        try:
            built = build_provider(pending, held, self._http, factories=self._factories)
            provider = cast(DeviceLoginProvider, built)  # FacebookProvider's own ability
            async with asyncio.timeout(CHECK_TIMEOUT), built:
                login = await provider.device_login_start()
        except Exception as exc:
            raise SignInFailed(sign_in_message(exc)) from exc
        return FacebookSignIn(self, provider, held, pending.id, login, clean)

    def _now(self) -> float:
        return self._clock().timestamp()

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
        refresh_sla(self._store, self._clock(), force=True)

    def country_holidays(self, country: str, years: range) -> set[date]:
        return country_holidays(country, years)


# -- Facebook Login for Devices -------------------------------------------------------------------

#: Form settings that describe one Page: the Page chosen at sign-in replaces them.
PAGE_KEYS = frozenset({"page_id", "page_name", "provider"})


class SignInFailed(InboxError):
    """A sign-in step failed; the text is the user's message (no secret in it)."""


def sign_in_message(exc: BaseException) -> str:
    """:func:`check_message`, logging the type of what no provider should raise."""
    if not isinstance(exc, InboxError | TimeoutError):
        log.warning("settings: Facebook sign-in failed: %r", type(exc))
    return check_message(exc)


class DeviceLoginProvider(Protocol):
    """What ``FacebookProvider`` offers for Login for Devices."""

    async def device_login_start(self) -> DeviceLogin: ...

    async def device_login_poll(self, login: DeviceLogin) -> str | None: ...

    async def pages_for_user(self, user_token: str) -> list[PageChoice]: ...

    def adopt_page(self, page: PageChoice) -> None: ...


@dataclass(frozen=True, slots=True)
class PageOption:
    """A Page the signed-in person manages, as the dialog lists it (its token stays behind)."""

    id: str
    name: str


class FacebookSignIn:
    """One Facebook Login for Devices under way: show ``user_code`` and ``verification_uri``,
    :meth:`wait` while the person approves (it lists their Pages), then :meth:`adopt` one.

    The user token lives only inside :meth:`wait`; the Page tokens stay in this object's memory
    until :meth:`adopt` puts the chosen one in the secret store or :meth:`close` drops them.
    """

    def __init__(
        self,
        backend: SettingsBackend,
        provider: DeviceLoginProvider,
        held: MemorySecretStore,
        pending_id: str,
        login: DeviceLogin,
        settings: Mapping[str, str],
    ) -> None:
        self._backend = backend
        self._provider = provider
        self._held = held
        self._pending_id = pending_id
        self._login = login
        self._settings = dict(settings)
        self._pages: dict[str, PageChoice] = {}
        # the provider dates the expiry on its own wall clock; ours may be a test's
        self._expires_at = backend._now() + max(0.0, login.expires_at - time.time())

    def __repr__(self) -> str:
        return f"FacebookSignIn(user_code={self.user_code!r})"

    @property
    def user_code(self) -> str:
        return self._login.user_code

    @property
    def verification_uri(self) -> str:
        uri = self._login.verification_uri
        return uri if uri.startswith("https://") else FACEBOOK_DEVICE_URL

    @property
    def interval(self) -> float:
        """Seconds between two polls, as Facebook asked."""
        return self._login.interval

    def seconds_left(self) -> float:
        return max(0.0, self._expires_at - self._backend._now())

    async def wait(self) -> list[PageOption]:
        """Poll every ``interval`` until approved, then list the person's Pages.

        Raises SignInFailed when the code expires, the login is refused, or the network fails
        :data:`POLL_FAILURES_LIMIT` times in a row. Cancelling it stops the polling."""
        interval, failures = self.interval, 0
        token: str | None = None
        while token is None:
            await self._backend._sleep(min(interval, self.seconds_left()))
            if self.seconds_left() < 1.0:  # too late for anyone to approve it now
                raise SignInFailed(CODE_EXPIRED)
            try:
                async with asyncio.timeout(CHECK_TIMEOUT):
                    token = await self._provider.device_login_poll(self._login)
                failures = 0
            except RateLimited as exc:  # Facebook's "slow down": poll less often
                interval = max(interval, exc.retry_after)
            except (TransientError, TimeoutError) as exc:
                failures += 1
                if failures >= POLL_FAILURES_LIMIT:
                    raise SignInFailed(check_message(exc)) from exc
            except AuthError as exc:  # refused, or the code expired on Facebook's side
                raise SignInFailed(f"sign-in not completed: {exc}") from exc
            except Exception as exc:
                raise SignInFailed(sign_in_message(exc)) from exc
        try:
            async with asyncio.timeout(CHECK_TIMEOUT):
                pages = await self._provider.pages_for_user(token)
        except Exception as exc:
            raise SignInFailed(sign_in_message(exc)) from exc
        self._pages = {page.id: page for page in pages}
        return [PageOption(page.id, page.name or page.id) for page in pages]

    def adopt(self, page_id: str) -> str:
        """Save the chosen Page as an account, its token in the secret store; returns its id."""
        page = self._pages.get(page_id)
        if page is None:
            raise InputError("Page", "not one of the Pages listed at sign-in")
        try:
            self._provider.adopt_page(page)
        except Exception as exc:
            raise SignInFailed(sign_in_message(exc)) from exc
        account_id = f"facebook:{page.id}"
        secrets = {
            "page_token": self._held.get(self._pending_id, "page_token") or "",
            "client_token": self._held.get(self._pending_id, "client_token") or "",
        }
        settings = self._settings | {"page_id": page.id, "page_name": page.name}
        self._backend.save_account("facebook", account_id, page.name, settings, secrets)
        self.close()
        return account_id

    def close(self) -> None:
        """Forget every token this sign-in holds."""
        self._pages.clear()
        for name in ("page_token", "client_token"):
            self._held.delete(self._pending_id, name)
