"""A channel account as the command lines set it up (``inbox account add`` on the desktop,
``inbox serve account add`` on the team server): one rule for its id, its own identity keys and
its ``--set KEY=VALUE`` settings."""

from __future__ import annotations

from collections.abc import Iterable

from inbox.errors import InputError
from inbox.models import Account, Channel


def settings_from(items: Iterable[str]) -> dict[str, str]:
    """``KEY=VALUE`` items as settings; an item without ``=`` or without a key is refused by name."""
    settings: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError("--set", f"'{item}' is not KEY=VALUE")
        settings[key.strip()] = value.strip()
    return settings


def new_account(channel: Channel, ident: str, name: str | None, own: Iterable[str], settings: dict[str, str]) -> Account:
    """The account ``<channel>:<ident>``; its own keys are ``own`` plus the channel's own identity
    (the mailbox address in lower case, the X or Facebook id), so its replies read as outbound."""
    keys = set(own)
    if channel is Channel.EMAIL:
        keys.add(ident.lower())
    elif channel in (Channel.TWITTER, Channel.FACEBOOK):
        keys.add(ident)
    return Account(f"{channel.value}:{ident}", channel, name or ident, frozenset(keys), settings)
