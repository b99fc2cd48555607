"""Untrusted text shown safely, in the window and on the terminal alike: one rule, one owner.

A customer's name or subject can carry a right-to-left override or invisible characters that
make it lie about itself ("gpj.exe" shown as "exe.jpg"), or control characters that drive a
terminal; they are shown as visible markers instead.
"""

from __future__ import annotations

import re

# Bidirectional overrides and invisible characters can make a name or subject lie about itself
# ("gpj.exe" shown as "exe.jpg"); they are shown as visible markers instead.
_SUSPICIOUS = {
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff", "\u061c",
}


#: What :func:`reveal` replaces, found in one pass of the regex engine: the suspicious characters
#: and the control characters (Unicode category Cc: U+0000-U+001F and U+007F-U+009F) but the tab
#: and the newline. Most text has none and is returned as it is.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f" + "".join(sorted(_SUSPICIOUS)) + "]")


def _marker(found: re.Match[str]) -> str:
    ch = found.group()
    return f"⟦U+{ord(ch):04X}⟧" if ch in _SUSPICIOUS else "\ufffd"


def reveal(text: str) -> str:
    """Replace direction overrides, zero-width and control characters with visible markers."""
    return _HIDDEN.sub(_marker, text)


def one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(reveal(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
