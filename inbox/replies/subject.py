"""The subject of a reply: one rule for the desktop's outbox, the email composer and the server.

A subject that already carries a reply prefix in any of the usual languages (Re:, AW:, SV:,
Antw:, Odp:, Ynt:, Réf:, Atb: ..., with an optional ``[2]`` count) is kept as it is, so a
thread never grows "Re: Re: ..."; an empty one becomes ``Re: your message``. Line breaks and
runs of blanks fold to one space (a header value may not contain CR or LF).
"""

from __future__ import annotations

import re

REPLY_PREFIX = re.compile(
    r"^\s*(?:re|aw|sv|vs|antw|odp|ynt|ref|réf|rif|atb|r)\s*(?:\[\d+\])?\s*:", re.IGNORECASE
)
NO_SUBJECT = "Re: your message"


def is_reply_subject(subject: str | None) -> bool:
    """Whether ``subject`` starts with a reply prefix (Re:, AW:, SV: ...)."""
    return bool(REPLY_PREFIX.match(subject or ""))


def reply_subject(subject: str | None) -> str:
    """``Re: subject`` unless the subject already carries a reply prefix; one line."""
    subject = " ".join((subject or "").split())
    if not subject:
        return NO_SUBJECT
    return subject if is_reply_subject(subject) else f"Re: {subject}"
