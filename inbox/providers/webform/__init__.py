"""Web forms: our JSON shape, Jotform webhooks, form notification mails and a polled endpoint.

:func:`import_file` reads a saved payload; it answers None for files that are not web-form
payloads, so the caller can offer the file to another channel.
"""

from __future__ import annotations

from pathlib import Path

from inbox.models import ParsedBatch, Rejection
from inbox.providers.json_input import JsonRefused, loads
from inbox.providers.webform.jotform import parse_jotform
from inbox.providers.webform.mail_rule import FormMailRule, apply_rule, rules_from_settings
from inbox.providers.webform.parse import FieldMapping, parse_payload
from inbox.providers.webform.provider import WebformProvider

__all__ = [
    "FieldMapping",
    "FormMailRule",
    "WebformProvider",
    "apply_rule",
    "import_file",
    "parse_jotform",
    "parse_payload",
    "rules_from_settings",
]

MAX_FILE_BYTES = 20 * 1024 * 1024
_MARKER = b'"inbox_webform"'


def _is_submission(doc: dict[str, object]) -> bool:
    """A single submission object: fields plus an id, a time or a form."""
    fields = doc.get("fields")
    has_fields = isinstance(fields, dict) or (
        isinstance(fields, list) and all(isinstance(f, dict) and "value" in f for f in fields)
    )
    return has_fields and any(k in doc for k in ("submitted_at", "form_id", "form"))


def _is_jotform(data: bytes) -> bool:
    head = data.lstrip()
    if head.startswith(b"--"):
        return b'name="formID"' in data or b'name="rawRequest"' in data
    return b"formID=" in data and b"rawRequest=" in data


def import_file(path: Path) -> ParsedBatch | None:
    """Our JSON (``inbox_webform``), a single submission object or a Jotform webhook body.

    None when the file is not a web-form payload. Never raises.
    """
    source = str(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            return None
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        return ParsedBatch(rejections=(Rejection(source, f"cannot read: {reason}"),))
    if _is_jotform(data):
        return parse_jotform(data, source)
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not stripped.startswith(b"{"):
        return None
    try:
        doc = loads(stripped.decode("utf-8"))
    except (UnicodeDecodeError, JsonRefused) as exc:
        if _MARKER in data[:4096]:
            reason = exc.reason if isinstance(exc, JsonRefused) else "invalid JSON: not UTF-8"
            return ParsedBatch(rejections=(Rejection(source, reason),))
        return None
    if not isinstance(doc, dict):
        return None
    if "inbox_webform" in doc or _is_submission(doc):
        return parse_payload(doc, source)
    return None
