"""Showing untrusted text safely and formatting times and countdowns for people."""

from __future__ import annotations

import html
import unicodedata
from datetime import datetime

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


def html_text(text: str) -> str:
    """Plain text as HTML: escaped, suspicious characters revealed, line breaks kept."""
    return html.escape(reveal(text)).replace("\n", "<br>")


def age(then: datetime, now: datetime, lang: str = "en") -> str:
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 60:
        return "now" if lang == "en" else "maint."
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} d" if lang == "en" else f"{seconds // 86400} j"


def countdown(seconds: float) -> str:
    """A compact countdown: '12m', '3h05', '-25m' (breached by 25 minutes), '2d4h'."""
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    if s < 3600:
        return f"{sign}{max(s // 60, 0)}m" if s >= 60 else f"{sign}{s}s"
    if s < 86400:
        return f"{sign}{s // 3600}h{(s % 3600) // 60:02d}"
    return f"{sign}{s // 86400}d{(s % 86400) // 3600}h"
