"""X API v1.1 payloads: statuses, legacy DMs, ``message_create`` DM events, and Account Activity
API webhook deliveries, normalised to the same :class:`Message` shape as v2.

v1.1 has no ``conversation_id``: a reply is threaded under the post it answers
(``x:conv:<in_reply_to_status_id_str>``), a root post under its own id; deeper chains are left to
``reply_to_id``. DM threads use X v2's one-to-one conversation id (both user ids, lower first),
so a DM read from v1.1 and one read from v2 land in the same thread.
"""

from __future__ import annotations

from collections.abc import Mapping

from inbox.conversations.routing import x_dm_conversation_key, x_dm_thread_key
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
    from_millis,
    id_text,
    integer,
    legacy_time,
    media_attachment,
    obj,
    objs,
    snowflake_time,
    text,
    unescape,
)

Users = Mapping[str, Mapping[str, object]]


def user_author(user: Mapping[str, object], fallback_id: str = "", handle: str = "") -> Author:
    """A v1.1 user object (or an Account Activity ``users`` entry) as an author."""
    screen_name = text(user.get("screen_name")) or handle
    return Author(
        kind=IdentityKind.TWITTER,
        key=id_text(user) or fallback_id,
        handle=f"@{screen_name}" if screen_name else "",
        display_name=text(user.get("name")),
        followers=integer(user.get("followers_count")),
        avatar_url=text(user.get("profile_image_url_https") or user.get("profile_image_url"))
        or None,
    )


def media_attachments(media_list: object) -> tuple[Attachment, ...]:
    """v1.1 ``extended_entities.media`` (or a DM's single attachment) as attachments."""
    found: list[Attachment] = []
    for media in objs(media_list):
        kind = text(media.get("type"))
        media_id = id_text(media) or "media"
        url = text(media.get("media_url_https") or media.get("media_url"))
        media_type = content_type_for(url, "photo") if url else "application/octet-stream"
        video = best_variant(obj(media.get("video_info")).get("variants"))
        if kind in ("video", "animated_gif") and video is not None:
            url, media_type = video
        found.append(media_attachment(kind, media_id, url, media_type))
    return tuple(found)


def status_text(status: Mapping[str, object]) -> str:
    """The whole text: ``extended_tweet.full_text``, then ``full_text``, then ``text``."""
    extended = text(obj(status.get("extended_tweet")).get("full_text"))
    return unescape(extended or text(status.get("full_text")) or text(status.get("text")))


def _status_media(status: Mapping[str, object]) -> object:
    for holder in (obj(status.get("extended_tweet")), status):
        for key in ("extended_entities", "entities"):
            media = obj(holder.get(key)).get("media")
            if media:
                return media
    return []


def is_status(doc: Mapping[str, object]) -> bool:
    has_id = bool(id_text(doc))
    has_text = "text" in doc or "full_text" in doc
    v1_marker = "id_str" in doc or "user" in doc or "in_reply_to_status_id" in doc
    return has_id and has_text and v1_marker and "sender_id" not in doc


def status_message(status: Mapping[str, object]) -> Message | str:
    """One v1.1 status as a message, or the reason it cannot be one."""
    status_id = id_text(status)
    if not status_id:
        return "status without id_str"
    millis = integer(status.get("timestamp_ms"))
    sent_at = (
        legacy_time(status.get("created_at"))
        or (from_millis(millis) if millis is not None else None)
        or snowflake_time(status_id)
    )
    if sent_at is None:
        return f"status {status_id}: no readable created_at and the id is not a snowflake"
    body = status_text(status)
    meta: dict[str, str] = {}
    lang = text(status.get("lang"))
    if lang:
        meta["lang"] = lang
    original = obj(status.get("retweeted_status"))
    if original:
        meta["retweet"] = "1"
        screen_name = text(obj(original.get("user")).get("screen_name"))
        if screen_name:
            body = f"RT @{screen_name}: {status_text(original)}"
    quoted = id_text(status, "quoted_status_id")
    if quoted:
        meta["quoted_id"] = quoted
    reply_to = id_text(status, "in_reply_to_status_id")
    recipient_id = id_text(status, "in_reply_to_user_id")
    recipients: tuple[Author, ...] = ()
    if recipient_id:
        handle = text(status.get("in_reply_to_screen_name"))
        recipients = (user_author({}, recipient_id, handle),)
    return Message(
        provider_id=status_id,
        channel=Channel.TWITTER,
        surface=Surface.MENTION,
        direction=Direction.INBOUND,
        author=user_author(obj(status.get("user"))),
        text=body,
        sent_at=sent_at,
        recipients=recipients,
        attachments=media_attachments(_status_media(status)),
        thread_key=f"x:conv:{reply_to or status_id}",
        reply_to_id=reply_to or None,
        meta=meta,
    )


