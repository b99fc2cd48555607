"""Web-form submissions in our own JSON shape (``docs/WEBFORMS.md``), and the mapping of fields.

Every source (our JSON, a Jotform webhook, a notification mail) reads :class:`SubmittedField`\\ s;
:func:`resolve_fields` finds name, email, phone, subject and message through a
:class:`FieldMapping`; :func:`submission_message` builds the :class:`~inbox.models.Message`.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parseaddr

from inbox.models import (
    Attachment,
    Author,
    Channel,
    Direction,
    IdentityKind,
    Message,
    ParsedBatch,
    Rejection,
    Surface,
)

FORMAT_VERSION = 1
ROLES = ("name", "email", "phone", "subject", "message")
_MAX_DEPTH = 8

_EMAIL = re.compile(r"[^@\s<>(),;:\"\[\]]+@[^@\s<>(),;:\"\[\]]+\.[^@\s<>(),;:\"\[\].]+")


def normalise_label(text: str) -> str:
    """A label or key folded for comparison: "E-mail Address" ~ "email_address" ~ "emailAddress"."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def _defaults(labels: str) -> tuple[str, ...]:
    return tuple(labels.split("|"))


@dataclass(frozen=True, slots=True)
class FieldMapping:
    """Which form fields (by key or label, compared loosely) hold each part of a message.

    Candidates are tried in order; the first field found with a value wins. Custom labels from
    account settings come before the defaults.
    """

    name: tuple[str, ...] = _defaults("name|full name|your name|your-name|nom|nom complet")
    email: tuple[str, ...] = _defaults(
        "email|e-mail|email address|your email|your-email|courriel|mail|adresse e-mail"
    )
    phone: tuple[str, ...] = _defaults(
        "phone|telephone|téléphone|tel|phone number|mobile|your phone|your-tel|portable"
    )
    subject: tuple[str, ...] = _defaults("subject|your subject|your-subject|sujet|objet")
    message: tuple[str, ...] = _defaults(
        "message|your message|your-message|message body|comments|comment|enquiry|inquiry|"
        "details|description|question|body|demande"
    )

    def candidates(self, role: str) -> tuple[str, ...]:
        value: tuple[str, ...] = getattr(self, role)
        return value

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> FieldMapping:
        """Read ``map.<role>=Label`` settings (several labels separated by ``|``), and a
        ``mapping`` text of ``role=Label`` entries, one per line or separated by ``;``."""
        custom: dict[str, list[str]] = {role: [] for role in ROLES}
        entries: list[tuple[str, str]] = []
        for key, value in settings.items():
            if key.startswith("map."):
                entries.append((key[4:], value))
        for chunk in re.split(r"[\n;]", settings.get("mapping", "")):
            role, sep, value = chunk.partition("=")
            if sep:
                entries.append((role.strip().removeprefix("map."), value))
        for role, value in entries:
            role = role.strip().casefold()
            if role in custom:
                custom[role].extend(v.strip() for v in value.split("|") if v.strip())
        default = cls()
        return cls(**{r: (*custom[r], *default.candidates(r)) for r in ROLES})


@dataclass(frozen=True, slots=True)
class SubmittedField:
    """One answered field: its key, the label shown to people, the value as text, and a hint of
    its type when the source says (``email``, ``phone``, ``name``, ``file``)."""

    key: str
    label: str
    value: str
    kind: str = ""


@dataclass(frozen=True, slots=True)
class ResolvedFields:
    """The parts of a message found among a submission's fields; the rest are ``extras``."""

    name: str = ""
    email: str = ""
    phone: str = ""
    subject: str = ""
    message: str = ""
    extras: tuple[SubmittedField, ...] = ()


@dataclass(frozen=True, slots=True)
class Submission:
    """One form submission from any source, before it becomes a message."""

    form_id: str
    form_title: str
    submission_id: str
    submitted_at: datetime
    fields: tuple[SubmittedField, ...]
    attachments: tuple[Attachment, ...] = ()
    meta: Mapping[str, str] = field(default_factory=dict)


def one_line(text: str, limit: int = 300) -> str:
    """A reason fit for one line: blanks folded, long text cut."""
    folded = " ".join(text.split())
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def address_in(value: str) -> tuple[str, str] | None:
    """(display name, address) when the value is one email address, bare or "Name <addr>"."""
    text = value.strip().removeprefix("mailto:")
    if _EMAIL.fullmatch(text):
        return "", text
    if "<" in text and text.count("@") == 1:
        name, addr = parseaddr(text)
        if _EMAIL.fullmatch(addr):
            return name.strip(), addr
    return None


def normalise_phone(value: str) -> str | None:
    """Digits with a leading + (``00`` read as +), or None when it is not a phone number."""
    text = value.strip()
    if not re.fullmatch(r"[+0-9 ().\-/]{5,40}", text):
        return None
    digits = re.sub(r"\D", "", text)
    if not text.startswith("+") and digits.startswith("00"):
        digits = digits[2:]
    if not 5 <= len(digits) <= 15:
        return None
    return "+" + digits


