"""Typed reads from untyped Graph API JSON, and Facebook's rules for ids, times and threads.

Every parser in this package reads payloads through these functions, so that a field of the
wrong type becomes "absent" instead of an exception.

Thread keys, chosen so that a Graph read and a webhook delivery of the same conversation meet:

* Messenger: ``fb:psid:<page id>:<customer psid>``; ``fb:t:<conversation id>`` only when the
  payload does not say which participant is the Page.
* Comments and posts: ``fb:post:<post object id>``, the id *without* the ``<page id>_`` prefix,
  because webhooks name a post ``PAGE_POST`` while comment ids carry the bare ``POST_COMMENT``.

Messenger message ids: webhooks of the 2016-2019 era send ``mid.…`` while the Graph API names the
same message ``m_mid.…``; both are stored as the Graph form (``m_…``).
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from inbox.models import Attachment, Author, Channel, Direction, IdentityKind, Message, Surface
from inbox.providers.json_input import obj as obj  # every parser of this channel reads fields with it

#: Messenger allows a standard reply this long after the customer's last message.
MESSENGER_WINDOW_SECONDS = 24 * 3600.0

_GRAPH_TIME = "%Y-%m-%dT%H:%M:%S%z"
_NUMERIC = re.compile(r"^\d+$")
_PERMALINK_PAGE = re.compile(r"facebook\.com/(\d+)/(?:posts|videos|photos)/")
_TIME_MIN = datetime(2004, 1, 1, tzinfo=UTC)  # Facebook's founding; older means garbage
_TIME_MAX = datetime(2200, 1, 1, tzinfo=UTC)


def objs(value: object) -> list[dict[str, object]]:
    """The objects of a JSON array, or of a Graph edge ``{"data": [...]}``; others dropped."""
    if isinstance(value, dict):
        value = value.get("data")
    if isinstance(value, list):
        return [obj(item) for item in value if isinstance(item, dict)]
    return []


def text(value: object) -> str:
    """A string field, or "" when absent or of another type."""
    return value if isinstance(value, str) else ""


def ident(value: object) -> str:
    """A Graph id, given as a string or (in old webhooks) a number; "" otherwise."""
    if isinstance(value, bool):
        return ""
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return value.strip()
    return ""


def integer(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def parse_time(value: object) -> datetime | None:
    """Graph ``2021-07-23T09:50:48+0000``, ISO 8601, or epoch seconds/milliseconds, as UTC."""
    found: datetime | None = None
    try:
        if isinstance(value, str) and value:
            try:
                found = datetime.strptime(value, _GRAPH_TIME)
            except ValueError:
                found = datetime.fromisoformat(value)
                if found.tzinfo is None:
                    return None
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
            if number > 1e11:  # milliseconds (Messenger timestamps)
                number /= 1000.0
            found = datetime.fromtimestamp(number, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    if found is None:
        return None
    found = found.astimezone(UTC)
    return found if _TIME_MIN <= found < _TIME_MAX else None


def graph_time(when: datetime) -> str:
    """An instant in Graph's own format (``2021-07-23T09:50:48+0000``)."""
    return when.astimezone(UTC).strftime(_GRAPH_TIME)


def author_of(value: object) -> Author | None:
    """A Graph ``from`` object (``{"id", "name", "email"}``) as an author; None when absent."""
    block = obj(value)
    key = ident(block.get("id"))
    if not key:
        return None
    return Author(kind=IdentityKind.FACEBOOK, key=key, display_name=text(block.get("name")))


def unknown_author() -> Author:
    """The author of a comment whose ``from`` the Graph API withheld (no permission to see it)."""
    return Author(kind=IdentityKind.FACEBOOK, key="")


def normalise_mid(mid: str) -> str:
    """A Messenger message id in the Graph API's form (``mid.…`` -> ``m_mid.…``)."""
    return f"m_{mid}" if mid.startswith("mid.") else mid


def post_object_id(post_id: str) -> str:
    """The post's own id: ``PAGE_POST`` -> ``POST``; a bare id is returned unchanged."""
    return post_id.rsplit("_", 1)[-1] if "_" in post_id else post_id


def post_of_comment(comment_id: str) -> str:
    """The post id a comment id names: ``POST_COMMENT`` or ``PAGE_POST_COMMENT`` -> ``POST``."""
    parts = comment_id.split("_")
    if len(parts) >= 3:
        return parts[-2]
    if len(parts) == 2:
        return parts[0]
    return ""


def page_of_post(post_id: str) -> str:
    """The owner in a ``PAGE_POST`` id, or "" for a bare id."""
    parts = post_id.split("_")
    return parts[0] if len(parts) == 2 and _NUMERIC.match(parts[0]) else ""


def post_thread(post_id: str) -> str:
    return f"fb:post:{post_object_id(post_id)}"


def messenger_thread(page_id: str, psid: str) -> str:
    return f"fb:psid:{page_id}:{psid}"


def conversation_thread(conversation_id: str) -> str:
    return f"fb:t:{conversation_id}"


