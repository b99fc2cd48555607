"""Header values of a mail as clean text: RFC 2047 words, charsets, addresses, dates, Message-IDs.

Every function here takes the raw (unfolded or folded) header strings the ``compat32`` parser
keeps, with undecodable 8-bit bytes as ``surrogateescape`` characters, and never raises: a broken
encoded word or an unknown charset costs a few replacement characters, never the header.
"""

from __future__ import annotations

import base64
import binascii
import email.policy
import re
from datetime import UTC, datetime
from email.utils import getaddresses, parsedate_to_datetime

_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_MSG_ID = re.compile(r"<([^<>\s]+)>")
#: An RFC 2047 encoded word; like the modern parser, no ``?`` inside the encoded text.
_ENCODED_WORD = re.compile(r"=\?([^?]*)\?([qQbB])\?([^?]*)\?=")
_Q_ESCAPE = re.compile(rb"=([a-fA-F0-9]{2})")
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_PLAIN_ADDRESS = rf"{_ATEXT}(?:\.{_ATEXT})*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*"
_WORD = r'[^ \t()<>@,:;"\[\]\\]+'
#: One address as most mail writes it: ``a@b.c``, ``<a@b.c>``, ``Name <a@b.c>``, ``"Name" <a@b.c>``.
_PLAIN_ITEM = re.compile(
    rf'[ \t]*(?:(?:"(?P<quoted>[^"\\]*)"|(?P<phrase>{_WORD}(?:[ \t]+{_WORD})*))?[ \t]*'
    rf"<(?P<angle>{_PLAIN_ADDRESS})>|(?P<bare>{_PLAIN_ADDRESS}))[ \t]*"
)
_BLANKS = re.compile(r"[ \t]+")
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


def _codec(charset: str | None) -> str | None:
    if not charset:
        return None
    name = charset.strip().strip("\"'").lower()
    return _CHARSET_ALIASES.get(name, name) or None


def _mostly_utf8(data: bytes) -> str | None:
    """UTF-8 with replacement characters when nearly all of it is UTF-8 (a cut last character)."""
    text = data.decode("utf-8", "replace")
    bad = text.count("\ufffd")
    good = sum(1 for char in text if char > "\x7f") - bad
    return text if good >= 3 * bad else None


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Declared charset, else UTF-8, else the declared charset with replacement, else cp1252.

    Without a declared charset, bytes that are UTF-8 but for a few bad ones (a name cut in the
    middle of a character) stay UTF-8 with replacement characters rather than become cp1252.
    """
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
        except (ValueError, LookupError):  # a NUL in a charset name is a ValueError
            if name == "utf-8" and not codec:
                guessed = _mostly_utf8(data)
                if guessed is not None:
                    return guessed
            continue
    return data.decode("latin-1")


def unsurrogate(text: str) -> str:
    """Undo ``surrogateescape`` (raw 8-bit header bytes) as UTF-8, else cp1252, never surrogates."""
    if not _SURROGATE.search(text):
        return text
    try:
        data = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return decode_bytes(data, None)


def unfold(value: str) -> str:
    """Join a folded header value's lines (the whitespace that starts each line stays)."""
    return value.replace("\r", "").replace("\n", "")  # not splitlines: it also splits on \x85


def clean_line(text: str) -> str:
    """One line of header text: no control characters, no surrogates, trimmed."""
    text = unsurrogate(text).replace("\t", " ").replace("\r", " ").replace("\n", " ")
    return _CONTROL.sub("", text).strip()


def clean_body(text: str) -> str:
    """Body text with Unix newlines and without NUL, other controls or lone surrogates."""
    text = unsurrogate(text).replace("\r\n", "\n").replace("\r", "\n")
    return re.sub("[\x00-\x08\x0b\x0e-\x1f\x7f]", "", text)


def _word_bytes(encoding: str, text: str) -> bytes:
    """The bytes of one encoded word's text; lenient about padding and stray characters."""
    data = text.encode("ascii", "surrogateescape")
    if encoding in "qQ":
        return _Q_ESCAPE.sub(lambda m: bytes.fromhex(m.group(1).decode()), data.replace(b"_", b" "))
    missing = -len(data) % 4
    for candidate, validate in ((data + b"=" * missing, True), (data, False), (data + b"==", False)):
        try:
            return base64.b64decode(candidate, validate=validate)
        except (binascii.Error, ValueError):
            continue
    return data  # a length no padding can fix: the encoded text itself, as the modern parser


def decode_words(value: str) -> str:
    """Decode the RFC 2047 encoded words of a raw header value, like ``email.policy.default``.

    Whitespace between two encoded words is dropped; adjacent words in the same charset are
    decoded together, so a character split across two words survives. An unknown or lying
    charset falls back as :func:`decode_bytes` does, never raising. The value is unfolded first.
    """
    value = unfold(value)
    if "=?" not in value:
        return unsurrogate(value)
    out: list[str] = []
    pending = b""  # bytes of the adjacent encoded words in pending_charset
    pending_charset: str | None = None
    position = 0
    for match in _ENCODED_WORD.finditer(value):
        gap = value[position : match.start()]
        charset = match.group(1).partition("*")[0]  # RFC 2231 language suffix
        joined = pending_charset is not None and (not gap or not gap.strip(" \t"))
        if joined and charset.lower() == pending_charset:
            pending += _word_bytes(match.group(2), match.group(3))
        else:
            if pending_charset is not None:
                out.append(decode_bytes(pending, pending_charset))
            if gap and not joined:
                out.append(unsurrogate(gap))
            pending, pending_charset = _word_bytes(match.group(2), match.group(3)), charset.lower()
        position = match.end()
    if pending_charset is not None:
        out.append(decode_bytes(pending, pending_charset))
    out.append(unsurrogate(value[position:]))
    return "".join(out)


