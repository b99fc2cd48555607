"""RFC 5322 / MIME bytes to :class:`inbox.models.Message`, whatever state the mail is in.

The modern ``email.policy.default`` parser reads the message; where it raises on a broken header,
the same header is read again through ``compat32``, and where the whole message fails the
``compat32`` parser takes over. Whatever still fails leaves a message with what could be read:
``parse_email`` never raises.
"""

from __future__ import annotations

import email
import email.policy
import hashlib
import mimetypes
import re
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.header import decode_header
from email.message import Message as MimeMessage
from email.parser import BytesHeaderParser
from email.utils import getaddresses, parsedate_to_datetime

from inbox.models import Attachment, Author, Channel, Direction, IdentityKind, Message, Surface
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

_MSG_ID = re.compile(r"<([^<>\s]+)>")
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "ks_c_5601-1987": "cp949",
    "ks_c_5601": "cp949",
    "euc-kr": "cp949",
    "iso-8859-1": "cp1252",
    "latin1": "cp1252",
    "us-ascii": "ascii",
    "shift_jis": "cp932",
    "x-sjis": "cp932",
    "iso-8859-8-i": "iso-8859-8",
    "utf8": "utf-8",
}


def _unsurrogate(text: str) -> str:
    """Undo ``surrogateescape`` (raw 8-bit header bytes) as UTF-8, else cp1252, never surrogates."""
    if not _SURROGATE.search(text):
        return text
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return decode_bytes(data, None)


def clean_line(text: str) -> str:
    """One line of header text: no control characters, no surrogates, trimmed."""
    text = _unsurrogate(text).replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return _CONTROL.sub("", text).strip()


