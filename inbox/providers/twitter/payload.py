"""Typed reads from untyped X JSON, and X's rules for ids, times and escaped text.

Every parser in this package reads payloads through these functions, so that a field of the
wrong type becomes "absent" instead of an exception.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from inbox.models import Attachment, Message, Rejection
from inbox.providers.json_input import obj as obj  # every parser of this channel reads fields with it

#: X's snowflake epoch (2010-11-04T01:42:54.657Z) in milliseconds.
SNOWFLAKE_EPOCH_MS = 1288834974657


def objs(value: object) -> list[dict[str, object]]:
    """The JSON objects inside a list (other items are dropped); a lone object is a list of one."""
    if isinstance(value, dict):
        return [obj(value)]
    if isinstance(value, list):
        return [obj(item) for item in value if isinstance(item, dict)]
    return []


def text(value: object) -> str:
    """A string field; numbers become their decimal text, anything else is empty."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    return ""


def integer(value: object) -> int | None:
    """An integer field (also from a decimal string); anything else is ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 40:
        return int(value)
    return None


def id_text(doc: Mapping[str, object], key: str = "id") -> str:
    """An X id: ``<key>_str`` (v1.1, exact) before ``<key>`` (an int in v1.1, a string in v2)."""
    return text(doc.get(f"{key}_str")) or text(doc.get(key))


def unescape(value: str) -> str:
    """Undo X's HTML escaping of post text, which covers exactly ``&amp;``, ``&lt;``, ``&gt;``."""
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def snowflake_time(tweet_id: str) -> datetime | None:
    """The creation time encoded in a snowflake id: ``(id >> 22) + 1288834974657`` ms since the
    Unix epoch. Used only when a payload omits ``created_at``; ``None`` for non-snowflake ids."""
    number = integer(tweet_id)
    if number is None or number >> 22 == 0:
        return None
    return from_millis((number >> 22) + SNOWFLAKE_EPOCH_MS)


def from_millis(millis: int) -> datetime | None:
    try:
        return datetime.fromtimestamp(millis / 1000, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def iso_time(value: object) -> datetime | None:
    """A v2 ``created_at`` such as ``2021-02-24T02:13:43.000Z``, as aware UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)  # 3.11 reads the trailing Z
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def legacy_time(value: object) -> datetime | None:
    """A v1.1 ``created_at`` such as ``Thu Nov 15 23:31:30 +0000 2018``, as aware UTC."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.strptime(value, "%a %b %d %H:%M:%S %z %Y").astimezone(UTC)
    except ValueError:
        return None


def sent_time(*candidates: datetime | None) -> datetime | None:
    """The first known time among the candidates."""
    for candidate in candidates:
        if candidate is not None:
            return candidate
    return None


def content_type_for(url: str, kind: str) -> str:
    """A media type for an X media URL: from its extension, else from the X media kind."""
    path = url.split("?", 1)[0].lower()
    for suffix, media_type in (
        (".jpg", "image/jpeg"),
        (".jpeg", "image/jpeg"),
        (".png", "image/png"),
        (".gif", "image/gif"),
        (".webp", "image/webp"),
        (".mp4", "video/mp4"),
        (".m3u8", "application/x-mpegURL"),
    ):
        if path.endswith(suffix):
            return media_type
    if kind == "photo":
        return "image/jpeg"
    if kind in ("video", "animated_gif"):
        return "video/mp4"
    return "application/octet-stream"


def best_variant(variants: object) -> tuple[str, str] | None:
    """The highest bit-rate MP4 of a video's ``variants`` as ``(url, content_type)``."""
    best: tuple[int, str, str] | None = None
    for variant in objs(variants):
        url = text(variant.get("url"))
        media_type = text(variant.get("content_type"))
        if not url or media_type != "video/mp4":
            continue
        rate = integer(variant.get("bit_rate", variant.get("bitrate"))) or 0
        if best is None or rate > best[0]:
            best = (rate, url, media_type)
    return None if best is None else (best[1], best[2])


@dataclass
class Collected:
    """What the parsers gathered from one document or file, before it becomes a ParsedBatch.

    ``posts_seen`` says the payload was a list of posts or DMs (possibly empty); ``others`` names
    the X payloads seen that hold no posts (user lookups, send receipts), for a clear rejection.
    """

    messages: list[Message] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    account_hint: str | None = None
    posts_seen: bool = False
    others: list[str] = field(default_factory=list)

    def reject(self, source: str, reason: str) -> None:
        self.rejections.append(Rejection(source, reason))

    def merge(self, other: Collected) -> None:
        self.messages.extend(other.messages)
        self.rejections.extend(other.rejections)
        self.account_hint = self.account_hint or other.account_hint
        self.posts_seen = self.posts_seen or other.posts_seen
        self.others.extend(kind for kind in other.others if kind not in self.others)


def media_attachment(kind: str, media_id: str, url: str, media_type: str) -> Attachment:
    """An attached photo, video or GIF as metadata: a readable file name and where it lives."""
    extension = media_type.rsplit("/", 1)[-1].replace("jpeg", "jpg")
    return Attachment(
        filename=f"{kind or 'media'}-{media_id}.{extension}",
        content_type=media_type,
        url=url or None,
        content_id=media_id,
    )
