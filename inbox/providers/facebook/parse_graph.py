"""Graph API read responses: Page conversations, Messenger messages, posts and comments.

Which participant is the Page decides direction and the Messenger thread key. In order: the
``page_id`` the caller knows; the Page id in a conversation's ``link`` (``/PAGE/inbox/…``); the
sender of a message tagged ``sent`` (Graph tags what the token owner sent); the other participant
of a message tagged ``inbox`` but not ``sent``. When none says, the thread stays ``fb:t:<id>``.

Posts written by the Page itself are not messages: they only give their comments context
(``meta["post_message"]``). A post a visitor wrote on the Page is the root message of its thread.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import partial

from inbox.models import Attachment, Author, Channel, Direction, Message, Surface
from inbox.providers.facebook.collect import Collected, one_line
from inbox.providers.facebook.payload import (
    author_of,
    conversation_thread,
    graph_attachment,
    ident,
    integer,
    messenger_thread,
    normalise_mid,
    obj,
    objs,
    page_of_post,
    parse_time,
    permalink_ids,
    post_object_id,
    post_of_comment,
    post_root,
    post_thread,
    story_attachment,
    text,
    unknown_author,
)

_INBOX_LINK = re.compile(r"^(?:https?://[^/]+)?/(\d+)/inbox/")
_COMPOSITE = re.compile(r"^\d+(?:_\d+){1,2}$")
_COMMENT_MARKERS = frozenset(
    {"parent", "comment_count", "can_hide", "can_reply_privately", "is_hidden", "object"}
)
_POST_MARKERS = frozenset(
    {"comments", "status_type", "type", "story", "full_picture", "picture", "privacy", "actions"}
)
_POST_CONTEXT_CHARS = 300


def item_kind(item: Mapping[str, object], context: str = "") -> str:
    """What one Graph object is: conversation, message, post, comment, account, page, user,
    error, or unknown. ``context`` is the edge the list came from ("posts", "comments"…)."""
    oid = ident(item.get("id"))
    keys = set(item)
    if oid.startswith("t_") or keys & {"participants", "messages", "message_count", "snippet"}:
        return "conversation"
    if {"comments", "to"} <= keys and keys & {"unread", "unseen"}:
        return "conversation"  # the legacy (v2.1) inbox thread
    if oid.startswith(("m_", "mid.")):
        return "message"
    if "error" in keys:
        return "error"
    if "access_token" in keys or "tasks" in keys:
        return "account"
    if keys & {"category", "fan_count", "category_list"}:
        return "page"
    if context in {"conversations", "messages", "comments"}:
        return context.rstrip("s")
    if context in {"feed", "posts", "published_posts", "visitor_posts", "tagged"}:
        return "post"
    if keys & _COMMENT_MARKERS or oid.count("_") == 2:
        return "comment"
    if "comment_id=" in text(item.get("permalink_url")):
        return "comment"
    if keys & _POST_MARKERS:
        return "post"
    if {"to", "from"} <= keys:
        return "message"
    if _COMPOSITE.match(oid) or (not oid and "permalink_url" in keys):
        return "comment"
    if keys <= {"id", "name"} and oid:
        return "user"
    return "unknown"


def edge_of(doc: Mapping[str, object]) -> str:
    """The edge a paged list was read from, from its ``paging.next``/``previous`` URL."""
    paging = obj(doc.get("paging"))
    for key in ("next", "previous"):
        url = text(paging.get(key))
        path = url.split("?", 1)[0].rstrip("/")
        if path:
            return path.rsplit("/", 1)[-1]
    return ""


def _tags(item: Mapping[str, object]) -> set[str]:
    return {text(tag.get("name")) for tag in objs(item.get("tags"))}


def infer_page(conversation: Mapping[str, object], messages: list[dict[str, object]]) -> str:
    """The Page in a conversation or message list, when the payload reveals it; else ""."""
    found = _INBOX_LINK.match(text(conversation.get("link")))
    if found:
        return found.group(1)
    for message in messages:
        if "sent" in _tags(message):
            sender = ident(obj(message.get("from")).get("id"))
            if sender:
                return sender
    people = [ident(p.get("id")) for p in objs(conversation.get("participants"))]
    for message in messages:
        tags = _tags(message)
        if "inbox" in tags and "sent" not in tags:
            sender = ident(obj(message.get("from")).get("id"))
            others = {ident(p.get("id")) for p in objs(message.get("to"))} | set(people)
            others.discard(sender)
            others.discard("")
            if sender and len(others) == 1:
                return others.pop()
    return ""


def _message_attachments(item: Mapping[str, object], meta: dict[str, str]) -> list[Attachment]:
    found: list[Attachment] = []
    for entry in objs(item.get("attachments")):
        attachment = graph_attachment(entry)
        if attachment is not None:
            found.append(attachment)
        elif text(entry.get("name")):
            meta["attachment_unavailable"] = one_line(text(entry.get("name")), 200)
    sticker = text(item.get("sticker"))
    if sticker:
        found.append(Attachment(filename="sticker", content_type="image/*", url=sticker))
    for share in objs(item.get("shares")):
        link = text(share.get("link"))
        if link:
            name = text(share.get("name")) or link
            found.append(Attachment(filename=name, content_type="text/uri-list", url=link))
    return found


def read_message(
    item: Mapping[str, object], out: Collected, page_id: str, thread: str | None, conv: str = ""
) -> None:
    """One Messenger message from a Graph read (``/{conversation}/messages`` or ``/{message}``)."""
    mid = normalise_mid(ident(item.get("id")))
    if not mid:
        out.reject("Messenger message without an id")
        return
    sent_at = parse_time(item.get("created_time"))
    if sent_at is None:
        out.reject(f"message {mid}: no created_time")
        return
    author = author_of(item.get("from")) or unknown_author()
    outbound = bool(page_id) and author.key == page_id
    recipients = tuple(
        a for a in (author_of(p) for p in objs(item.get("to"))) if a and a.key != author.key
    )
    if thread is None and page_id:
        customer = next((a.key for a in recipients), "") if outbound else author.key
        thread = messenger_thread(page_id, customer) if customer else None
    meta: dict[str, str] = {"conversation_id": conv} if conv else {}
    attachments = _message_attachments(item, meta)
    out.messages.append(
        Message(
            provider_id=mid,
            channel=Channel.FACEBOOK,
            surface=Surface.MESSENGER,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            author=author,
            text=text(item.get("message")),
            sent_at=sent_at,
            recipients=recipients,
            attachments=tuple(attachments),
            thread_key=thread,
            meta=meta,
        )
    )


def read_conversation(item: Mapping[str, object], out: Collected, page_id: str) -> None:
    """A Page conversation (``t_…``) with its nested ``messages`` (or a legacy v2.1 thread)."""
    cid = ident(item.get("id"))
    legacy = "messages" not in item and "comments" in item
    messages = objs(item.get("comments" if legacy else "messages"))
    people = objs(item.get("to" if legacy else "participants")) or objs(item.get("senders"))
    page = page_id or infer_page({"link": item.get("link"), "participants": people}, messages)
    out.page(page)
    customers = [ident(p.get("id")) for p in people if ident(p.get("id")) not in {"", page}]
    if page and len(customers) == 1:
        thread = messenger_thread(page, customers[0])
    elif cid:
        thread = conversation_thread(cid)
    else:
        thread = None
    if not messages:
        out.skip("conversation summaries without messages")
    for index, message in enumerate(messages):
        out.guarded(
            f"conversation {cid} message {index}",
            partial(read_message, message, out, page, thread, cid),
        )


def read_comment(
    item: Mapping[str, object],
    out: Collected,
    page_id: str,
    post_id: str = "",
    context: Mapping[str, str] | None = None,
) -> None:
    """One comment (``/{post}/comments``, or nested under a post of the feed)."""
    permalink = text(item.get("permalink_url"))
    link_page, link_post, link_comment, link_parent = permalink_ids(permalink)
    cid = ident(item.get("id")) or link_comment
    if not cid:
        out.reject("comment without an id")
        return
    sent_at = parse_time(item.get("created_time"))
    if sent_at is None:
        out.reject(f"comment {cid}: no created_time")
        return
    post = post_id or ident(obj(item.get("object")).get("id")) or post_of_comment(cid) or link_post
    page = page_id or page_of_post(post) or link_page
    out.page(page)
    parent = ident(obj(item.get("parent")).get("id")) or link_parent
    if parent and post and post_object_id(parent) == post_object_id(post):
        parent = ""
    author = author_of(item.get("from")) or unknown_author()
    outbound = bool(page) and author.key == page
    meta: dict[str, str] = dict(context or {})
    if post:
        meta.setdefault("post_id", post)
    if permalink:
        meta["permalink_url"] = permalink
    count = integer(item.get("comment_count"))
    if count is not None:
        meta["comment_count"] = str(count)
    attachment = story_attachment(obj(item.get("attachment")))
    out.messages.append(
        Message(
            provider_id=cid,
            channel=Channel.FACEBOOK,
            surface=Surface.COMMENT,
            direction=Direction.OUTBOUND if outbound else Direction.INBOUND,
            author=author,
            text=text(item.get("message")),
            sent_at=sent_at,
            attachments=(attachment,) if attachment else (),
            thread_key=post_thread(post) if post else None,
            reply_to_id=parent or None,
            meta=meta,
        )
    )


def read_post(item: Mapping[str, object], out: Collected, page_id: str) -> None:
    """A feed post: the root message when a visitor wrote it, and its nested comments."""
    post = ident(item.get("id"))
    owner = page_of_post(post) or next((ident(p.get("id")) for p in objs(item.get("to"))), "")
    page = page_id or owner
    out.page(page)
    author: Author | None = author_of(item.get("from"))
    by_page = author is None or author.key == page  # the Graph API hides no Page's own name
    comments = objs(item.get("comments"))
    context: dict[str, str] = {"post_id": post} if post else {}
    body = text(item.get("message")) or text(item.get("story"))
    if by_page and body:
        context["post_message"] = one_line(body, _POST_CONTEXT_CHARS)
    if by_page and not comments:
        out.skip("Page posts without comments")
    if not by_page and author is not None:
        _visitor_post(item, out, post, author)
    for index, comment in enumerate(comments):
        out.guarded(
            f"post {post} comment {index}",
            partial(read_comment, comment, out, page, post, context),
        )


def _visitor_post(item: Mapping[str, object], out: Collected, post: str, author: Author) -> None:
    sent_at = parse_time(item.get("created_time"))
    if not post or sent_at is None:
        out.reject(f"post {post or '(no id)'}: no id or created_time")
        return
    attachments = [a for a in map(story_attachment, objs(item.get("attachments"))) if a]
    link = text(item.get("permalink_url"))
    meta = {"permalink_url": link} if link else {}
    out.messages.append(post_root(post, author, text(item.get("message")), sent_at, tuple(attachments), meta))