def clean_body(text: str) -> str:
    """Body text with Unix newlines and without NUL, other controls or lone surrogates."""
    text = _unsurrogate(text).replace("\r\n", "\n").replace("\r", "\n")
    return re.sub("[\x00-\x08\x0b\x0e-\x1f\x7f]", "", text)


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    return _CHARSET_ALIASES.get(name, name) or None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Declared charset, else UTF-8, else the declared charset with replacement, else cp1252."""
    codec = _codec(charset)
    attempts: list[tuple[str, str]] = []
    if codec:
        attempts.append((codec, "strict"))
    attempts.append(("utf-8", "strict"))
    if codec and codec != "ascii":  # a few bad bytes in a real charset: keep the rest right
        attempts.append((codec, "replace"))
    attempts.append(("cp1252", "strict"))
    for name, errors in attempts:
        try:
            return data.decode(name, errors)
        except (UnicodeError, LookupError):
            continue
    return data.decode("latin-1")


def decode_words(value: str) -> str:
    """Decode RFC 2047 encoded words in a raw header value, tolerating bad charsets."""
    if "=?" not in value:
        return _unsurrogate(value)
    try:
        chunks = decode_header(value)
    except Exception:  # keep the raw text
        return _unsurrogate(value)
    out = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(_unsurrogate(chunk))
        else:
            out.append(decode_bytes(chunk, charset))
    return "".join(out)


def message_ids(values: list[str]) -> list[str]:
    """Every well-formed ``<id>`` in header values, in order, without brackets."""
    found: list[str] = []
    for value in values:
        found.extend(_MSG_ID.findall(value.replace("\r", "").replace("\n", "")))
    return [_unsurrogate(item) for item in found if not _SURROGATE.search(_unsurrogate(item))]


def _own_id(values: list[str]) -> str | None:
    ids = message_ids(values)
    if ids:
        return ids[0]
    for value in values:
        token = clean_line(value).strip("<> ")
        if token and " " not in token:
            return token
    return None


class _Headers:
    """Header access that falls back to a ``compat32`` reading when the modern policy raises."""

    def __init__(self, msg: MimeMessage, raw: bytes, modern: bool) -> None:
        self._msg = msg
        self._raw = raw
        self._modern = modern
        self._legacy: MimeMessage | None = None if modern else msg

    def legacy(self) -> MimeMessage:
        if self._legacy is None:
            parser = BytesHeaderParser(policy=email.policy.compat32)
            self._legacy = parser.parsebytes(self._raw)
        return self._legacy

    def raw_all(self, name: str) -> list[str]:
        """Undecoded values of every occurrence (for message ids and dates)."""
        try:
            values = self.legacy().get_all(name) or []
        except Exception:  # unreadable headers: as if absent
            return []
        return [str(value) for value in values]

    def text(self, name: str) -> str | None:
        values = self.raw_all(name)
        if self._modern and not any(len(value) > 4000 for value in values):
            with suppress(Exception):  # on failure, read it again the old way
                value = self._msg.get(name)
                return None if value is None else _unsurrogate(str(value))
        return decode_words(values[0]) if values else None

    def addresses(self, name: str) -> list[tuple[str, str]]:
        """(display name, address) pairs, groups flattened, entries without an address dropped."""
        pairs: list[tuple[str, str]] = []
        if self._modern:
            try:
                header = self._msg.get(name)
                found = getattr(header, "addresses", ()) if header is not None else ()
                pairs = [(str(a.display_name), str(a.addr_spec)) for a in found]
            except Exception:  # read them again the old way below
                pairs = []
        if not pairs:
            try:
                pairs = [
                    (decode_words(display), _unsurrogate(address))
                    for display, address in getaddresses(self.raw_all(name))
                ]
            except Exception:  # no usable address
                pairs = []
        result = []
        for display, address in pairs:
            address = clean_line(address).strip("<>")
            if address and address != "<>" and any(c.isalnum() for c in address):
                result.append((clean_line(display), address))
        return result


def _author(display: str, address: str) -> Author:
    return Author(
        kind=IdentityKind.EMAIL, key=address.lower(), handle=address, display_name=display
    )


def _parse_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed is None:
        return None
    try:
        parsed = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        return None
    return parsed if 1970 <= parsed.year <= 2200 else None


def _sent_at(headers: _Headers, fallback_time: datetime) -> datetime:
    for value in headers.raw_all("Date"):
        parsed = _parse_date(_unsurrogate(value))
        if parsed:
            return parsed
    for value in headers.raw_all("Received"):
        if ";" in value:
            parsed = _parse_date(_unsurrogate(value).rsplit(";", 1)[1])
            if parsed:
                return parsed
    return fallback_time


@dataclass
class _Body:
    plain: list[str] = field(default_factory=list)
    html: list[str] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)


def _filename(part: MimeMessage) -> str:
    try:
        name = part.get_filename() or ""
    except Exception:  # a broken filename parameter: a name is made up later
        name = ""
    name = clean_line(decode_words(str(name)))
    return re.split(r"[\\/]", name)[-1].strip(". ")


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
            size: int | None = len(part.as_bytes())
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


def _build(
    msg: MimeMessage, raw: bytes, modern: bool, source: str, fallback_time: datetime
) -> Message:
    headers = _Headers(msg, raw, modern)
    own_id = _own_id(headers.raw_all("Message-ID"))
    provider_id = own_id or "sha256:" + hashlib.sha256(raw).hexdigest()[:32]
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

    in_reply_to = [i for i in message_ids(headers.raw_all("In-Reply-To")) if i != own_id]
    references: list[str] = []
    for item in message_ids(headers.raw_all("References")) + in_reply_to:
        if item != own_id and item not in references:
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
    noise = classify_noise(msg)
    if noise:
        meta["auto"] = noise
    return Message(
        provider_id=provider_id,
        channel=Channel.EMAIL,
        surface=Surface.EMAIL,
        direction=Direction.INBOUND,
        author=author,
        text=clean_body(text),
        sent_at=_sent_at(headers, fallback_time),
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
    for policy in (email.policy.default, email.policy.compat32):
        with suppress(Exception):  # on failure, try the next, more lenient reading
            msg = email.message_from_bytes(raw, policy=policy)
            return _build(msg, raw, policy is email.policy.default, source, fallback_time)
    return _minimal(raw, source, fallback_time)
