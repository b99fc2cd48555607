"""Which provider serves an account: its kind (``settings["provider"]``, else by channel).

Provider modules are imported only when an account of their kind is built, so a missing or
broken connector costs only its own accounts. Non-secret options come from the account's
settings (``base_url`` for the HTTP services); secrets come from the injected SecretStore.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import httpx

from inbox.errors import InputError
from inbox.models import Account, Channel, Draft
from inbox.secrets import SecretStore
from inbox.sync.contract import Provider, ProviderInfo


@dataclass(frozen=True, slots=True)
class ProviderKind:
    """Where a kind's class lives and how it is built (``http``: takes the shared client)."""

    module: str
    cls: str
    http: bool = True
    base_url: bool = False


KINDS: dict[str, ProviderKind] = {
    "imap": ProviderKind("inbox.providers.email.provider", "EmailProvider"),
    "x": ProviderKind("inbox.providers.twitter.provider", "XProvider", base_url=True),
    "facebook": ProviderKind(
        "inbox.providers.facebook.provider", "FacebookProvider", base_url=True
    ),
    "webform-json": ProviderKind("inbox.providers.webform.provider", "WebformProvider"),
}

ALIASES = {"email": "imap", "twitter": "x", "graph": "facebook", "webform": "webform-json"}

DEFAULT_KIND = {
    Channel.EMAIL: "imap",
    Channel.TWITTER: "x",
    Channel.FACEBOOK: "facebook",
    Channel.WEBFORM: "webform-json",
}


def provider_kind(account: Account) -> str:
    """The kind named by the account's settings, else the default for its channel."""
    named = account.settings.get("provider", "").strip().lower()
    if not named:
        return DEFAULT_KIND[account.channel]
    named = ALIASES.get(named, named)
    if named not in KINDS:
        known = ", ".join(sorted(KINDS))
        raise InputError(f"account {account.id}", f"unknown provider '{named}' (known: {known})")
    return named


def provider_class(kind: str) -> type[Any]:
    """The class of ``kind``, imported now; InputError when the connector is not installed."""
    spec = KINDS.get(ALIASES.get(kind, kind))
    if spec is None:
        raise InputError("provider", f"unknown provider kind '{kind}'")
    try:
        module = importlib.import_module(spec.module)
        return cast(type[Any], getattr(module, spec.cls))
    except (ImportError, AttributeError) as exc:
        raise InputError("provider", f"the {kind} connector is not available ({exc})") from exc


def provider_info(kind: str) -> ProviderInfo:
    """A kind's metadata (display name, setup form fields, minimum poll interval)."""
    return cast(ProviderInfo, provider_class(kind).info)


def build_provider(
    account: Account,
    secrets: SecretStore,
    http: httpx.AsyncClient,
    *,
    factories: dict[str, Callable[[Account, SecretStore, httpx.AsyncClient], Provider]]
    | None = None,
    last_inbound: Callable[[Draft], datetime | None] | None = None,
) -> Provider:
    """The provider for ``account`` (not yet entered). ``factories`` override kinds (tests)."""
    kind = provider_kind(account)
    if factories and kind in factories:
        return factories[kind](account, secrets, http)
    spec = KINDS[kind]
    cls = provider_class(kind)
    kwargs: dict[str, Any] = {}
    base_url = account.settings.get("base_url", "").strip()
    if spec.base_url and base_url:
        kwargs["base_url"] = base_url
    if kind == "facebook" and last_inbound is not None:
        kwargs["last_inbound"] = last_inbound  # Messenger's 24-hour window is checked before sending
    if spec.http:
        return cast(Provider, cls(account, secrets, http, **kwargs))
    return cast(Provider, cls(account, secrets, **kwargs))
