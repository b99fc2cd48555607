"""Jotform webhook deliveries (``multipart/form-data`` bodies) as web-form messages.

The data comes from ``rawRequest``, a JSON object inside a form field with ``q<N>_<name>`` keys,
nested name/address/phone objects and upload URLs. ``pretty`` ("Label:value, Label:value") is
used only for the labels people read; since labels and values may hold ``:`` ``,`` and ``;``, it
is split by anchoring on the values known from ``rawRequest``.
"""

from __future__ import annotations

import bisect
import hashlib
import mimetypes
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from email.message import Message as MimeMessage
from email.parser import BytesParser
from email.policy import compat32
from urllib.parse import parse_qsl, unquote, urlsplit

from inbox.models import Attachment, ParsedBatch, Rejection
from inbox.providers.json_input import JsonRefused, loads
from inbox.providers.webform.parse import (
    FieldMapping,
    Submission,
    SubmittedField,
    address_in,
    parse_time,
    submission_message,
)

_QKEY = re.compile(r"q(\d+)_(.+)")
_MAX_PRETTY = 20_000
_MAX_LABEL = 400
_BUDGET = 200_000  # steps of the anchored split before giving up
_NO_TEXT = frozenset({"colIds", "rowIds", "implementation"})


def form_data(body: bytes, content_type: str | None = None) -> dict[str, str]:
    """The text fields of a form post: multipart (boundary from the header or the first line)
    or URL-encoded. Unreadable input gives an empty dict."""
    ctype = (content_type or "").lower()
    if "x-www-form-urlencoded" in ctype or (not ctype and not body.lstrip().startswith(b"--")):
        text = body.decode("utf-8", "replace")
        return dict(parse_qsl(text.strip(), keep_blank_values=True))
    boundary = None
    if content_type:
        match = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
        boundary = match.group(1).strip() if match else None
    if not boundary:
        first = body.lstrip().split(b"\n", 1)[0].strip()
        boundary = first[2:].decode("latin-1") if first.startswith(b"--") else ""
    if not boundary or '"' in boundary or "\\" in boundary:
        return {}
    head = f'Content-Type: multipart/form-data; boundary="{boundary}"\r\nMIME-Version: 1.0\r\n\r\n'
    mime = BytesParser(policy=compat32).parsebytes(head.encode("latin-1") + body)
    fields: dict[str, str] = {}
    parts = mime.get_payload() if mime.is_multipart() else []
    for part in parts if isinstance(parts, list) else []:
        if not isinstance(part, MimeMessage):
            continue
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or part.get_filename():
            continue
        payload = part.get_payload(decode=True)
        charset = part.get_content_charset() or "utf-8"
        if isinstance(payload, bytes):
            try:
                fields[name] = payload.decode(charset, "replace")
            except LookupError:
                fields[name] = payload.decode("utf-8", "replace")
    return fields


def _anchored_split(pretty: str, values: list[str]) -> list[tuple[str, str]] | None:
    """The split into the most label/value pairs whose values are all known, or None when
    there is none or finding it would take too long (the text comes from the internet)."""
    n, budget = len(pretty), _BUDGET
    spots: list[tuple[int, int]] = []  # every (':' position, value end) a known value can take
    for value in values:
        at = pretty.find(":" + value)
        while at != -1:
            budget -= 1 + len(value) // 8  # a long needle costs more to look for
            end = at + 1 + len(value)
            if end == n or pretty.startswith(", ", end):
                spots.append((at, end))
            if budget < 0:
                return None
            at = pretty.find(":" + value, at + 1)
    spots.sort()
    starts = [0, *(m.end() for m in re.finditer(", ", pretty))]
    best: dict[int, tuple[int, int, int]] = {n: (0, n, n)}  # start -> (pairs, ':' at, end)
    for start in reversed(starts):
        for index in range(bisect.bisect_right(spots, (start, n)), len(spots)):
            at, end = spots[index]
            budget -= 1
            if at - start > _MAX_LABEL or budget < 0:
                break
            follow = n if end == n else end + 2
            if follow == n and end != n:
                continue  # a value followed by a trailing ", " and nothing: that ", " belongs to the value
            if follow in best and (start not in best or best[follow][0] + 1 > best[start][0]):
                best[start] = (best[follow][0] + 1, at, end)
    if budget < 0 or 0 not in best:
        return None
    pairs: list[tuple[str, str]] = []
    pos = 0
    while pos < n:
        _, at, end = best[pos]
        pairs.append((pretty[pos:at], pretty[at + 1 : end]))
        pos = n if end == n else end + 2
    return pairs


