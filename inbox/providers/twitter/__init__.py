"""The X (Twitter) channel: payload parsing, OAuth 2.0 sign-in and the X API v2 provider.

The names below are imported when first used (``inbox.providers.lazy``): the composer counts a
post's length without the HTTP client of the live provider."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inbox.providers.lazy import lazy_exports

if TYPE_CHECKING:
    from inbox.providers.twitter.length import MAX_TWEET_LENGTH, weighted_length
    from inbox.providers.twitter.parse import import_file, parse_payload
    from inbox.providers.twitter.provider import XProvider

_HOMES = {
    "MAX_TWEET_LENGTH": "length",
    "XProvider": "provider",
    "import_file": "parse",
    "parse_payload": "parse",
    "weighted_length": "length",
}

__all__ = ["MAX_TWEET_LENGTH", "XProvider", "import_file", "parse_payload", "weighted_length"]

__getattr__ = lazy_exports(__name__, _HOMES)
