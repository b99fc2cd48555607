"""Logs that keep secrets and personal data out unless the user asks for debug output.

:class:`RedactingFilter` rewrites every record that passes through a handler: bearer tokens,
``access_token=...``-style parameters, passwords and e-mail addresses become ``[redacted]``
markers. Account ids (``email:support@example.com``) and outbox ids stay readable: they are the
business's own, and what an operator acts on. ``INBOX_DEBUG=1`` turns redaction of personal data (e-mail addresses) off and lowers
the level to DEBUG; secrets are redacted even then, since a debug log is shared with support.

Call :func:`configure_logging` once, at start-up (``inbox.cli.main()``), before anything logs.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

DEBUG_VARIABLE = "INBOX_DEBUG"
SECRET = "[redacted]"
ADDRESS = "[address]"

_SECRET_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Authorization: Bearer <token>, Basic <credentials>, OAuth header values
    (re.compile(r"(?i)\b(bearer|basic|oauth)\s+[A-Za-z0-9._~+/=|:-]{6,}"), rf"\1 {SECRET}"),
    # access_token=..., "refresh_token": "...", password: ..., client_secret=..., api_key=...
    (
        re.compile(
            r"(?i)([\"']?\b(?:access_token|refresh_token|id_token|client_secret|api_key|apikey"
            r"|app_secret|page_token|token|secret|passwd|password|pwd|code_verifier|device_code)"
            r"\b[\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;}]+"
        ),
        rf"\1{SECRET}",
    ),
    # Graph/Facebook tokens (EAA...) and app tokens "id|secret" appearing bare
    (re.compile(r"\bEAA[A-Za-z0-9-]{10,}"), SECRET),
    (re.compile(r"\b\d{6,}\|[A-Za-z0-9_-]{6,}"), SECRET),
)
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
#: What is ours, not a person's, and shown: an account id (``email:support@example.com``, the
#: mailbox a log line is about) and an outbox id (``inbox.<uuid>@example.com``, what an operator
#: passes to ``inbox outbox resend``).
_OURS = re.compile(
    r"(?:(?<![\w.-])(?:email|webform):[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
    r"|(?:(?<![\w.-])inbox\.[0-9a-f]{32}@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)"
)


def debug_enabled(environ: Mapping[str, str] | None = None) -> bool:
    """True when ``INBOX_DEBUG`` is set to something other than empty, 0, false or no."""
    value = (os.environ if environ is None else environ).get(DEBUG_VARIABLE, "")
    return value.strip().lower() not in ("", "0", "false", "no", "off")


def redact(text: str, *, personal: bool = True) -> str:
    """``text`` with secrets replaced; e-mail addresses too when ``personal``."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    if personal:
        kept = _OURS.split(text)
        ours = _OURS.findall(text)
        text = "".join(
            _ADDRESS.sub(ADDRESS, part) + (ours[i] if i < len(ours) else "")
            for i, part in enumerate(kept)
        )
    return text


class RedactingFilter(logging.Filter):
    """Rewrites each record's message (arguments merged) and exception text, redacted."""

    def __init__(self, *, personal: bool = True) -> None:
        super().__init__()
        self.personal = personal

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: log what we have, still redacted
            message = f"{record.msg!s} {record.args!r}"
        record.msg = redact(message, personal=self.personal)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, personal=self.personal)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, personal=self.personal)
        return True


def configure_logging(
    environ: Mapping[str, str] | None = None,
    *,
    level: int = logging.INFO,
    handler: logging.Handler | None = None,
) -> logging.Handler:
    """Install one redacting handler on the root logger (stderr unless ``handler`` is given).

    ``INBOX_DEBUG=1``: DEBUG level and addresses kept; secrets stay redacted. Idempotent: the
    handler installed by an earlier call is replaced, not duplicated. Returns the handler.
    """
    debug = debug_enabled(environ)
    root = logging.getLogger()
    for old in list(root.handlers):
        if is_redacting_handler(old):
            root.removeHandler(old)
    target = handler or logging.StreamHandler()
    target.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    target.addFilter(RedactingFilter(personal=not debug))
    root.addHandler(target)
    root.setLevel(logging.DEBUG if debug else level)
    return target


def is_redacting_handler(handler: logging.Handler) -> bool:
    """Whether ``handler`` is one :func:`configure_logging` installed (it carries the filter)."""
    return any(isinstance(f, RedactingFilter) for f in handler.filters)
