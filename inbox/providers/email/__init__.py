"""The e-mail channel: parsing and import (``parse``, ``sources``), HTML safety (``sanitize``),
automatic-mail detection (``noise``), and the live IMAP/SMTP provider."""

from inbox.providers.email.noise import classify_noise
from inbox.providers.email.parse import parse_email
from inbox.providers.email.provider import EmailProvider
from inbox.providers.email.sanitize import has_remote_content, html_to_text, sanitize_html
from inbox.providers.email.sources import import_mail, iter_mail, looks_like_mail

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