def permalink_ids(url: str) -> tuple[str, str, str, str]:
    """``(page id, post id, comment id, parent comment id)`` read from a comment's permalink.

    ``…/PAGE/posts/POST/?comment_id=C&reply_comment_id=R`` is reply ``POST_R`` to ``POST_C``.
    Parts that are not there are "".
    """
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
    except ValueError:
        return "", "", "", ""
    page = ""
    found = _PERMALINK_PAGE.search(url)
    if found:
        page = found.group(1)
    segments = [s for s in parts.path.split("/") if s]
    post = ""
    if "posts" in segments and segments.index("posts") + 1 < len(segments):
        post = segments[segments.index("posts") + 1]
    if not post and query.get("story_fbid"):
        post = query["story_fbid"][0]
    comment = (query.get("comment_id") or [""])[0]
    reply = (query.get("reply_comment_id") or [""])[0]
    if not (_NUMERIC.match(post) if post else False):
        return page, "", "", ""
    if reply:
        return page, post, f"{post}_{reply}", f"{post}_{comment}" if comment else ""
    return page, post, f"{post}_{comment}" if comment else "", ""


def content_type_for(url: str, kind: str = "") -> str:
    """A MIME type guessed from a URL's file name, else from a Graph/Messenger attachment kind."""
    if url:
        try:
            path = urlsplit(url).path
        except ValueError:
            path = ""
        guessed, _ = mimetypes.guess_type(path)
        if guessed:
            return guessed
    kind = kind.lower()
    if kind in {
        "image",
        "photo",
        "sticker",
        "animated_image_share",
        "cover_photo",
        "profile_media",
    }:
        return "image/*"
    if kind.startswith("video"):
        return "video/*"
    if kind == "audio":
        return "audio/*"
    if kind in {"share", "fallback", "link"}:
        return "text/uri-list"
    return "application/octet-stream"


def file_name(url: str, fallback: str) -> str:
    """The last path segment of a URL, or ``fallback``."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return fallback
    name = path.rsplit("/", 1)[-1]
    return name or fallback


def graph_attachment(item: Mapping[str, object]) -> Attachment | None:
    """One entry of a Messenger message's ``attachments.data`` (Graph read); None for
    placeholders with neither a type nor a link (e.g. media withheld under EU privacy rules)."""
    image = obj(item.get("image_data"))
    video = obj(item.get("video_data"))
    template = obj(item.get("generic_template"))
    url = (
        text(item.get("file_url"))
        or text(video.get("url"))
        or text(image.get("url"))
        or text(obj(template.get("cta")).get("url"))
        or text(template.get("media_url"))
    )
    mime = text(item.get("mime_type"))
    if not url and not mime:
        return None
    size = integer(item.get("size"))
    name = text(item.get("name")) or text(template.get("title")) or file_name(url, "attachment")
    return Attachment(
        filename=name,
        content_type=mime or content_type_for(url, "link" if template else ""),
        size=size if size is None or size >= 0 else None,
        url=url or None,
    )


def story_attachment(item: Mapping[str, object]) -> Attachment | None:
    """A post or comment ``attachment`` (``{type, url, media: {image: {src}}, target}``)."""
    kind = text(item.get("type")) or text(item.get("media_type"))
    media_src = text(obj(obj(item.get("media")).get("image")).get("src"))
    url = text(item.get("url")) or text(obj(item.get("target")).get("url")) or media_src
    if not url:
        return None
    name = text(item.get("title")) or file_name(media_src or url, kind or "attachment")
    return Attachment(filename=name, content_type=content_type_for(media_src, kind), url=url)


def messenger_attachment(item: Mapping[str, object]) -> Attachment | None:
    """A webhook message attachment (``{type, payload: {url}}``, fallback, template)."""
    kind = text(item.get("type"))
    payload = obj(item.get("payload"))
    url = text(payload.get("url")) or text(item.get("url"))
    if kind == "template":
        elements = objs(obj(payload.get("product")).get("elements")) or objs(
            payload.get("elements")
        )
        if elements:
            first = elements[0]
            image = text(first.get("image_url"))
            return Attachment(
                filename=text(first.get("title")) or "product",
                content_type=content_type_for(image, "image"),
                url=image or None,
            )
        buttons = objs(payload.get("buttons"))
        url = url or (text(buttons[0].get("url")) if buttons else "")
        if not url:
            return None
        return Attachment(filename="template", content_type="text/uri-list", url=url)
    if not url:
        return None
    name = text(item.get("title")) or file_name(url, kind or "attachment")
    return Attachment(filename=name, content_type=content_type_for(url, kind), url=url)


def post_root(
    post: str, author: Author, body: str, sent_at: datetime, attachments: tuple[Attachment, ...], meta: dict[str, str]
) -> Message:
    """A post a visitor wrote on the Page: the root message of that post's comment thread."""
    return Message(
        provider_id=post,
        channel=Channel.FACEBOOK,
        surface=Surface.COMMENT,
        direction=Direction.INBOUND,
        author=author,
        text=body,
        sent_at=sent_at,
        attachments=attachments,
        thread_key=post_thread(post),
        meta={"post_id": post, "root": "1"} | meta,
    )
