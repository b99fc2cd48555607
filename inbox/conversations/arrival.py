"""What an arriving message is, before any store keeps it: the rules both stores follow (the
desktop's SQLite and the team server's PostgreSQL), so they agree on duplicates, on which
messages are ours and on what is not kept at all."""

from __future__ import annotations

import hashlib
from datetime import UTC

from inbox.models import Account, Direction, Message


def content_hash(message: Message) -> str:
    """A digest of who wrote what and when: two copies of a mail under one reused Message-ID,
    or an edited post, are told apart by it."""
    if message.sent_at.tzinfo is None:
        raise ValueError(f"message {message.provider_id}: sent_at is a naive datetime (no time zone)")
    h = hashlib.sha256()
    when = message.sent_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    for part in (message.author.key, message.subject or "", message.text, when):
        h.update(part.encode("utf-8", "surrogatepass"))
        h.update(b"\0")
    return h.hexdigest()[:24]


def not_kept(message: Message) -> bool:
    """A retweet carries nobody's words to answer: counted as ignored, never stored."""
    return message.meta.get("retweet") == "1"


def direction_of(account: Account, message: Message) -> Direction:
    """Outbound when the account's own identity wrote it (a reply sent from the channel's own
    site or app), whatever the parser said; email addresses compared without case."""
    key = message.author.key
    if key in account.own_keys or (message.author.kind.value == "email" and key.lower() in account.own_keys):
        return Direction.OUTBOUND
    return message.direction
