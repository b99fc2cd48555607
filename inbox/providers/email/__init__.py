"""The e-mail channel: parsing and import (``parse``, ``sources``), HTML safety (``sanitize``),
automatic-mail detection (``noise``), and the live IMAP/SMTP provider.

The names below are imported when first used (PEP 562): a parser worker of ``inbox import``
imports ``sources`` alone, without the IMAP, SMTP and HTTP clients of the live provider (a
third of its start-up)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from inbox.providers.email.noise import classify_noise
    from inbox.providers.email.parse import parse_email
    from inbox.providers.email.provider import EmailProvider
    from inbox.providers.email.sanitize import has_remote_content, html_to_text, sanitize_html
    from inbox.providers.email.sources import import_mail, iter_mail, looks_like_mail

_HOMES = {
    "EmailProvider": "provider",
    "classify_noise": "noise",
    "has_remote_content": "sanitize",
    "html_to_text": "sanitize",
    "import_mail": "sources",
    "iter_mail": "sources",
    "looks_like_mail": "sources",
    "parse_email": "parse",
    "sanitize_html": "sanitize",
}

__all__ = [
    "EmailProvider",
    "classify_noise",
    "has_remote_content",
    "html_to_text",
    "import_mail",
    "iter_mail",
    "looks_like_mail",
    "parse_email",
    "sanitize_html",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
