"""RFC 5322 / MIME bytes to :class:`inbox.models.Message`, whatever state the mail is in.

The ``compat32`` parser reads the structure (cheap: it keeps header values as raw strings), and
:mod:`inbox.providers.email.headers` decodes the few headers that are used: RFC 2047 words,
charsets, addresses, dates and Message-IDs. That is about ten times cheaper than letting the
modern ``email.policy.default`` parse every header it touches. The modern policy is left in two
narrow places: an address header that ``getaddresses`` glues wrongly (``a@b.c d@e.f``, comments
inside an address), and the size of an attached message, regenerated as before.

Where a part of the mail cannot be read, the message keeps what could be; where the whole
structure fails, the bytes are kept as text under a content hash. ``parse_email`` never raises.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import mimetypes
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import Message as MimeMessage
from email.policy import Compat32
from email.utils import unquote
from typing import Any

from inbox.models import Attachment, Author, Channel, Direction, IdentityKind, Message, Surface
from inbox.providers.email.headers import (
    addresses,
    clean_body,
    clean_line,
    decode_bytes,
    decode_words,
    message_ids,
    own_id,
    sent_at,
    unfold,
)
from inbox.providers.email.noise import classify_noise
from inbox.providers.email.sanitize import html_to_text, sanitize_html
from inbox.providers.email.sanitize_links import neutralize_unterminated

#: ``sent_at`` when neither Date nor Received can be read and the caller gives no time.
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
UNKNOWN_SENDER = "unknown@invalid"
_MAX_DEPTH = 40
#: HTML deeper or longer than this is not rendered (the sanitiser's cost grows with depth times
#: size: 100,000 nested tags take minutes); the message keeps its text.
_MAX_HTML_DEPTH = 500
_MAX_HTML_CHARS = 10_000_000
_HTML_TAG = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9]*)[^<>]*>")
_HTML_NO_END = frozenset(
    "area base br col embed hr img input link meta param source track wbr "
    "p li dt dd tr td th option optgroup tbody thead tfoot colgroup rb rt rp".split()
)


class _Policy(Compat32):
    """``compat32`` whose header values come back unfolded (a boundary or file name folded over
    two lines reads as one, as with the modern policy), raw 8-bit bytes kept as surrogate escapes
    (``compat32`` itself turns them into ``unknown-8bit`` Header objects: "?" for each byte)."""

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        return unfold(value) if isinstance(value, str) else value


class _Part(MimeMessage):
    """A message or part whose header lookups use a table by lower-case name, built when first
    asked: ``Message.get`` scans every header, lower-casing each name, and a mail's structure
    is read through a dozen lookups per part (content type, charset, disposition, encoding).
    The table is rebuilt when the header list grows or is replaced; ``replace_header``, the one
    change in place, drops it."""

    _table: tuple[list[tuple[str, Any]], int, dict[str, tuple[str, Any]]] | None = None

    def get(self, name: str, failobj: Any = None) -> Any:  # type: ignore[override]
        headers = self._headers  # type: ignore[attr-defined]
        table = self._table
        if table is None or table[0] is not headers or table[1] != len(headers):
            first: dict[str, tuple[str, Any]] = {}
            for key, value in headers:
                first.setdefault(key.lower(), (key, value))
            table = self._table = (headers, len(headers), first)
        found = table[2].get(name.lower())
        if found is None:
            return failobj
        return self.policy.header_fetch_parse(*found)

    def replace_header(self, _name: str, _value: Any) -> None:
        super().replace_header(_name, _value)
        self._table = None


_POLICY = _Policy(message_factory=_Part)


class _Headers:
    """The top-level header values, raw, by lower-case name, read once."""

    def __init__(self, msg: MimeMessage) -> None:
        self._values: dict[str, list[str]] = {}
        self._addresses: dict[str, list[tuple[str, str]]] = {}
        try:
            for name, value in msg.raw_items():
                self._values.setdefault(name.lower(), []).append(str(value))
        except Exception:  # unreadable headers: as if absent
            self._values.clear()

    @property
    def raw(self) -> dict[str, list[str]]:
        """Every header's undecoded values, by lower-case name."""
        return self._values

    def raw_all(self, name: str) -> list[str]:
        """Undecoded values of every occurrence (for message ids and dates)."""
        return self._values.get(name.lower(), [])

    def text(self, name: str) -> str | None:
        """The first occurrence, encoded words decoded."""
        values = self.raw_all(name)
        return decode_words(values[0]) if values else None

    def addresses(self, name: str) -> list[tuple[str, str]]:
        """(display name, address) pairs, groups flattened, entries without an address dropped."""
        if name not in self._addresses:
            values = self.raw_all(name)
            self._addresses[name] = addresses(values) if values else []
        return self._addresses[name]