def _fits(role: str, value: str) -> bool:
    """A field may take a role when it has a value; an email field needs an address."""
    return bool(value.strip()) and (role != "email" or address_in(value) is not None)


def resolve_fields(fields: Sequence[SubmittedField], mapping: FieldMapping) -> ResolvedFields:
    """Find each role by the mapping, then by the fields' type hints and values."""
    taken: set[int] = set()
    found: dict[str, str] = {}
    by_name: dict[str, list[int]] = {}
    for index, item in enumerate(fields):
        for text in {normalise_label(item.key), normalise_label(item.label)}:
            by_name.setdefault(text, []).append(index)
    for role in ("email", "phone", "name", "subject", "message"):
        for candidate in mapping.candidates(role):
            hits = [i for i in by_name.get(normalise_label(candidate), []) if i not in taken]
            hit = next((i for i in hits if _fits(role, fields[i].value)), None)
            if hit is not None:
                found[role] = fields[hit].value.strip()
                taken.add(hit)
                break
    for role in ("email", "phone", "name"):
        if role in found:
            continue
        for index, item in enumerate(fields):
            if index in taken or not item.value.strip():
                continue
            typed = item.kind == role or (role == "email" and address_in(item.value))
            if typed and _fits(role, item.value):
                found[role] = item.value.strip()
                taken.add(index)
                break
    parsed = address_in(found.get("email", ""))
    if parsed:
        found["email"] = parsed[1]
        if parsed[0] and "name" not in found:
            found["name"] = parsed[0]
    extras = tuple(f for i, f in enumerate(fields) if i not in taken and f.value.strip())
    return ResolvedFields(extras=extras, **found)


def submitter(resolved: ResolvedFields) -> Author | None:
    """The author of a submission: by email, else by phone; None when neither is there."""
    if resolved.email:
        return Author(
            kind=IdentityKind.EMAIL,
            key=resolved.email.lower(),
            handle=resolved.email,
            display_name=resolved.name,
        )
    phone = normalise_phone(resolved.phone) if resolved.phone else None
    if phone:
        return Author(
            kind=IdentityKind.PHONE, key=phone, handle=resolved.phone, display_name=resolved.name
        )
    return None


def message_text(message: str, extras: Sequence[SubmittedField]) -> str:
    """The message, then one "Label: value" line per extra field."""
    lines = [f"{f.label}: {f.value.strip()}" for f in extras]
    parts = [p for p in (message.strip(), "\n".join(lines)) if p]
    return "\n\n".join(parts)


def extras_meta(extras: Sequence[SubmittedField]) -> dict[str, str]:
    return {f"field.{f.label}": f.value.strip() for f in extras}


def submission_message(sub: Submission, mapping: FieldMapping, source: str) -> Message | Rejection:
    """The message of one submission, or a rejection naming the submission and the field."""
    resolved = resolve_fields(sub.fields, mapping)
    author = submitter(resolved)
    where = f"form {sub.form_id} submission {sub.submission_id}"
    if author is None:
        wanted = "/".join(mapping.email[:2])
        why = "is not a phone number" if resolved.phone else "missing"
        labels = ", ".join(f.label for f in sub.fields if f.value.strip()) or "none"
        reason = f"{where}: no email field ({wanted}) and phone field {why} (fields: {labels})"
        return Rejection(source, one_line(reason))
    key = f"form:{sub.form_id}:{sub.submission_id}"
    meta = {"form_id": sub.form_id, **dict(sub.meta), **extras_meta(resolved.extras)}
    if sub.form_title:
        meta["form_title"] = sub.form_title
    if resolved.phone:
        meta["phone"] = resolved.phone
    return Message(
        provider_id=key,
        channel=Channel.WEBFORM,
        surface=Surface.FORM,
        direction=Direction.INBOUND,
        author=author,
        text=message_text(resolved.message, resolved.extras),
        sent_at=sub.submitted_at,
        subject=resolved.subject or sub.form_title or f"Form {sub.form_id}",
        attachments=sub.attachments,
        thread_key=key,
        meta=meta,
    )


def render_value(value: object, depth: int = 0) -> str:
    """A JSON value as the text an agent reads."""
    if value is None or depth > _MAX_DEPTH:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float, str)):
        return str(value).strip()
    if isinstance(value, list):
        return ", ".join(t for t in (render_value(v, depth + 1) for v in value) if t)
    if isinstance(value, dict):
        if "first" in value or "last" in value:
            parts = (render_value(value.get(k), depth + 1) for k in ("first", "middle", "last"))
            return " ".join(p for p in parts if p)
        pairs = ((str(k), render_value(v, depth + 1)) for k, v in value.items())
        return "; ".join(f"{k}: {t}" for k, t in pairs if t)
    return str(value)


