"""Facebook Graph API and Page webhook payloads, normalised to :class:`~inbox.models.Message`.

Two entry points: :func:`import_file` for a saved JSON file (None when it is not a Graph
payload, so the importer can try another parser) and :func:`parse_payload` for an already
decoded document (a live Graph response or a webhook delivery). Neither raises on bad input: a
broken record becomes a :class:`~inbox.models.Rejection` and the others are kept.

Choices a caller may notice:

* Messenger threads are ``fb:psid:<page>:<psid>`` whenever the Page is known (see
  :mod:`.parse_graph` for how a read payload reveals it), else ``fb:t:<conversation id>``.
* Comment threads are ``fb:post:<post object id>``; ``reply_to_id`` is the parent comment for a
  reply, None for a top-level comment. ``meta["post_id"]`` keeps the full post id to answer on.
* An author the Graph API withheld (comments read without the permission to see who wrote them)
  is an :class:`~inbox.models.Author` with an empty ``key``; such comments count as inbound.
* A record without a time is rejected, never dated "now".
* A read payload that yields nothing says why in one rejection ("nothing to import: 4 Page
  accounts"); a webhook with only receipts, reactions or similar yields an empty batch.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from inbox.models import ParsedBatch, Rejection
from inbox.providers.facebook.collect import Collected, one_line
from inbox.providers.facebook.parse_graph import (
    edge_of,
    infer_page,
    item_kind,
    read_comment,
    read_conversation,
    read_message,
    read_post,
)
from inbox.providers.facebook.parse_webhook import read_webhook
from inbox.providers.facebook.payload import ident, obj, objs, text
from inbox.providers.json_input import MAX_DOCUMENT_BYTES, JsonRefused, loads

_COMPOSITE = re.compile(r"^\d+(?:_\d+){1,2}$")  # PAGE_POST, POST_COMMENT, PAGE_POST_COMMENT
#: Fields only Graph objects carry.
_GRAPH_KEYS = frozenset(
    {
        "created_time",
        "updated_time",
        "permalink_url",
        "participants",
        "message_tags",
        "comment_count",
        "fan_count",
        "snippet",
        "category_list",
        "tasks",
    }
)
#: Graph edges, recognised by their ``{"data": [...]}`` shape.
_GRAPH_EDGES = ("to", "attachments", "tags", "comments", "messages", "shares", "reactions", "likes")
_SKIP_WHAT = {
    "account": "Page accounts (me/accounts), not conversations",
    "page": "Page profiles, not conversations",
    "user": "user or profile entries, not conversations",
}


@dataclass(frozen=True, slots=True)
class Paging:
    """Where a paged Graph list goes on: the ``after`` cursor and whether a next page exists."""

    after: str | None
    has_next: bool


def paging_of(doc: object) -> Paging:
    """The paging of a Graph list (``paging.cursors.after``, ``paging.next``)."""
    block = obj(obj(doc).get("paging"))
    after = text(obj(block.get("cursors")).get("after")) or None
    return Paging(after=after, has_next=bool(text(block.get("next"))))


def _graph_like(item: dict[str, object]) -> bool:
    oid = ident(item.get("id"))
    if set(item) & _GRAPH_KEYS or oid.startswith(("m_", "t_")) or _COMPOSITE.match(oid):
        return True
    if ident(obj(item.get("from")).get("id")) or (oid.isdigit() and "category" in item):
        return True
    return any(isinstance(obj(item.get(edge)).get("data"), list) for edge in _GRAPH_EDGES)


def classify(doc: object) -> str | None:
    """ "webhook", "error", "list" or "object" for a Graph payload; None when it is not one."""
    if isinstance(doc, list):
        items = [item for item in doc if isinstance(item, dict)]
        return "list" if items and all(_graph_like(obj(i)) for i in items) else None
    if not isinstance(doc, dict):
        return None
    if doc.get("object") == "page" and "entry" in doc:
        return "webhook"
    error = doc.get("error")
    if isinstance(error, dict) and (
        "fbtrace_id" in error or "Exception" in text(error.get("type"))
    ):
        return "error"
    if isinstance(doc.get("data"), list) and set(doc) <= {"data", "paging", "summary"}:
        items = objs(doc.get("data"))
        if not items or "paging" in doc or any(_graph_like(i) for i in items):
            return "list"
        return None
    values = list(doc.values())
    if values and all(isinstance(v, dict) and ident(v.get("id")) == k for k, v in doc.items()):
        return "list" if any(_graph_like(obj(v)) for v in values) else None
    if ident(doc.get("id")) and _graph_like(obj(doc)):
        return "object"
    return None


def _read_item(item: dict[str, object], out: Collected, page: str, context: str) -> None:
    kind = item_kind(item, context)
    if kind == "conversation":
        read_conversation(item, out, page)
    elif kind == "message":
        page = page or infer_page({}, [item])
        out.page(page)
        read_message(item, out, page, None)
    elif kind == "post":
        read_post(item, out, page)
    elif kind == "comment":
        read_comment(item, out, page)
    elif kind == "error":
        message = text(obj(item.get("error")).get("message")) or "unknown error"
        out.reject(f"Graph error for {ident(item.get('id')) or 'an item'}: {message}")
    elif kind in _SKIP_WHAT:
        out.skip(_SKIP_WHAT[kind])
    else:
        keys = ", ".join(sorted(item)[:8])
        out.reject(f"not a message, comment, post or conversation (fields: {keys})")


def parse_payload(doc: object, source: str, page_id: str | None = None) -> ParsedBatch:
    """Messages in a decoded Graph response or webhook delivery; never raises on bad input.

    ``page_id`` is the Page the payload was read for (an account's setting); it decides
    direction and thread keys when the payload itself does not say.
    """
    page = (page_id or "").strip()
    out = Collected(source)
    kind = classify(doc)
    if kind is None:
        return ParsedBatch(rejections=(Rejection(source, "not a Graph API or webhook payload"),))
    if kind == "webhook":
        read_webhook(obj(doc), out, page)
        return out.batch(None if out.pages else page or None, explain_empty=False)
    if kind == "error":
        error = obj(obj(doc).get("error"))
        message = text(error.get("message")) or f"code {ident(error.get('code'))}"
        return ParsedBatch(
            rejections=(Rejection(source, one_line(f"Graph error response: {message}")),)
        )
    if isinstance(doc, list):
        items, context = [obj(i) for i in doc if isinstance(i, dict)], ""
    elif isinstance(obj(doc).get("data"), list):
        items, context = objs(obj(doc).get("data")), edge_of(obj(doc))
    elif kind == "list":
        items, context = [obj(v) for v in obj(doc).values()], ""
    else:
        items, context = [obj(doc)], ""
    _read_items(items, out, page, context)
    return out.batch(page or None, explain_empty=True)


def parse_items(
    items: list[dict[str, object]], source: str, page_id: str, edge: str
) -> ParsedBatch:
    """Graph objects read from a known edge of the Page ("conversations", "feed", "comments"),
    as the live provider gets them; an empty list is simply an empty batch."""
    out = Collected(source)
    _read_items(items, out, page_id, edge)
    return out.batch(page_id or None, explain_empty=False)


def _read_items(items: list[dict[str, object]], out: Collected, page: str, context: str) -> None:
    for index, item in enumerate(items):
        where = f"item {index} ({ident(item.get('id')) or 'no id'})"
        out.guarded(where, partial(_read_item, item, out, page, context))


def import_file(path: Path) -> ParsedBatch | None:
    """A saved Graph response or webhook delivery; None when the file is not one of those."""
    source = str(path)
    try:
        if path.stat().st_size > MAX_DOCUMENT_BYTES:
            return None
        raw = path.read_bytes()
    except OSError as exc:
        return ParsedBatch(rejections=(Rejection(source, f"cannot read file ({exc.strerror})"),))
    try:
        doc = loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, JsonRefused):
        return None  # the importer names what is wrong with a JSON file no parser took
    if classify(doc) is None:
        return None
    return parse_payload(doc, source)