def _author(display: str, address: str) -> Author:
    return Author(
        kind=IdentityKind.EMAIL, key=address.lower(), handle=address, display_name=display
    )


@dataclass
class _Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def _filename_param(part: MimeMessage) -> str:
    """``filename`` of Content-Disposition, else ``name`` of Content-Type, decoded.

    As ``get_filename``, but an RFC 2231 value (``filename*=utf-8''caf%C3%A9``) is decoded with
    the same charset fallbacks as the body rather than as replacement characters.
    """
    headers = f"{part.get('Content-Disposition', '')} {part.get('Content-Type', '')}"
    if "name" not in headers.lower():  # neither parameter: skip parsing them (most parts)
        return ""
    value = part.get_param("filename", None, "content-disposition")
    if value is None:
        value = part.get_param("name", None, "content-type")
    if isinstance(value, tuple):  # RFC 2231: (charset, language, %-decoded text)
        charset, _, text = value
        try:
            data = text.encode("latin-1", "surrogateescape")
        except UnicodeEncodeError:
            data = text.encode("utf-8", "surrogateescape")
        return decode_bytes(data, charset).strip()
    return decode_words(unquote(value or "")).strip()


def _filename(part: MimeMessage) -> str:
    try:
        name = _filename_param(part)
    except Exception:  # a broken filename parameter: a name is made up later
        name = ""
    return re.split(r"[\\/]", clean_line(name))[-1].strip(". ")


def _payload_bytes(part: MimeMessage) -> bytes | None:
    try:
        payload = part.get_payload(decode=True)
    except Exception:  # undecodable payload: size unknown
        return None
    return payload if isinstance(payload, bytes) else None


MAX_KEPT_BYTES = 25 * 1024 * 1024  # larger attachments stay metadata only


def _attachment(
    part: MimeMessage, ctype: str, index: int, size: int | None, data: bytes | None = None
) -> Attachment:
    name = _filename(part)
    if not name:
        if ctype.startswith(("message/", "text/")):
            ext = ".eml" if ctype == "message/rfc822" else ".txt"
        else:
            ext = mimetypes.guess_extension(ctype) or ".bin"
        name = f"attachment-{index}{ext}"
    cid = part.get("Content-ID")
    content_id = (clean_line(str(cid)).strip("<> ") or None) if cid is not None else None
    kept = data if data is not None and len(data) <= MAX_KEPT_BYTES else None
    return Attachment(filename=name, content_type=ctype, size=size, content_id=content_id, data=kept)


def _collect(part: MimeMessage, body: _Body, depth: int = 0) -> None:
    if depth > _MAX_DEPTH:
        return
    ctype = part.get_content_type()
    if ctype.startswith("message/") or ctype == "text/rfc822-headers":
        try:
            size: int | None = len(part.as_bytes(policy=email.policy.default))
        except Exception:  # size unknown
            size = None
        body.attachments.append(_attachment(part, ctype, len(body.attachments) + 1, size))
        return
    if part.is_multipart():
        children = [c for c in part.get_payload() if isinstance(c, MimeMessage)]
        if ctype != "multipart/alternative":
            for child in children:
                _collect(child, body, depth + 1)
            return
        variants = []
        for child in children:
            variant = _Body()
            _collect(child, variant, depth + 1)
            variants.append(variant)
            body.attachments.extend(variant.attachments)
        plain = [v.plain for v in variants if v.plain]
        html = [v.html for v in variants if v.html]
        body.plain.extend(plain[0] if plain else [])
        body.html.extend(html[-1] if html else [])
        return
    disposition = part.get_content_disposition()
    payload = _payload_bytes(part)
    if ctype.startswith("multipart/"):  # no parts found: a missing boundary or an empty body
        if payload and payload.strip():
            body.plain.append(decode_bytes(payload, None))
        return
    inline = disposition != "attachment" and not _filename(part)
    if ctype in ("text/plain", "text/html") and inline:
        try:
            charset = part.get_content_charset()
        except Exception:  # unknown charset parameter: decode_bytes guesses
            charset = None
        text = decode_bytes(payload or b"", charset)
        (body.plain if ctype == "text/plain" else body.html).append(text)
        return
    size = len(payload) if payload is not None else None
    body.attachments.append(_attachment(part, ctype, len(body.attachments) + 1, size, payload))