def parse_time(value: object) -> datetime | None:
    """ISO 8601 (naive read as UTC) or epoch seconds/milliseconds, as aware UTC; else None."""
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = value / 1000 if abs(value) > 1e11 else value
            return datetime.fromtimestamp(seconds, UTC)
        if isinstance(value, str) and value.strip():
            text = value.strip()
            if re.fullmatch(r"\d{9,13}(\.\d+)?", text):
                return parse_time(float(text))
            parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _text(value: object) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    return str(value).strip() if isinstance(value, (str, int, float)) else ""


def _fields(raw: object) -> tuple[SubmittedField, ...] | None:
    if isinstance(raw, dict):
        return tuple(SubmittedField(str(k), str(k), render_value(v)) for k, v in raw.items())
    if isinstance(raw, list):
        items = []
        for entry in raw:
            if not isinstance(entry, dict):
                return None
            key = _text(entry.get("name")) or _text(entry.get("key")) or _text(entry.get("label"))
            label = _text(entry.get("label")) or key
            items.append(SubmittedField(key, label, render_value(entry.get("value"))))
        return tuple(items)
    return None


def _form(raw: object, fallback: tuple[str, str]) -> tuple[str, str]:
    if isinstance(raw, dict):
        return _text(raw.get("id")) or fallback[0], _text(raw.get("title")) or fallback[1]
    return _text(raw) or fallback[0], fallback[1]


def _submission(raw: object, where: str, form: tuple[str, str], now: datetime) -> Submission | str:
    if not isinstance(raw, dict):
        return f"{where}: not an object"
    sub_id = _text(raw.get("id"))
    if not sub_id:
        canonical = json.dumps(raw, sort_keys=True, default=str).encode()
        sub_id = "h-" + hashlib.sha256(canonical).hexdigest()[:16]
    fields = _fields(raw.get("fields"))
    if fields is None:
        return f"{where} ({sub_id}): 'fields' missing or not an object"
    form_id, title = _form(raw.get("form") or raw.get("form_id"), form)
    title = _text(raw.get("form_title")) or title
    when = parse_time(raw.get("submitted_at"))
    meta = {} if when else {"submitted_at": "unknown"}
    return Submission(form_id, title, sub_id, when or now, fields, meta=meta)


@dataclass(frozen=True, slots=True)
class ReadSubmissions:
    """The submissions read from a document, those that could not be read, and the form."""

    submissions: tuple[Submission, ...] = ()
    rejections: tuple[Rejection, ...] = ()
    account_hint: str | None = None


def read_submissions(
    doc: object, source: str, received_at: datetime | None = None
) -> ReadSubmissions:
    """Our JSON shape, a bare list of submissions or a single submission object. Never raises."""
    received = received_at or datetime.now(UTC)
    form = ("unknown", "")
    if isinstance(doc, dict) and "submissions" not in doc and "fields" in doc:
        entries: object = [doc]
    elif isinstance(doc, dict):
        version = doc.get("inbox_webform", FORMAT_VERSION)
        if version not in (FORMAT_VERSION, str(FORMAT_VERSION)):
            reason = one_line(f"unsupported version {version!r}")
            return ReadSubmissions(rejections=(Rejection(source, reason),))
        form = _form(doc.get("form") or doc.get("form_id"), form)
        entries = doc.get("submissions")
    else:
        entries = doc
    hint = f"webform:{form[0]}" if form[0] != "unknown" else None
    if not isinstance(entries, list):
        reason = "'submissions' missing or not a list"
        return ReadSubmissions(rejections=(Rejection(source, reason),), account_hint=hint)
    subs: list[Submission] = []
    rejections: list[Rejection] = []
    for index, raw in enumerate(entries):
        sub = _submission(raw, f"submissions[{index}]", form, received)
        if isinstance(sub, str):
            rejections.append(Rejection(source, one_line(sub)))
        else:
            subs.append(sub)
            if hint is None and sub.form_id != "unknown":
                hint = f"webform:{sub.form_id}"
    return ReadSubmissions(tuple(subs), tuple(rejections), hint)


def parse_payload(
    doc: object,
    source: str,
    mapping: FieldMapping | None = None,
    *,
    received_at: datetime | None = None,
) -> ParsedBatch:
    """Read our JSON shape (``{"inbox_webform": 1, "form": …, "submissions": […]}``), a bare
    list of submissions or a single submission object. Never raises."""
    read = read_submissions(doc, source, received_at)
    results = [
        submission_message(sub, mapping or FieldMapping(), source) for sub in read.submissions
    ]
    messages = tuple(r for r in results if isinstance(r, Message))
    rejections = (*read.rejections, *(r for r in results if isinstance(r, Rejection)))
    return ParsedBatch(messages, rejections, read.account_hint)
