"""How long a post is for X: the weighted length of twitter-text's v3 configuration.

Text is NFC-normalised, then every code point weighs 2, except those in the ranges U+0000–U+10FF
(Latin, Greek, Cyrillic, Hebrew, Arabic, Devanagari ...), U+2000–U+200D, U+2010–U+201F and
U+2032–U+2037, which weigh 1. So CJK, Hangul and emoji count 2. An emoji sequence (skin tones,
ZWJ families, flags, keycaps) counts 2 as a whole. Every URL counts 23, whatever its length
(X wraps it in t.co). A post may weigh at most 280.

URL detection follows twitter-text's rules in spirit: ``http(s)://`` URLs, and bare domains with a
common top-level domain (``example.com/path``). Rarer bare domains count character by character,
so the estimate errs on the long side only for them.
"""

from __future__ import annotations

import re
import unicodedata

MAX_TWEET_LENGTH = 280
URL_LENGTH = 23
MAX_DM_LENGTH = 10_000

_LIGHT_RANGES = ((0x0000, 0x10FF), (0x2000, 0x200D), (0x2010, 0x201F), (0x2032, 0x2037))
_TLDS = (
    "com|net|org|edu|gov|info|biz|io|co|me|ly|gl|gg|tv|app|dev|ai|xyz|uk|us|ca|au|de|fr|es|"
    "it|nl|be|ch|at|se|no|dk|fi|pl|pt|ie|eu|jp|cn|kr|in|br|mx|ru|nz|za|to|fm|link|site|online|shop"
)
_URL = re.compile(
    r"(?<![\w@.])(?:https?://[^\s<>\"]+"
    rf"|(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+(?:{_TLDS})\b(?::\d+)?(?:/[^\s<>\"]*)?)",
    re.IGNORECASE,
)
_ZWJ = 0x200D
_VARIATION = 0xFE0F
_KEYCAP = 0x20E3


def _light(code: int) -> bool:
    return any(start <= code <= end for start, end in _LIGHT_RANGES)


def _emoji_base(code: int) -> bool:
    return (
        0x1F000 <= code <= 0x1FAFF
        or 0x2600 <= code <= 0x27BF
        or 0x2300 <= code <= 0x23FF
        or 0x2B00 <= code <= 0x2BFF
    )


def _modifier(code: int) -> bool:
    return code == _VARIATION or 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F


def _regional(code: int) -> bool:
    return 0x1F1E6 <= code <= 0x1F1FF


def _emoji_end(codes: list[int], start: int) -> int:
    """The index after the emoji sequence starting at ``start``, or ``start`` when none starts."""
    code = codes[start]
    if _regional(code):
        pair = start + 1 < len(codes) and _regional(codes[start + 1])
        return start + 2 if pair else start + 1
    if chr(code) in "0123456789#*":
        end = start + 1
        if end < len(codes) and codes[end] == _VARIATION:
            end += 1
        return end + 1 if end < len(codes) and codes[end] == _KEYCAP else start
    if not _emoji_base(code):
        return start
    end = start + 1
    while end < len(codes):
        if _modifier(codes[end]):
            end += 1
        elif codes[end] == _ZWJ and end + 1 < len(codes) and _emoji_base(codes[end + 1]):
            end += 2
        else:
            break
    return end


def _plain_length(segment: str) -> int:
    codes = [ord(char) for char in segment]
    total = 0
    index = 0
    while index < len(codes):
        end = _emoji_end(codes, index)
        if end > index:
            total += 2
            index = end
            continue
        total += 1 if _light(codes[index]) else 2
        index += 1
    return total


def weighted_length(text: str) -> int:
    """The length X counts for ``text`` (see the module docstring for the rules)."""
    normalised = unicodedata.normalize("NFC", text)
    total = 0
    position = 0
    for match in _URL.finditer(normalised):
        total += _plain_length(normalised[position : match.start()]) + URL_LENGTH
        position = match.end()
    return total + _plain_length(normalised[position:])
