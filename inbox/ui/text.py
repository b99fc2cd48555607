"""Showing untrusted text safely and formatting times and countdowns for people."""

from __future__ import annotations

import html
from datetime import datetime

from inbox.safe_text import one_line, reveal

__all__ = ["age", "countdown", "html_text", "one_line", "reveal"]


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
