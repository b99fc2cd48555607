"""X API v2 responses: tweets (``data`` + ``includes``) and DM events, as :class:`Message`.

Tweets become public ``MENTION`` messages threaded by ``conversation_id``; ``MessageCreate`` DM
events become ``DM`` messages threaded by ``dm_conversation_id``. Other DM event types
(``ParticipantsJoin``, ``ParticipantsLeave``) are skipped silently. Authors, media and referenced
tweets are resolved from ``includes``; what a response did not expand stays unknown (an author
with an empty ``key``) rather than invented.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from inbox.conversations.routing import x_dm_conversation_key, x_dm_participants
from inbox.models import (
    Attachment,
    Author,
    Channel,
    Direction,
    IdentityKind,
    Message,
    Surface,
)
from inbox.providers.twitter.payload import (
    Collected,
    best_variant,
    content_type_for,
    integer,
    iso_time,
    media_attachment,
    obj,
    objs,
    snowflake_time,
    text,
    unescape,
)


@dataclass(frozen=True)
class Includes:
    """The ``includes`` expansions of a v2 response, by id and media key."""

    users: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    tweets: Mapping[str, Mapping[str, object]] = field(default_factory=dict)
    media: Mapping[str, Mapping[str, object]] = field(default_factory=dict)

    @classmethod
    def of(cls, doc: Mapping[str, object]) -> Includes:
        block = obj(doc.get("includes"))
        return cls(
            users={text(u.get("id")): u for u in objs(block.get("users")) if text(u.get("id"))},
            tweets={text(t.get("id")): t for t in objs(block.get("tweets")) if text(t.get("id"))},
            media={
                text(m.get("media_key")): m
                for m in objs(block.get("media"))
                if text(m.get("media_key"))
            },
        )


def author(user_id: str, includes: Includes) -> Author:
    """The author of a post, with handle, name, followers and avatar when ``includes`` has them."""
    user = includes.users.get(user_id, {})
    username = text(user.get("username"))
    return Author(
        kind=IdentityKind.TWITTER,
        key=user_id,
        handle=f"@{username}" if username else "",
        display_name=text(user.get("name")),
        followers=integer(obj(user.get("public_metrics")).get("followers_count")),
        avatar_url=text(user.get("profile_image_url")) or None,
    )


def attachments(media_keys: object, includes: Includes) -> tuple[Attachment, ...]:
    """Attachments for ``attachments.media_keys``; a key missing from ``includes`` is kept bare."""
    found: list[Attachment] = []
    keys = [text(k) for k in media_keys] if isinstance(media_keys, list) else []
    for key in filter(None, keys):
        media = includes.media.get(key)
        if media is None:
            found.append(Attachment(key, "application/octet-stream", content_id=key))
            continue
        kind = text(media.get("type"))
        url = text(media.get("url"))
        media_type = content_type_for(url, kind) if url else ""
        video = best_variant(media.get("variants"))
        if not url and video is not None:
            url, media_type = video
        if not url:
            url = text(media.get("preview_image_url"))
            media_type = content_type_for(url, "photo") if url else "application/octet-stream"
        found.append(media_attachment(kind, key, url, media_type))
    return tuple(found)


def full_text(tweet: Mapping[str, object]) -> str:
    """A post's whole text: ``note_tweet.text`` for long posts, else ``text``; unescaped."""
    note = text(obj(tweet.get("note_tweet")).get("text"))
    return unescape(note or text(tweet.get("text")))


def _references(tweet: Mapping[str, object]) -> dict[str, str]:
    return {
        text(ref.get("type")): text(ref.get("id"))
        for ref in objs(tweet.get("referenced_tweets"))
        if text(ref.get("type")) and text(ref.get("id"))
    }


