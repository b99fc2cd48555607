"""What an arriving message is, before any store keeps it: the rules both stores follow (the
desktop's SQLite and the team server's PostgreSQL), so they agree on duplicates, on which
messages are ours and on what is not kept at all."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC

from inbox.models import Account, Direction, EventKind, Message, Status


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


@dataclass(frozen=True, slots=True)
class ArrivalEvents:
    """What a new message adds to its conversation's log (``(kind, actor, value)`` in order, all
    at the message's instant) and whether it moves the conversation to ``open``."""

    events: tuple[tuple[EventKind, str, str], ...]
    opens: bool


def events_of(message: Message, direction: Direction, status: str) -> ArrivalEvents:
    """The one rule for the events a message produces, which the SLA engine replays: a customer's
    message reopens a pending or solved conversation; an agent's first reply opens a new one;
    automated inbound mail (noise) neither opens nor stops any clock."""
    actor = message.author.handle or message.author.key
    if direction is Direction.INBOUND:
        if message.automated:
            return ArrivalEvents((), False)
        arrived = (EventKind.MESSAGE_IN, actor, message.provider_id)
        if status in (Status.PENDING.value, Status.SOLVED.value):
            return ArrivalEvents((arrived, (EventKind.STATUS, "system", Status.OPEN.value)), True)
        return ArrivalEvents((arrived,), False)
    if message.private:
        kind = EventKind.NOTE
    elif message.automated:
        kind = EventKind.AUTO_REPLY
    else:
        kind = EventKind.REPLY
        if status == Status.NEW.value:
            opened = (EventKind.STATUS, actor, Status.OPEN.value)
            return ArrivalEvents((opened, (kind, actor, message.provider_id)), True)
    return ArrivalEvents(((kind, actor, message.provider_id),), False)
