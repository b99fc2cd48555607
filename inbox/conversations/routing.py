"""Which conversation a message belongs to: pure rules, applied by the store in one transaction.

- Email threads by Message-ID / In-Reply-To / References. Every id a message names is a key; a
  message joins the conversation that owns any of its keys, and a message that names ids owned by
  two conversations joins them (the connected components that JWZ threading and notmuch compute,
  so missing parents, loops, duplicate ids and references in the wrong order all survive).
- X, Facebook and web forms thread by the provider's own key (conversation id, DM conversation,
  Messenger thread, post, submission), namespaced by account.
- Email without any reference may join by subject only when the same sender wrote a reply
  ("Re: ...") to a conversation of theirs with the same normalised subject within a short window:
  two customers are never merged because their subjects match.
- A ``solved`` conversation reopens; a ``closed`` one never does: the message starts a new one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from inbox.models import Channel, Message, Status, Surface
from inbox.replies.subject import is_reply_subject

SUBJECT_WINDOW = timedelta(days=3)

_PREFIX = re.compile(
    r"^\s*(?:(?:re|fwd?|tr|aw|wg|sv|vs|antw|r|rif|réf|ref)\s*(?:\[\d+\])?\s*:\s*|\[[^\]]{1,40}\]\s*)",
    re.IGNORECASE,
)


def normalise_subject(subject: str | None) -> str:
    """The base subject (RFC 5256 §2.1 in spirit): prefixes, [tags] and blanks folded away."""
    text = " ".join((subject or "").split())
    while True:
        stripped = _PREFIX.sub("", text, count=1)
        if stripped == text:
            break
        text = stripped
    text = re.sub(r"\s*\((?:fwd|fw)\)\s*$", "", text, flags=re.IGNORECASE)
    return text.casefold().strip()


X_DM_PREFIX = "x:dm:"


def x_dm_thread_key(first: str, second: str) -> str:
    """The thread key of the one-to-one X DM conversation of users ``first`` and ``second``, in
    either order: X's own ``dm_conversation_id`` ("<smaller user id>-<larger user id>", smaller
    as a number, so ``750362064426721281`` comes before ``1072250532645998596``)."""
    if first.isdigit() and second.isdigit():
        low, high = sorted((first, second), key=int)
    else:  # not X user ids (imported or test data): still one key for the pair
        low, high = sorted((first, second))
    return f"{X_DM_PREFIX}{low}-{high}"


def x_dm_conversation_key(conversation_id: str) -> str:
    """The thread key of an X DM conversation named by X's ``dm_conversation_id``: a one-to-one
    id ("<id>-<id>") is put in :func:`x_dm_thread_key`'s order, a group's id is kept as it is."""
    pair = conversation_id.split("-")
    if len(pair) == 2 and all(user.isdigit() for user in pair):
        return x_dm_thread_key(*pair)
    return X_DM_PREFIX + conversation_id


def x_dm_participants(key: str | None) -> tuple[str, str] | None:
    """The two users of a one-to-one X DM thread key, or None for any other key (a group)."""
    if not key or not key.startswith(X_DM_PREFIX):
        return None
    pair = key.removeprefix(X_DM_PREFIX).split("-")
    if len(pair) != 2 or not all(pair):
        return None
    return pair[0], pair[1]


def message_id_key(message_id: str) -> str:
    return "mid:" + message_id.strip().strip("<>").strip()


def thread_keys(account_id: str, message: Message) -> list[str]:
    """The keys under which this message is found and finds its conversation, own key first."""
    keys: list[str] = []
    if message.channel is Channel.EMAIL or message.surface is Surface.EMAIL:
        keys.append(message_id_key(message.provider_id))
        for ref in (*message.references, *(() if message.reply_to_id is None else (message.reply_to_id,))):
            key = message_id_key(ref)
            if key not in keys and key != "mid:":
                keys.append(key)
    if message.thread_key:
        keys.insert(0, f"{account_id}|{message.thread_key}")
        if message.meta.get("via") == "email":
            # A form notification mail: replies to it continue the form conversation.
            keys.append(message_id_key(message.provider_id))
    return keys


@dataclass(frozen=True, slots=True)
class Candidate:
    """A conversation that owns one of the message's keys, or a subject-fallback candidate."""

    conversation_id: int
    status: Status
    created_at: datetime
    noise: bool = False  # holds only automated mail (closed, but threads still gather there)


@dataclass(frozen=True, slots=True)
class Route:
    """Where the message goes: an existing conversation (merging ``absorb`` into it) or a new one."""

    conversation_id: int | None
    absorb: tuple[int, ...] = ()
    reopen: bool = False


def choose(candidates: Sequence[Candidate]) -> Route:
    """Pick the conversation among those owning the message's keys.

    Closed conversations are ignored (a new one starts), except those holding only automated
    mail; among the others the oldest wins and the rest are merged into it, since the message
    shows they are one thread.
    """
    live = sorted(
        (c for c in candidates if c.status is not Status.CLOSED or c.noise),
        key=lambda c: (c.created_at, c.conversation_id),
    )
    if not live:
        return Route(None)
    target = live[0]
    absorb = tuple(dict.fromkeys(c.conversation_id for c in live[1:] if c.conversation_id != target.conversation_id))
    return Route(target.conversation_id, absorb)


def subject_fallback_allowed(message: Message) -> bool:
    """Only a reply-looking email with no references at all may be threaded by subject."""
    return (
        message.channel is Channel.EMAIL
        and not message.references
        and not message.reply_to_id
        and is_reply_subject(message.subject)
        and bool(normalise_subject(message.subject))
    )