def split_pretty(pretty: str, known_values: Sequence[str]) -> list[tuple[str, str]]:
    """Split "Label:value, Label:value" where labels and values may hold ':' ',' ';'.

    Each value must be one of ``known_values`` and be followed by ", " or the end; the split
    that reads the whole text as the most pairs wins. Without one, a naive split is used.
    """
    values = sorted({v for v in known_values if v}, key=len, reverse=True)
    if pretty and values and len(pretty) <= _MAX_PRETTY and len(values) <= 200:
        pairs = _anchored_split(pretty, values)
        if pairs is not None:
            return pairs
    pairs = []
    for chunk in re.split(r", (?=[^,:]+:)", pretty):
        label, sep, value = chunk.partition(":")
        if sep and label.strip():
            pairs.append((label.strip(), value.strip()))
    return pairs


def _words(key: str) -> str:
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key).replace("_", " ").strip()
    return spaced[:1].upper() + spaced[1:].lower() if spaced else key


def _upload_urls(value: object) -> list[str]:
    items = value if isinstance(value, list) else [value]
    urls = [v for v in items if isinstance(v, str) and v.startswith(("http://", "https://"))]
    return urls if urls and len(urls) == len(items) else []


def _attachment(url: str) -> Attachment:
    name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "upload"
    return Attachment(name, mimetypes.guess_type(name)[0] or "application/octet-stream", url=url)


def _answer(name: str, value: object) -> tuple[str, str, str]:
    """(display text, text as in ``pretty``, kind) of one ``rawRequest`` answer."""
    if isinstance(value, str):
        kind = "email" if "email" in name.lower() or address_in(value) else ""
        return value.strip(), value.strip(), kind
    if isinstance(value, list):
        items = [str(v).strip() for v in value if isinstance(v, (str, int, float)) and str(v)]
        return ", ".join(items), " ".join(items), ""
    if not isinstance(value, dict):
        return "", "", ""
    parts = {str(k): str(v).strip() for k, v in value.items() if isinstance(v, (str, int, float))}
    if "first" in parts or "last" in parts:
        keys = ("prefix", "first", "middle", "last", "suffix")
        text = " ".join(parts[k] for k in keys if parts.get(k))
        return text, text, "name"
    if "full" in parts or "phone" in parts or "area" in parts:
        full = parts.get("full") or " ".join(parts.get(k, "") for k in ("country", "area", "phone"))
        return full.strip(), full.strip(), "phone"
    if "addr_line1" in parts or "city" in parts:
        lines = ("addr_line1", "addr_line2", "city", "state", "postal", "country")
        text = ", ".join(parts[k] for k in lines if parts.get(k))
        return text, text, "address"
    if {"month", "day", "year"} <= parts.keys():
        ymd = [parts["year"], parts["month"], parts["day"]]
        text = "-".join(ymd) if all(ymd) else ""
        return text, text, ""
    if "implementation" in parts and not parts.get("date"):
        return "", "", ""
    text = "; ".join(f"{k}: {v}" for k, v in parts.items() if v and k not in _NO_TEXT)
    return text, text, ""


def _submitted_at(raw: dict[str, object], fallback: datetime) -> datetime:
    tracker = str(raw.get("jsExecutionTracker", ""))
    for pattern in (r"onsubmit-fired:(\d{12,13})", r"submit-validation-passed:(\d{12,13})"):
        match = re.search(pattern, tracker)
        if match and (when := parse_time(int(match.group(1)))):
            return when
    match = re.match(r"(\d{12,13})_", str(raw.get("event_id", "")))
    when = parse_time(int(match.group(1))) if match else None
    return when or fallback


