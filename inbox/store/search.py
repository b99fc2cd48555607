"""Turning what a user types into a safe FTS5 query: every term quoted, nothing raises."""

from __future__ import annotations

import re

_TERM = re.compile(r'"([^"]*)"|(\S+)')
MAX_TERMS = 16
MAX_TERM_LENGTH = 200


def fts_query(text: str) -> str | None:
    """An FTS5 MATCH expression for ``text``: quoted phrases stay phrases, other words are
    prefix-matched terms, all ANDed. FTS syntax characters typed by a user are only text.
    Returns None when nothing searchable remains."""
    parts: list[str] = []
    for phrase, word in _TERM.findall(text[:4000]):
        raw = phrase if phrase else word
        raw = raw.replace('"', " ").replace("\x00", " ").strip()[:MAX_TERM_LENGTH]
        if not raw or not any(ch.isalnum() for ch in raw):
            continue
        quoted = '"' + raw + '"'
        parts.append(quoted if phrase else quoted + " *")
        if len(parts) >= MAX_TERMS:
            break
    return " AND ".join(parts) if parts else None
