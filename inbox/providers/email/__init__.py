"""The e-mail channel: parsing and import (``parse``, ``sources``), HTML safety (``sanitize``),
automatic-mail detection (``noise``), and the live IMAP/SMTP provider.

The names below are imported when first used (PEP 562): a parser worker of ``inbox import``
imports ``sources`` alone, without the IMAP, SMTP and HTTP clients of the live provider (a
third of its start-up)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from inbox.providers.lazy import lazy_exports

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


__getattr__ = lazy_exports(__name__, _HOMES)
