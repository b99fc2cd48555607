"""The one contract every channel's provider follows.

A provider is an async context manager built with an injected ``httpx.AsyncClient`` (for HTTP
services), a :class:`~inbox.secrets.SecretStore` and its :class:`~inbox.models.Account`.
``check()`` validates credentials before an account is saved; ``fetch(cursor)`` returns a batch of
normalised messages and the next cursor; ``send(draft)`` posts a reply and returns the provider's
id for it. Failures leave a provider only as the types in :mod:`inbox.errors`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import ClassVar, Protocol, Self, runtime_checkable

from inbox.models import Account, Channel, Draft, ParsedBatch


@dataclass(frozen=True, slots=True)
class FormField:
    """One field of an account's setup form; the settings window builds the form from these."""

    name: str
    label: str
    secret: bool = False  # stored in keyring, never in SQLite
    kind: str = "text"  # text | password | int | url | email | bool
    default: str = ""
    required: bool = True
    help: str = ""
    #: (setting, value): the field applies only when that setting (or its default) has this
    #: value, e.g. a mailbox's password only with ``auth=password``.
    applies_when: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class ProviderInfo:
    kind: str  # "imap", "x", "facebook", "webform-json" ...
    channel: Channel
    display_name: str
    fields: tuple[FormField, ...]
    min_poll_interval: float = 60.0

    def secret_fields(self, settings: Mapping[str, str]) -> list[FormField]:
        """The secret fields an account with these settings uses (``applies_when`` honoured)."""
        defaults = {f.name: f.default for f in self.fields}
        out = []
        for f in self.fields:
            if not f.secret:
                continue
            if f.applies_when is not None:
                name, value = f.applies_when
                current = (settings.get(name) or defaults.get(name, "")).strip().lower()
                if current != value:
                    continue
            out.append(f)
        return out


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A batch and the opaque cursor to pass to the next ``fetch``; ``more`` when a page remains."""

    batch: ParsedBatch
    cursor: str | None
    more: bool = False
    info: Mapping[str, str] = field(default_factory=dict)


class Provider(Protocol):
    info: ClassVar[ProviderInfo]

    async def __aenter__(self) -> Self: ...

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    @property
    def account(self) -> Account: ...

    async def check(self) -> None:
        """Raise AuthError / TransientError / PermanentError when the account cannot work."""

    async def fetch(self, cursor: str | None) -> FetchResult: ...

    async def send(self, draft: Draft) -> str:
        """Post the reply; return the provider's id of what was posted."""


@runtime_checkable
class SupportsPush(Protocol):
    """Providers that can wait for new data (IMAP IDLE) instead of polling."""

    async def wait_for_changes(self, timeout: float) -> bool: ...


@runtime_checkable
class SupportsDeliveryCheck(Protocol):
    """Providers that can tell whether a reply went out after a crash (email: the Sent folder)."""

    async def was_delivered(self, draft: Draft) -> bool | None: ...


@runtime_checkable
class SupportsBrowserSignIn(Protocol):
    """Providers whose account is signed in through the browser (X: OAuth 2.0 with PKCE and a
    loopback redirect): the tokens go to the provider's secret store; returns ``(user id, name)``.
    ``authorize_base`` replaces the provider's authorisation page (a local one in tests)."""

    async def sign_in(
        self, open_browser: Callable[[str], object], *, authorize_base: str = ...
    ) -> tuple[str, str]: ...


class HttpProviderBase:
    """What every HTTP provider shares: the injected client outlives it, so entering and leaving
    it acquire nothing; ``account`` is the account it was built for."""

    _account: Account

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    @property
    def account(self) -> Account:
        return self._account
