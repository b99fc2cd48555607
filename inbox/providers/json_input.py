"""Untrusted JSON read within limits: nesting depth, and the size of each JSON line.

The standard library's decoder recurses once per nesting level, so a file of a few thousand
``[`` raises RecursionError, and a document that does load deep can still exhaust the recursion
of the code that walks it. Every file parser reads JSON through here: the depth is measured
before decoding (bytes operations and ``itertools``, so in C, linear in the text), and
anything invalid or over a limit becomes :class:`JsonRefused` with a one-line reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import accumulate
from typing import BinaryIO

#: Real payloads nest at most 12 levels (the shared corpus); 100 leaves room and stays far below
#: Python's recursion limit for the decoder and for the parsers that walk the result.
MAX_DEPTH = 100
MIB = 1024 * 1024
#: One JSON document read whole (a file that is not JSON lines).
MAX_DOCUMENT_BYTES = 50 * MIB
#: One JSON line (a twarc page of 100 posts with ``includes`` is under 1 MB).
MAX_LINE_BYTES = 16 * MIB
#: Lines refused one by one in a rejection list; the others are counted in one more line.
MAX_LINES_NAMED = 20

# Bytes kept to measure nesting: quotes (where strings start and end) and brackets.
_NOT_QUOTE_OR_BRACKET = bytes(b for b in range(256) if b not in b'"[]{}')
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


class JsonRefused(ValueError):
    """JSON that cannot be read, or is over a limit; ``reason`` is one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def nesting_depth(text: str) -> int:
    """The deepest nesting of arrays and objects in ``text`` (brackets inside strings ignored).

    Works on broken JSON too: an unclosed ``[[[[`` counts every ``[``. Escaped backslashes and
    quotes are dropped first (pairs, left to right, as JSON reads them), then everything but
    quotes and brackets: what comes before the first quote, and after each second quote until
    the next one, is outside strings.
    """
    data = text.encode("utf-8", "surrogatepass").replace(b"\\\\", b"").replace(b'\\"', b"")
    outside = b"".join(data.translate(None, _NOT_QUOTE_OR_BRACKET).split(b'"')[::2])
    return max(accumulate(map(_STEP.__getitem__, outside)), default=0)


def size_text(size: int) -> str:
    """A byte limit as a person reads it: "16 MB", "200 bytes"."""
    return f"{size // MIB} MB" if size >= MIB and size % MIB == 0 else f"{size:,} bytes"


def loads(text: str, max_depth: int = MAX_DEPTH) -> object:
    """One JSON document, or :class:`JsonRefused` when it is invalid or nested too deep."""
    if text.count("[") + text.count("{") > max_depth:  # fewer brackets cannot nest deeper
        depth = nesting_depth(text)
        if depth > max_depth:
            raise JsonRefused(f"JSON nested {depth} levels deep (the limit is {max_depth})")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise JsonRefused(f"invalid JSON: {exc.msg} ({where})") from None
    except (ValueError, RecursionError) as exc:  # e.g. an integer of more than 4,300 digits
        detail = " ".join(str(exc).split())[:120]
        raise JsonRefused(f"invalid JSON: {detail}") from None


@dataclass(frozen=True, slots=True)
class JsonLine:
    """One non-blank line of a JSON-lines file: its 1-based number and document, or why not."""

    number: int
    doc: object = None
    refused: str | None = None


def json_lines(handle: BinaryIO, max_line: int = MAX_LINE_BYTES) -> Iterator[JsonLine]:
    """Every non-blank line of a JSON-lines stream, decoded; never more than ``max_line`` bytes
    of one line are held, so a file with no line break costs no more than one long line."""
    number = 0
    while True:
        raw = handle.readline(max_line + 1)
        if not raw:
            return
        number += 1
        if len(raw) > max_line and not raw.endswith(b"\n"):
            while raw and not raw.endswith(b"\n"):  # skip the rest of the line, a chunk at a time
                raw = handle.readline(MIB)
            yield JsonLine(number, refused=f"line longer than {size_text(max_line)}")
            continue
        text = raw.decode("utf-8-sig" if number == 1 else "utf-8", errors="replace")
        if not text.strip():
            continue
        try:
            yield JsonLine(number, loads(text))
        except JsonRefused as exc:
            yield JsonLine(number, refused=exc.reason)


def obj(value: object) -> dict[str, object]:
    """``value`` when it is a JSON object (keys as text), else an empty one: how every parser reads
    a field that should hold an object."""
    if isinstance(value, dict):
        return {str(k): v for k, v in value.items()}
    return {}