def _fields(raw: dict[str, object], pretty: str) -> tuple[list[SubmittedField], list[Attachment]]:
    uploads: dict[str, str] = {}  # upload field name -> q key
    temp = raw.get("temp_upload")
    for qkey in temp if isinstance(temp, dict) else {}:
        match = _QKEY.fullmatch(str(qkey))
        if match:
            uploads[match.group(2)] = str(qkey)
    answers: list[tuple[int, str, str, str, str]] = []  # order, key, text, pretty, kind
    attachments: list[Attachment] = []
    for key, value in raw.items():
        match = _QKEY.fullmatch(key)
        name = match.group(2) if match else key
        urls = _upload_urls(value)
        if name not in uploads and not (not match and all("/uploads/" in u for u in urls)):
            urls = []
        if urls:
            attachments.extend(_attachment(u) for u in urls)
            names = [a.filename for a in attachments[-len(urls) :]]
            qkey = uploads.get(key, key)
            number = _QKEY.fullmatch(qkey)
            order = int(number.group(1)) if number else 10_000
            answers.append((order, qkey, ", ".join(names), " ".join(names), "file"))
        elif match:
            text, shown, kind = _answer(match.group(2), value)
            if text:
                answers.append((int(match.group(1)), key, text, shown, kind))
    pairs = split_pretty(pretty, [a[3] for a in answers]) if pretty.strip() else []
    labels: dict[int, tuple[int, str]] = {}  # answer index -> (position in pretty, label)
    for position, (label, shown) in enumerate(pairs):
        for index, answer in enumerate(answers):
            if index not in labels and answer[3] == shown.strip():
                labels[index] = (position, label)
                break
    shown_order = sorted(
        range(len(answers)), key=lambda i: (labels.get(i, (1 << 30, ""))[0], answers[i][0])
    )
    fields = []
    for index in shown_order:
        _, key, text, _, kind = answers[index]
        name = _QKEY.fullmatch(key)
        label = labels[index][1] if index in labels else _words(name.group(2) if name else key)
        fields.append(
            SubmittedField(key=name.group(2) if name else key, label=label, value=text, kind=kind)
        )
    return fields, attachments


def parse_jotform(
    body: bytes,
    source: str,
    content_type: str | None = None,
    *,
    mapping: FieldMapping | None = None,
    received_at: datetime | None = None,
) -> ParsedBatch:
    """One Jotform webhook delivery as a batch of one message (or one rejection). Never raises."""
    try:
        data = form_data(body, content_type)
    except (ValueError, LookupError, TypeError) as exc:
        return ParsedBatch(rejections=(Rejection(source, f"unreadable form data ({exc})"),))
    form_id = data.get("formID", "").strip()
    try:
        raw: object = loads(data.get("rawRequest", ""))
    except JsonRefused:
        raw = None
    if not form_id and isinstance(raw, dict):
        slug = str(raw.get("slug", ""))
        form_id = slug.rsplit("/", 1)[-1] if slug.startswith("submit/") else ""
    if not form_id or not isinstance(raw, dict):
        missing = "formID" if not form_id else "rawRequest (missing or not a JSON object)"
        hint = f"webform:{form_id}" if form_id else None
        reason = f"not a readable Jotform submission: {missing}"
        return ParsedBatch(rejections=(Rejection(source, reason),), account_hint=hint)
    sub_id = data.get("submissionID", "").strip()
    if not sub_id:
        sub_id = "h-" + hashlib.sha256(body).hexdigest()[:16]
    fields, attachments = _fields(raw, data.get("pretty", ""))
    sub = Submission(
        form_id=form_id,
        form_title=data.get("formTitle", "").strip(),
        submission_id=sub_id,
        submitted_at=_submitted_at(raw, received_at or datetime.now(UTC)),
        fields=tuple(fields),
        attachments=tuple(attachments),
        meta={"source": "jotform"},
    )
    result = submission_message(sub, mapping or FieldMapping(), source)
    hint = f"webform:{form_id}"
    if isinstance(result, Rejection):
        return ParsedBatch(rejections=(result,), account_hint=hint)
    return ParsedBatch(messages=(result,), account_hint=hint)