def tweet_message(tweet: Mapping[str, object], includes: Includes) -> Message | str:
    """One v2 tweet as a message, or the reason it cannot be one."""
    tweet_id = text(tweet.get("id"))
    if not tweet_id:
        return "tweet without an id"
    if "text" not in tweet and "note_tweet" not in tweet:
        return f"tweet {tweet_id} has no text"
    sent_at = iso_time(tweet.get("created_at")) or snowflake_time(tweet_id)
    if sent_at is None:
        return f"tweet {tweet_id}: no readable created_at and the id is not a snowflake"
    refs = _references(tweet)
    body = full_text(tweet)
    meta: dict[str, str] = {}
    lang = text(tweet.get("lang"))
    if lang:
        meta["lang"] = lang
    retweeted = refs.get("retweeted")
    if retweeted:
        meta["retweet"] = "1"
        original = includes.tweets.get(retweeted)
        if original is not None:
            original_author = text(
                includes.users.get(text(original.get("author_id")), {}).get("username")
            )
            if original_author:
                body = f"RT @{original_author}: {full_text(original)}"
    if refs.get("quoted"):
        meta["quoted_id"] = refs["quoted"]
    history = tweet.get("edit_history_tweet_ids")
    if isinstance(history, list) and history and text(history[0]) not in ("", tweet_id):
        meta["edit_of"] = text(history[0])
    recipient_id = text(tweet.get("in_reply_to_user_id"))
    return Message(
        provider_id=tweet_id,
        channel=Channel.TWITTER,
        surface=Surface.MENTION,
        direction=Direction.INBOUND,
        author=author(text(tweet.get("author_id")), includes),
        text=body,
        sent_at=sent_at,
        recipients=(author(recipient_id, includes),) if recipient_id else (),
        attachments=attachments(obj(tweet.get("attachments")).get("media_keys"), includes),
        thread_key=f"x:conv:{text(tweet.get('conversation_id')) or tweet_id}",
        reply_to_id=refs.get("replied_to") or None,
        meta=meta,
    )


def dm_message(
    event: Mapping[str, object], includes: Includes, conversation_hint: str = ""
) -> Message | str | None:
    """One v2 DM event as a message; ``None`` for event types that are not messages."""
    event_type = text(event.get("event_type"))
    if event_type != "MessageCreate":
        return None
    event_id = text(event.get("id"))
    if not event_id:
        return "DM event without an id"
    sent_at = iso_time(event.get("created_at")) or snowflake_time(event_id)
    if sent_at is None:
        return f"DM event {event_id}: no readable created_at and the id is not a snowflake"
    sender = text(event.get("sender_id"))
    conversation = text(event.get("dm_conversation_id")) or conversation_hint or sender
    meta: dict[str, str] = {}
    shared = [text(ref.get("id")) for ref in objs(event.get("referenced_tweets"))]
    if any(shared):
        meta["shared_tweets"] = ",".join(filter(None, shared))
    thread_key = x_dm_conversation_key(conversation or "event-" + event_id)
    # A one-to-one conversation id names both users: the other one received it.
    pair = x_dm_participants(thread_key)
    others = [user for user in pair if user != sender] if sender and pair else []
    recipients = (author(others[0], includes),) if len(others) == 1 and others[0].isdigit() else ()
    return Message(
        provider_id=f"dm:{event_id}",
        channel=Channel.TWITTER,
        surface=Surface.DM,
        direction=Direction.INBOUND,
        author=author(sender, includes),
        text=text(event.get("text")),
        recipients=recipients,
        sent_at=sent_at,
        attachments=attachments(obj(event.get("attachments")).get("media_keys"), includes),
        thread_key=thread_key,
        meta=meta,
    )


def _other_kind(item: Mapping[str, object]) -> str:
    if "dm_event_id" in item:
        return "a DM send receipt"
    if "username" in item:
        return "user profiles"
    if "deleted" in item or "hidden" in item:
        return "an action receipt"
    if "member_count" in item or "follower_count" in item:
        return "lists"
    return "objects that are not posts"


def error_reason(doc: Mapping[str, object]) -> str:
    """The one-line reason of a v2 error payload (``title``/``detail`` or ``errors[0]``)."""
    detail = text(doc.get("detail")) or text(doc.get("title"))
    if not detail:
        first = next(iter(objs(doc.get("errors"))), {})
        detail = text(first.get("detail")) or text(first.get("message")) or text(first.get("title"))
    return f"X API error: {detail or 'no detail'}"


def parse_v2(
    doc: Mapping[str, object], source: str, where: str = "", conversation_hint: str = ""
) -> Collected:
    """Every tweet and DM event in one v2 response. Rejections name ``source`` (the file) and
    ``where`` (the line or recorded response inside it) and the record."""
    prefix = f"{where} " if where else ""
    found = Collected()
    includes = Includes.of(doc)
    items = objs(doc.get("data"))
    if not items:
        if "meta" in doc or isinstance(doc.get("data"), list):
            found.posts_seen = True
        elif "errors" in doc:
            found.reject(source, prefix + error_reason(doc))
        return found
    for index, item in enumerate(items):
        outcome: Message | str | None
        if "event_type" in item:
            found.posts_seen = True
            outcome = dm_message(item, includes, conversation_hint)
        elif "text" in item or "note_tweet" in item:
            found.posts_seen = True
            outcome = tweet_message(item, includes)
        else:
            kind = _other_kind(item)
            if kind not in found.others:
                found.others.append(kind)
            continue
        if isinstance(outcome, Message):
            found.messages.append(outcome)
        elif isinstance(outcome, str):
            found.reject(source, f"{prefix}data[{index}]: {outcome}")
    return found