def _html_renderable(html: str) -> bool:
    """False for HTML too long or too deeply nested to sanitise in bounded time."""
    if len(html) > _MAX_HTML_CHARS:
        return False
    depth = 0
    for match in _HTML_TAG.finditer(html):
        if match.group(2).lower() in _HTML_NO_END or match.group(0).endswith("/>"):
            continue
        depth = max(0, depth - 1) if match.group(1) else depth + 1
        if depth > _MAX_HTML_DEPTH:
            return False
    return True


def _build(msg: MimeMessage, raw: bytes, source: str, fallback_time: datetime) -> Message:
    headers = _Headers(msg)
    message_id = own_id(headers.raw_all("Message-ID"))
    provider_id = message_id or "sha256:" + hashlib.sha256(raw).hexdigest()[:32]
    senders = (
        headers.addresses("From") or headers.addresses("Sender") or headers.addresses("Reply-To")
    )
    if senders:
        author = _author(*senders[0])
    else:
        display = re.sub(r'[<>"()]', "", clean_line(headers.text("From") or ""))
        author = _author(display.strip(), UNKNOWN_SENDER)
    recipients: dict[str, Author] = {}
    for pair in headers.addresses("To") + headers.addresses("Cc"):
        recipients.setdefault(pair[1].lower(), _author(*pair))

    in_reply_to = [i for i in message_ids(headers.raw_all("In-Reply-To")) if i != message_id]
    references: list[str] = []
    for item in message_ids(headers.raw_all("References")) + in_reply_to:
        if item != message_id and item not in references:
            references.append(item)

    body = _Body()
    _collect(msg, body)
    html_source = "\n".join(body.html)
    if body.plain:
        text = "\n\n".join(body.plain)
    else:  # html_to_text's parser is quadratic on unterminated tags: neutralise them first
        text = html_to_text(neutralize_unterminated(html_source))
    subject = headers.text("Subject")
    html_ok = bool(body.html) and _html_renderable(html_source)

    meta: dict[str, str] = {"source": source} if source else {}
    if body.html and not html_ok:
        meta["html_dropped"] = "too large or too deeply nested to show safely"
    reply_to = headers.addresses("Reply-To")
    if reply_to:
        meta["reply_to"] = reply_to[0][1]
    list_id = headers.text("List-Id")
    if list_id:
        meta["list_id"] = clean_line(list_id)
    noise = classify_noise(msg, headers.raw)
    if noise:
        meta["auto"] = noise
    return Message(
        provider_id=provider_id,
        channel=Channel.EMAIL,
        surface=Surface.EMAIL,
        direction=Direction.INBOUND,
        author=author,
        text=clean_body(text),
        sent_at=sent_at(headers.raw_all("Date"), headers.raw_all("Received")) or fallback_time,
        subject=clean_line(subject) if subject is not None else None,
        html=sanitize_html(clean_body(html_source)) if html_ok else None,
        recipients=tuple(recipients.values()),
        attachments=tuple(body.attachments),
        reply_to_id=in_reply_to[0] if in_reply_to else None,
        references=tuple(references),
        automated=noise is not None,
        meta=meta,
    )


def _minimal(raw: bytes, source: str, fallback_time: datetime) -> Message:
    """The last resort: the bytes as text, under a content hash."""
    return Message(
        provider_id="sha256:" + hashlib.sha256(raw).hexdigest()[:32],
        channel=Channel.EMAIL,
        surface=Surface.EMAIL,
        direction=Direction.INBOUND,
        author=_author("", UNKNOWN_SENDER),
        text=clean_body(decode_bytes(raw, None)),
        sent_at=fallback_time,
        meta={"source": source, "parse_error": "message structure unreadable"},
    )


def parse_email(raw: bytes, source: str = "", fallback_time: datetime = EPOCH) -> Message:
    """Parse one RFC 5322 message; never raises (see the module docstring).

    ``source`` names where the bytes came from (a file, ``box.mbox#3``, ``imap:INBOX/42``) and
    is kept in ``meta["source"]``; ``fallback_time`` is ``sent_at`` when no date can be read.
    """
    try:
        msg = email.message_from_bytes(raw, policy=_POLICY)
        return _build(msg, raw, source, fallback_time)
    except Exception:  # the structure itself is unreadable: keep the bytes as text
        return _minimal(raw, source, fallback_time)
