"""Read X (Twitter) payloads from files and API responses into a :class:`ParsedBatch`.

Understood: X API v2 responses (tweets with ``includes``, DM events), twarc JSONL (one response
page per line), recorded HTTP exchanges (VCR JSON cassettes and ``*.bodies.json`` lists of
``{method, uri, status, body}``), X API v1.1 statuses and DMs, and Account Activity API webhook
deliveries (bare, or wrapped as ``{"headers", "params"}``). YAML recordings are recognised and
refused with a reason, since the standard library cannot read YAML.

Times: ``created_at`` when present; otherwise the time encoded in the snowflake id,
``(id >> 22) + 1288834974657`` milliseconds since the Unix epoch (see
:func:`~inbox.providers.twitter.payload.snowflake_time`).

Nothing here raises on bad input: a broken record becomes a :class:`Rejection` naming the file and
the record, and the rest of the file still imports.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping
from pathlib import Path
from typing import BinaryIO

from inbox.models import Message, ParsedBatch, Rejection
from inbox.providers.json_input import (
    MAX_DOCUMENT_BYTES,
    MAX_LINES_NAMED,
    JsonRefused,
    json_lines,
    loads,
    size_text,
)
from inbox.providers.twitter.parse_v1 import (
    dm_event_message,
    is_activity,
    is_dm_event,
    is_legacy_dm,
    is_status,
    parse_activity,
    parse_items,
)
from inbox.providers.twitter.parse_v2 import parse_v2
from inbox.providers.twitter.payload import Collected, obj, objs, text

_X_HOSTS = re.compile(r"^https?://(api\.)?(twitter|x)\.com/", re.IGNORECASE)
_DM_CONVERSATION = re.compile(r"/2/dm_conversations/(?!with/)([^/?]+)/dm_events")
_V2_META = frozenset({"result_count", "next_token", "previous_token", "newest_id", "oldest_id"})
_V2_TWEET_MARKERS = frozenset(
    {"author_id", "edit_history_tweet_ids", "conversation_id", "public_metrics", "note_tweet"}
)
_X_USER_MARKERS = frozenset({"public_metrics", "pinned_tweet_id", "protected", "verified_type"})
_EXPANSION_KEYS = frozenset({"media", "users", "tweets", "polls", "places"})
#: Strings that identify an X payload even when its JSON is broken.
_X_SNIFF = ("api.twitter.com", '"id_str"', '"edit_history_tweet_ids"', '"for_user_id"', "__twarc")

_SNIFF_BYTES = 64 * 1024

CASSETTE_YAML = "YAML HTTP cassette: not an import format, use decoded/*.bodies.json"
ACTIVITY_YAML = (
    "Ruby-serialised YAML Account Activity event: not an import format, "
    "import the webhook's JSON body instead"
)


def _fragment(doc: Mapping[str, object]) -> str | None:
    """The kind of a stand-alone v2 object that holds no post, or ``None``."""
    keys = set(doc)
    if "media_key" in keys:
        return "a media object"
    if "username" in keys and keys & (_X_USER_MARKERS | {"profile_image_url"}):
        return "a user profile"
    if "voting_status" in keys and "options" in keys:
        return "a poll"
    if "place_type" in keys or ({"full_name", "country_code"} <= keys):
        return "a place"
    if keys and keys <= _V2_META:
        return "pagination metadata"
    if "not_created" in obj(doc.get("summary")) and "sent" in keys:
        return "a stream rules summary"
    if keys and keys <= _EXPANSION_KEYS:
        return "an includes block without data"
    return None


def _is_v2(doc: Mapping[str, object]) -> bool:
    if "__twarc" in doc or "includes" in doc or "matching_rules" in doc:
        return True
    if "paging" in doc or "object" in doc or "entry" in doc:
        return False  # Graph API and Facebook webhooks use these
    meta = obj(doc.get("meta"))
    if meta and set(meta) & _V2_META:
        return True
    items = objs(doc.get("data"))
    if items:
        first = items[0]
        post = "text" in first and "message" not in first and "from" not in first
        return (
            post or "event_type" in first or "dm_event_id" in first or _fragment(first) is not None
        )
    return isinstance(doc.get("errors"), list) and ("title" in doc or "type" in doc)


def _collect(doc: object, source: str, where: str = "", hint: str = "") -> Collected | None:
    """Everything in one JSON document, or ``None`` when it is not an X payload."""
    prefix = f"{where} " if where else ""
    if isinstance(doc, list):
        items = objs(doc)
        if items and len(items) == len(doc) and all({"uri", "body"} <= set(i) for i in items):
            return _recorded(items, source) if any(_x_uri(i.get("uri")) for i in items) else None
        if any(is_status(i) or is_legacy_dm(i) or is_dm_event(i) for i in items):
            return parse_items(list(doc), source, where, {})
        return None
    if not isinstance(doc, dict):
        return None
    doc = obj(doc)
    params = obj(doc.get("params"))
    if "headers" in doc and is_activity(params):
        return parse_activity(params, source, f"{prefix}params".strip())
    if is_activity(doc):
        return parse_activity(doc, source, where)
    if isinstance(doc.get("interactions"), list):
        return _cassette(objs(doc.get("interactions")), source)
    if _is_v2(doc):
        return parse_v2(doc, source, where, hint)
    statuses = doc.get("statuses")
    if isinstance(statuses, list):
        return parse_items(statuses, source, f"{prefix}statuses".strip(), {})
    if is_dm_event(obj(doc.get("event"))):
        found = Collected(posts_seen=True)
        outcome = dm_event_message(obj(doc.get("event")), {})
        if isinstance(outcome, Message):
            found.messages.append(outcome)
        elif outcome is not None:
            found.reject(source, f"{prefix}event: {outcome}")
        return found
    events = doc.get("events")
    if isinstance(events, list) and ("next_cursor" in doc or "apps" in doc):
        return parse_items(events, source, f"{prefix}events".strip(), {})
    if is_status(doc) or is_legacy_dm(doc):
        return parse_items([doc], source, where, {})
    if isinstance(doc.get("id"), str) and "text" in doc and set(doc) & _V2_TWEET_MARKERS:
        return parse_v2({"data": doc}, source, where)  # a bare v2 tweet object
    kind = _fragment(doc)
    return Collected(others=[kind]) if kind else None


def _x_uri(uri: object) -> bool:
    return bool(_X_HOSTS.match(text(uri)))


def _recorded_body(
    method: str, uri: str, status: int | None, body: object, source: str, where: str
) -> Collected | None:
    if not _x_uri(uri):
        return None
    if status is not None and not 200 <= status < 300:
        return Collected(others=[f"HTTP {status} responses"])
    if method.upper() != "GET":
        return Collected(others=["write receipts"]) if body not in (None, "") else None
    if body == []:
        return Collected(posts_seen=True)  # an empty v1.1 timeline
    match = _DM_CONVERSATION.search(uri)
    found = _collect(body, source, where, match.group(1) if match else "")
    return found if found is not None else Collected(others=["other responses"])


def _recorded(items: list[dict[str, object]], source: str) -> Collected:
    """A ``*.bodies.json`` list of ``{method, uri, request_body, status, body}`` exchanges."""
    found = Collected()
    for index, item in enumerate(items):
        status = item.get("status")
        part = _recorded_body(
            text(item.get("method")) or "GET",
            text(item.get("uri")),
            status if isinstance(status, int) else None,
            item.get("body"),
            source,
            f"response {index}",
        )
        if part is not None:
            found.merge(part)
    return found


def _cassette(interactions: list[dict[str, object]], source: str) -> Collected | None:
    """A VCR JSON cassette: each response body is a JSON string."""
    found: Collected | None = None
    for index, interaction in enumerate(interactions):
        request = obj(interaction.get("request"))
        response = obj(interaction.get("response"))
        if not _x_uri(request.get("uri")):
            continue
        found = found or Collected()
        raw = text(obj(response.get("body")).get("string"))
        status = obj(response.get("status")).get("code")
        try:
            body: object = loads(raw) if raw.strip() else None
        except JsonRefused as exc:
            found.reject(source, f"interaction {index}: response body is not readable ({exc})")
            continue
        part = _recorded_body(
            text(request.get("method")) or "GET",
            text(request.get("uri")),
            status if isinstance(status, int) else None,
            body,
            source,
            f"interaction {index}",
        )
        if part is not None:
            found.merge(part)
    return found


def _batch(found: Collected, source: str) -> ParsedBatch:
    rejections = list(found.rejections)
    if not found.messages and not found.posts_seen and not rejections:
        kinds = ", ".join(found.others) or "no readable content"
        rejections.append(Rejection(source, f"holds no tweets or direct messages ({kinds})"))
    unique: dict[str, Message] = {}
    for message in found.messages:
        unique.setdefault(message.provider_id, message)
    return ParsedBatch(tuple(unique.values()), tuple(rejections), found.account_hint)


def parse_payload(doc: object, source: str) -> ParsedBatch:
    """Every tweet and DM in one decoded JSON document (an API response, a webhook delivery, a
    recorded exchange). A document that is not an X payload yields one rejection saying so."""
    try:
        found = _collect(doc, source)
    except RecursionError:
        found = None
    if found is None:
        return ParsedBatch(rejections=(Rejection(source, "not an X API payload"),))
    return _batch(found, source)


def _yaml_reason(content: str) -> str | None:
    if "interactions:" in content and ("api.twitter.com" in content or "api.x.com" in content):
        return CASSETTE_YAML
    if "!ruby/" in content and ("for_user_id" in content or "_events:" in content):
        return ACTIVITY_YAML
    return None


def _json_lines(handle: BinaryIO, source: str) -> Collected | None:
    """A JSON-lines file (twarc's one response page per line); ``None`` when no line is an X
    payload. A bad line is rejected by its number and the good lines still import."""
    found = Collected()
    recognised = False
    bad: list[Rejection] = []
    for line in json_lines(handle):
        if line.refused is not None:
            bad.append(Rejection(source, f"line {line.number}: {line.refused}"))
            continue
        try:
            part = _collect(line.doc, source, f"line {line.number}")
        except RecursionError:  # not reached within MAX_DEPTH; kept as a last guard
            bad.append(Rejection(source, f"line {line.number}: JSON nested too deeply"))
            continue
        if part is not None:
            recognised = True
            found.merge(part)
    if not recognised:
        return None
    found.rejections.extend(bad[:MAX_LINES_NAMED])
    if len(bad) > MAX_LINES_NAMED:
        more = len(bad) - MAX_LINES_NAMED
        found.reject(source, f"and {more} more lines rejected (first: {bad[MAX_LINES_NAMED].reason})")
    return found


def import_file(path: Path) -> ParsedBatch | None:
    """The tweets and DMs in one file, or ``None`` when the file is not an X payload (so that
    another channel's parser may try it). Never raises on bad content.

    A JSON document is read whole up to ``MAX_DOCUMENT_BYTES``; a larger file, or one that is
    not a single document, is read as JSON lines, one line at a time.
    """
    source = str(path)
    suffix = path.suffix.lower()
    try:
        size = path.stat().st_size
        with path.open("rb") as handle:
            raw = handle.read(_SNIFF_BYTES)
            head = raw.lstrip(b"\xef\xbb\xbf \t\r\n")
            if suffix in (".yaml", ".yml") or (
                head.startswith((b"{", b"[")) and size <= MAX_DOCUMENT_BYTES
            ):
                raw += handle.read(MAX_DOCUMENT_BYTES + 1 - len(raw))
    except OSError as exc:
        if suffix in (".json", ".jsonl", ".ndjson"):
            return ParsedBatch(rejections=(Rejection(source, f"cannot read ({exc.strerror})"),))
        return None
    if suffix in (".yaml", ".yml"):
        reason = _yaml_reason(raw.decode("utf-8-sig", errors="replace"))
        return ParsedBatch(rejections=(Rejection(source, reason),)) if reason else None
    if not head.startswith((b"{", b"[")):
        return None
    whole = size <= MAX_DOCUMENT_BYTES and len(raw) <= MAX_DOCUMENT_BYTES
    content = raw.decode("utf-8-sig", errors="replace")
    refused = f"larger than {size_text(MAX_DOCUMENT_BYTES)} and not JSON lines"
    lines_first = suffix in (".jsonl", ".ndjson")  # saves decoding a JSON-lines file twice
    if whole and not lines_first:
        batch, refused = _document(content, source)
        if not refused:
            return batch
    looks_like_x = any(marker in content for marker in _X_SNIFF)
    try:
        with io.BytesIO(raw) if whole else path.open("rb") as handle:
            found = _json_lines(handle, source)
    except OSError as exc:
        return ParsedBatch(rejections=(Rejection(source, f"cannot read ({exc.strerror})"),))
    if found is not None:
        return _batch(found, source)
    if whole and lines_first:
        batch, refused = _document(content, source)
        if not refused:
            return batch
    return ParsedBatch(rejections=(Rejection(source, refused),)) if looks_like_x else None


def _document(content: str, source: str) -> tuple[ParsedBatch | None, str]:
    """A file read as one JSON document: ``(batch, "")``, the batch ``None`` when the document is
    not an X payload; ``(None, reason)`` when the content is not one readable JSON document."""
    try:
        doc = loads(content)
    except JsonRefused as exc:
        return None, exc.reason
    try:
        collected = _collect(doc, source)
    except RecursionError:  # not reached within MAX_DEPTH; kept as a last guard
        return ParsedBatch(rejections=(Rejection(source, "JSON nested too deeply"),)), ""
    return (None if collected is None else _batch(collected, source)), ""
