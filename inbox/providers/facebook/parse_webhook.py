"""Page webhook deliveries (``{"object": "page", "entry": [...]}``) as messages.

Kept: Messenger messages (``is_echo`` ones are the Page's own replies, outbound), postbacks (a
customer tapped a button: kept with the button title as text), edits (``message_edit`` and
``verb: edited``: kept under the *same* provider id with ``meta["edited"] = "1"`` so the store can
replace the text), feed comments (``add``/``edited``), posts a visitor wrote on the Page, and
``mention`` changes. Skipped silently, never rejected: delivery and read receipts, reactions,
likes, opt-ins, referrals, account linking, handover, policy enforcement, hides, removals,
deletions (``is_deleted``: what the customer wrote stays in the record), the Page's own posts, and
change fields other than ``feed`` and ``mention``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import partial

from inbox.models import Attachment, Author, Channel, Direction, IdentityKind, Message, Surface
from inbox.providers.facebook.collect import Collected
from inbox.providers.facebook.payload import (
    author_of,
    content_type_for,
    file_name,
    ident,
    messenger_attachment,
    messenger_thread,
    normalise_mid,
    obj,
    objs,
    parse_time,
    post_object_id,
    post_of_comment,
    post_root,
    post_thread,
    text,
    unknown_author,
)

_KEPT_VERBS = frozenset({"add", "edited", "edit"})
_POST_ITEMS = frozenset({"post", "status", "photo", "video", "share"})


def read_webhook(doc: Mapping[str, object], out: Collected, page_id: str) -> None:
    """Every entry of one delivery; each event is read on its own."""
    if not isinstance(doc.get("entry"), list):
        out.reject("webhook delivery without an entry list")
        return
    for index, entry in enumerate(objs(doc.get("entry"))):
        page = ident(entry.get("id")) or page_id
        out.page(page)
        entry_time = entry.get("time")
        for key in ("messaging", "standby"):
            for number, event in enumerate(objs(entry.get(key))):
                where = f"entry {index} {key} {number}"
                out.guarded(where, partial(_messaging, event, out, page, entry_time))
        for number, change in enumerate(objs(entry.get("changes"))):
            where = f"entry {index} change {number}"
            out.guarded(where, partial(_change, change, out, page, entry_time))


def _page_author(page: str) -> Author:
    return Author(kind=IdentityKind.FACEBOOK, key=page)


def _messaging(event: Mapping[str, object], out: Collected, page: str, entry_time: object) -> None:
    sender = obj(event.get("sender"))
    sender_id = ident(sender.get("id")) or ident(sender.get("user_ref"))
    recipient_id = ident(obj(event.get("recipient")).get("id"))
    when = parse_time(event.get("timestamp")) or parse_time(entry_time)
    if "message" in event:
        message = obj(event.get("message"))
        if message.get("is_deleted") is True:
            return
        echo = message.get("is_echo") is True
        page = page or (sender_id if echo else recipient_id)
        customer = recipient_id if echo else sender_id
        if customer == page:  # an echo written with sender and recipient the other way round
            customer = sender_id if echo else recipient_id
        _message(message, out, page, customer, echo, when, {})
    elif "message_edit" in event:
        edit = obj(event.get("message_edit"))
        meta = {"edited": "1"}
        if ident(edit.get("num_edit")):
            meta["num_edit"] = ident(edit.get("num_edit"))
        _message(edit, out, page or recipient_id, sender_id, False, when, meta)
    elif "postback" in event:
        _postback(obj(event.get("postback")), out, page or recipient_id, sender_id, when)
    # delivery, read, reaction, optin, referral, account_linking, handover and
    # policy-enforcement events change no conversation text: skipped on purpose.


def _message(
    message: Mapping[str, object],
    out: Collected,
    page: str,
    customer: str,
    echo: bool,
    when: datetime | None,
    meta: dict[str, str],
) -> None:
    mid = normalise_mid(ident(message.get("mid")))
    if not mid:
        out.reject("Messenger message without a mid")
        return
    if when is None:
        out.reject(f"message {mid}: no timestamp")
        return
    body = text(message.get("text"))
    attachments: list[Attachment] = []
    for item in objs(message.get("attachments")):
        attachment = messenger_attachment(item)
        if attachment is not None:
            attachments.append(attachment)
        coordinates = obj(obj(item.get("payload")).get("coordinates"))
        if text(item.get("type")) == "location" and coordinates:
            place = f"{coordinates.get('lat')}, {coordinates.get('long')}"
            meta["location"] = place
            body = body or f"Location: {place}"
    if ident(message.get("sticker_id")):
        meta["sticker_id"] = ident(message.get("sticker_id"))
    quick = text(obj(message.get("quick_reply")).get("payload"))
    if quick:
        meta["quick_reply_payload"] = quick
    if message.get("is_unsupported") is True:
        meta["unsupported"] = "1"
    if echo and ident(message.get("app_id")):
        meta["app_id"] = ident(message.get("app_id"))
    reply_to = obj(message.get("reply_to"))
    story = obj(reply_to.get("story"))
    if story:
        meta["story_id"] = ident(story.get("id"))
        meta["story_url"] = text(story.get("url"))
    page_author, customer_author = _page_author(page), Author(IdentityKind.FACEBOOK, customer)
    out.messages.append(
        Message(
            provider_id=mid,
            channel=Channel.FACEBOOK,
            surface=Surface.MESSENGER,
            direction=Direction.OUTBOUND if echo else Direction.INBOUND,
            author=page_author if echo else customer_author,
            text=body,
            sent_at=when,
            recipients=(customer_author if echo else page_author,),
            attachments=tuple(attachments),
            thread_key=messenger_thread(page, customer) if page and customer else None,
            reply_to_id=normalise_mid(ident(reply_to.get("mid"))) or None,
            meta=meta,
        )
    )


def _postback(
    postback: Mapping[str, object], out: Collected, page: str, customer: str, when: datetime | None
) -> None:
    if when is None or not customer:
        out.reject("postback without a sender or timestamp")
        return
    payload = text(postback.get("payload"))
    mid = normalise_mid(ident(postback.get("mid")))
    stamp = int(when.timestamp() * 1000)
    meta = {"postback_payload": payload}
    referral = obj(postback.get("referral"))
    if referral:
        meta["referral_source"] = text(referral.get("source"))
    customer_author = Author(IdentityKind.FACEBOOK, customer)
    out.messages.append(
        Message(
            provider_id=mid or f"postback:{customer}:{stamp}",
            channel=Channel.FACEBOOK,
            surface=Surface.MESSENGER,
            direction=Direction.INBOUND,
            author=customer_author,
            text=text(postback.get("title")) or payload,
            sent_at=when,
            recipients=(_page_author(page),),
            thread_key=messenger_thread(page, customer) if page else None,
            meta=meta,
        )
    )


def _change(change: Mapping[str, object], out: Collected, page: str, entry_time: object) -> None:
    field = text(change.get("field"))
    value = obj(change.get("value"))
    verb = text(value.get("verb"))
    if field not in {"feed", "mention"} or verb not in _KEPT_VERBS:
        return  # reactions, likes, hides, removals, leadgen, Page settings: not conversation text
    item = text(value.get("item"))
    when = parse_time(value.get("created_time")) or parse_time(entry_time)
    author = author_of(value.get("from"))
    if author is None and ident(value.get("sender_id")):
        author = Author(
            IdentityKind.FACEBOOK, ident(value.get("sender_id")), "", text(value.get("sender_name"))
        )
    meta: dict[str, str] = {}
    if verb != "add":
        meta["edited"] = "1"
    if field == "mention":
        meta["mention"] = "1"
    if item == "comment":
        _comment(value, out, page, author, when, meta)
    elif item in _POST_ITEMS:
        if author is None and field == "feed":
            return  # no author: the Page's own publishing (events, albums, scheduled posts)
        if author is not None and author.key == page:
            return  # the Page's own post: context, not a customer message
        _post(value, out, author or unknown_author(), when, meta)


def _media(value: Mapping[str, object]) -> list[Attachment]:
    urls = [text(value.get("photo")), text(value.get("video"))]
    photos = value.get("photos")
    urls += [text(u) for u in photos] if isinstance(photos, list) else []
    if text(value.get("item")) in {"photo", "video", "share"}:
        urls.append(text(value.get("link")))
    return [
        Attachment(filename=file_name(url, "media"), content_type=content_type_for(url), url=url)
        for url in urls
        if url
    ]


def _comment(
    value: Mapping[str, object],
    out: Collected,
    page: str,
    author: Author | None,
    when: datetime | None,
    meta: dict[str, str],
) -> None:
    comment_id = ident(value.get("comment_id"))
    if not comment_id or when is None:
        out.reject(f"comment {comment_id or '(no comment_id)'}: no id or created_time")
        return
    post = ident(value.get("post_id")) or post_of_comment(comment_id)
    parent = ident(value.get("parent_id"))
    if parent and post and post_object_id(parent) == post_object_id(post):
        parent = ""
    if post:
        meta["post_id"] = post
    who = author or unknown_author()
    out.messages.append(
        Message(
            provider_id=comment_id,
            channel=Channel.FACEBOOK,
            surface=Surface.COMMENT,
            direction=Direction.OUTBOUND if page and who.key == page else Direction.INBOUND,
            author=who,
            text=text(value.get("message")),
            sent_at=when,
            attachments=tuple(_media(value)),
            thread_key=post_thread(post) if post else None,
            reply_to_id=parent or None,
            meta=meta,
        )
    )


def _post(
    value: Mapping[str, object],
    out: Collected,
    author: Author,
    when: datetime | None,
    meta: dict[str, str],
) -> None:
    post = ident(value.get("post_id"))
    if not post:
        return  # an album or video without a post: nothing anyone can answer
    if when is None:
        out.reject(f"post {post}: no created_time")
        return
    out.messages.append(post_root(post, author, text(value.get("message")), when, tuple(_media(value)), meta))
