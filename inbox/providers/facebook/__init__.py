"""The Facebook Page channel: Messenger conversations and post comments via the Graph API.

The names below are imported when first used (``inbox.providers.lazy``): a parser does not bring
the HTTP client of the live provider."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inbox.providers.lazy import lazy_exports

if TYPE_CHECKING:
    from inbox.providers.facebook.parse import import_file, parse_payload
    from inbox.providers.facebook.provider import FacebookProvider, messenger_window_remaining

_HOMES = {
    "FacebookProvider": "provider",
    "import_file": "parse",
    "messenger_window_remaining": "provider",
    "parse_payload": "parse",
}

__all__ = ["FacebookProvider", "import_file", "messenger_window_remaining", "parse_payload"]

__getattr__ = lazy_exports(__name__, _HOMES)