def _plain_addresses(source: str) -> list[tuple[str, str]] | None:
    """What ``getaddresses`` gives for a list of plain addresses, faster; None for anything else."""
    pairs: list[tuple[str, str]] = []
    position = 0
    while True:
        match = _PLAIN_ITEM.match(source, position)
        if match is None:
            return None
        if match["bare"]:
            pairs.append(("", match["bare"]))
        elif match["quoted"] is not None:
            pairs.append((match["quoted"], match["angle"]))
        else:
            pairs.append((" ".join(_BLANKS.split(match["phrase"] or "")), match["angle"]))
        position = match.end()
        if position == len(source):
            return pairs
        if source[position] != ",":
            return None
        position += 1


def _strict_addresses(values: list[str]) -> list[tuple[str, str]]:
    """The modern parser's reading, for the rare header ``getaddresses`` gets wrong."""
    pairs: list[tuple[str, str]] = []
    for value in values:
        try:
            found = email.policy.default.header_factory("to", value).addresses
        except Exception:  # unreadable: nothing from this value
            continue
        pairs += [(str(item.display_name), str(item.addr_spec)) for item in found]
    return pairs


def _misread(address: str, source: str) -> bool:
    """An address ``getaddresses`` glued from pieces (``a@b c.d``, ``a(x)@b``, ``@route``)."""
    return bool(address) and (
        address not in source or address.startswith("@") or any(c.isspace() for c in address)
    )


def _drop_comments(value: str) -> str:
    """The value with its ``(comments)`` (nested, with escapes) made spaces; quotes respected."""
    out: list[str] = []
    depth = 0
    quoted = escaped = False
    for char in value:
        if escaped:
            escaped = False
            if not depth:
                out.append(char)
        elif char == "\\":
            escaped = True
            if not depth:
                out.append(char)
        elif quoted:
            quoted = char != '"'
            out.append(char)
        elif char == "(":
            depth += 1
        elif char == ")" and depth:
            depth -= 1
            if not depth:
                out.append(" ")
        elif not depth:
            quoted = char == '"'
            out.append(char)
    return "".join(out)


def _with_names(values: list[str], pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Display names as the modern parser gives them: a phrase without its comments; but a bare
    address with a comment, ``bob@example.org (Bob Smith)``, takes the comment as its name."""
    bare = getaddresses([_drop_comments(value) for value in values])
    if len(bare) != len(pairs):
        return pairs
    return [
        (phrase or display, address)
        for (display, address), (phrase, _) in zip(pairs, bare, strict=True)
    ]


def _loose_addresses(values: list[str]) -> tuple[list[tuple[str, str]], bool]:
    """``getaddresses``, or the modern parser where it glued an address; True if decoded."""
    source = "\n".join(values)
    try:
        pairs = getaddresses(values)
        if "(" in source:
            pairs = _with_names(values, pairs)
    except Exception:  # read by the modern parser below
        pairs = [("", "@")]
    if any(_misread(address, source) for _, address in pairs):
        strict = _strict_addresses(values)
        if strict:
            return strict, True
    return pairs, False


def addresses(values: list[str]) -> list[tuple[str, str]]:
    """(display name, address) pairs of address headers, groups flattened, blanks dropped.

    Plain lists (``Name <a@b.c>, d@e.f``) are read by a regular expression that gives what
    ``getaddresses`` gives, faster; the rest by ``getaddresses`` on the raw values, so a comma
    inside an encoded display name never splits an address. Display names are decoded after.
    """
    unfolded = [unfold(value) for value in values]
    pairs = _plain_addresses(", ".join(unfolded))
    decoded = False
    if pairs is None:
        pairs, decoded = _loose_addresses(unfolded)
    result = []
    for display, address in pairs:
        address = clean_line(address).strip("<>")
        if address and not address.startswith("@") and any(c.isalnum() for c in address):
            result.append((clean_line(display if decoded else decode_words(display)), address))
    return result


def message_ids(values: list[str]) -> list[str]:
    """Every well-formed ``<id>`` in header values, in order, without brackets."""
    found: list[str] = []
    for value in values:
        found.extend(_MSG_ID.findall(value.replace("\r", "").replace("\n", "")))
    if all(item.isascii() for item in found):
        return found
    return [unsurrogate(item) for item in found if not _SURROGATE.search(unsurrogate(item))]


def own_id(values: list[str]) -> str | None:
    """A mail's own Message-ID: the first ``<id>``, else a lone token without brackets."""
    ids = message_ids(values)
    if ids:
        return ids[0]
    for value in values:
        token = clean_line(value).strip("<> ")
        if token and " " not in token:
            return token
    return None


def parse_date(value: str) -> datetime | None:
    """An RFC 5322 date in UTC (a date without zone is taken as UTC); None when unusable."""
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


def sent_at(dates: list[str], received: list[str]) -> datetime | None:
    """The first readable Date header, else the date of the first readable Received header."""
    for value in dates:
        parsed = parse_date(unsurrogate(value))
        if parsed:
            return parsed
    for value in received:
        if ";" in value:
            parsed = parse_date(unsurrogate(value).rsplit(";", 1)[1])
            if parsed:
                return parsed
    return None