def is_legacy_dm(doc: Mapping[str, object]) -> bool:
    return "sender_id" in doc and "recipient_id" in doc and "text" in doc


def legacy_dm_message(dm: Mapping[str, object]) -> Message | str:
    """One pre-2018 v1.1 direct message (``sender``/``recipient`` objects)."""
    dm_id = id_text(dm)
    if not dm_id:
        return "direct message without id_str"
    sent_at = legacy_time(dm.get("created_at")) or snowflake_time(dm_id)
    if sent_at is None:
        return f"direct message {dm_id}: no readable created_at"
    sender = id_text(dm, "sender_id")
    recipient = id_text(dm, "recipient_id")
    return Message(
        provider_id=f"dm:{dm_id}",
        channel=Channel.TWITTER,
        surface=Surface.DM,
        direction=Direction.INBOUND,
        author=user_author(obj(dm.get("sender")), sender, text(dm.get("sender_screen_name"))),
        text=unescape(text(dm.get("text"))),
        sent_at=sent_at,
        recipients=(
            user_author(obj(dm.get("recipient")), recipient, text(dm.get("recipient_screen_name"))),
        ),
        thread_key=x_dm_thread_key(sender, recipient),
    )


def is_dm_event(doc: Mapping[str, object]) -> bool:
    return "type" in doc and "message_create" in doc


def dm_event_message(event: Mapping[str, object], users: Users) -> Message | str | None:
    """One v1.1 / Account Activity DM event; ``None`` for types other than ``message_create``."""
    if text(event.get("type")) != "message_create":
        return None
    event_id = text(event.get("id"))
    if not event_id:
        return "DM event without an id"
    millis = integer(event.get("created_timestamp"))
    sent_at = (from_millis(millis) if millis is not None else None) or snowflake_time(event_id)
    if sent_at is None:
        return f"DM event {event_id}: no readable created_timestamp"
    create = obj(event.get("message_create"))
    data = obj(create.get("message_data"))
    sender = text(create.get("sender_id"))
    recipient = text(obj(create.get("target")).get("recipient_id"))
    media = obj(data.get("attachment")).get("media")
    return Message(
        provider_id=f"dm:{event_id}",
        channel=Channel.TWITTER,
        surface=Surface.DM,
        direction=Direction.INBOUND,
        author=user_author(obj(users.get(sender)), sender),
        text=text(data.get("text")),
        sent_at=sent_at,
        recipients=(user_author(obj(users.get(recipient)), recipient),) if recipient else (),
        attachments=media_attachments(media),
        thread_key=x_dm_thread_key(sender, recipient) if recipient else x_dm_conversation_key(sender),
    )


def _add(found: Collected, outcome: Message | str | None, source: str, label: str) -> None:
    found.posts_seen = True
    if isinstance(outcome, Message):
        found.messages.append(outcome)
    elif isinstance(outcome, str):
        found.reject(source, f"{label}: {outcome}")


def parse_items(items: list[object], source: str, where: str, users: Users) -> Collected:
    """A v1.1 list of statuses, legacy DMs or DM events; other items are counted, not guessed."""
    found = Collected(posts_seen=True)
    prefix = f"{where} " if where else ""
    for index, raw in enumerate(items):
        item = obj(raw)
        label = f"{prefix}[{index}]"
        if is_dm_event(item):
            _add(found, dm_event_message(item, users), source, label)
        elif is_legacy_dm(item):
            _add(found, legacy_dm_message(item), source, label)
        elif is_status(item):
            _add(found, status_message(item), source, label)
        else:
            found.reject(source, f"{label}: neither a status nor a direct message")
    return found


def is_activity(doc: Mapping[str, object]) -> bool:
    """An Account Activity API delivery (``for_user_id`` plus event lists)."""
    return "for_user_id" in doc


def parse_activity(doc: Mapping[str, object], source: str, where: str = "") -> Collected:
    """Tweets and DMs of an Account Activity API delivery; typing, read receipts, likes and
    follows carry no message and are skipped. The account hint is ``twitter:<for_user_id>``."""
    users = {key: obj(value) for key, value in obj(doc.get("users")).items()}
    prefix = f"{where} " if where else ""
    found = Collected(posts_seen=True)
    tweets = doc.get("tweet_create_events")
    if isinstance(tweets, list):
        found.merge(parse_items(tweets, source, f"{prefix}tweet_create_events", users))
    events = doc.get("direct_message_events")
    if isinstance(events, list):
        found.merge(parse_items(events, source, f"{prefix}direct_message_events", users))
    for_user = text(doc.get("for_user_id"))
    found.account_hint = f"twitter:{for_user}" if for_user else None
    return found
