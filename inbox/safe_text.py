"""Untrusted text shown safely, in the window and on the terminal alike: one rule, one owner.

A customer's name or subject can carry a right-to-left override or invisible characters that
make it lie about itself ("gpj.exe" shown as "exe.jpg"), or control characters that drive a
terminal; they are shown as visible markers instead.
"""

from __future__ import annotations

import unicodedata

# Bidirectional overrides and invisible characters can make a name or subject lie about itself
# ("gpj.exe" shown as "exe.jpg"); they are shown as visible markers instead.
_SUSPICIOUS = {
    "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066", "\u2067", "\u2068", "\u2069",
    "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060", "\ufeff", "\u061c",
}


def reveal(text: str) -> str:
    """Replace direction overrides, zero-width and control characters with visible markers."""
    out = []
    for ch in text:
        if ch in _SUSPICIOUS:
            out.append(f"⟦U+{ord(ch):04X}⟧")
        elif ch in "\n\t":
            out.append(ch)
        elif unicodedata.category(ch) == "Cc":
            out.append("�")
        else:
            out.append(ch)
    return "".join(out)


def one_line(text: str, limit: int = 200) -> str:
    flat = " ".join(reveal(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
