"""Form notification mails (Contact Form 7, Wix, Webflow, Squarespace, Formspree…) as form messages.

Many sites deliver their contact form by email: "New submission from…", "Nouveau message de…",
a body of "Label: value" lines. A :class:`FormMailRule` recognises such a mail by its sender
and/or subject; :func:`apply_rule` turns the parsed mail into a web-form message whose author is
the person who filled the form (the Reply-To, else the form's email field), not the website.
The message keeps the mail's ``provider_id`` so that importing the same mail again deduplicates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from email.utils import getaddresses

from inbox.errors import InputError
from inbox.models import Channel, Message, Surface
from inbox.providers.webform.parse import (
    FieldMapping,
    SubmittedField,
    address_in,
    extras_meta,
    message_text,
    normalise_label,
    resolve_fields,
    submitter,
)

#: Settings keys ``form_rule.<form id>`` hold rules, e.g. "sender=wordpress@example.fr;subject=Nouveau".
SETTINGS_PREFIX = "form_rule."

_LABEL = re.compile(r"^[ \t]*([^\s:<>@/][^:<>@\n]{0,48}?)[ \t]*:(?!//)[ \t]*(.*)$")
_FOOTER = re.compile(
    r"^(--\s*|_{5,}|-{5,}|this e-?mail was sent from|cet e-?mail a été envoyé|sent via |"
    r"envoyé depuis |this message was sent from)",
    re.IGNORECASE,
)
_RULE_PART = re.compile(r";\s*(?=(?:sender|subject|form)\s*=)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class FormMailRule:
    """Mails from ``sender`` (an address, or a domain as "@example.fr") and/or whose subject
    matches ``subject_pattern`` (a regular expression or a plain substring, any case) are
    submissions of the form ``form_id``."""

    form_id: str
    sender: str | None = None
    subject_pattern: str | None = None

    def __post_init__(self) -> None:
        if not (self.sender or "").strip() and not (self.subject_pattern or "").strip():
            raise InputError(f"form rule {self.form_id}", "give a sender, a subject or both")

    def matches(self, msg: Message) -> bool:
        if self.sender and self.sender.strip():
            want = self.sender.strip().casefold()
            got = msg.author.key.strip().casefold()
            domain = want.lstrip("@")
            by_domain = "@" not in want[1:] and got.endswith("@" + domain)
            if got != want and not by_domain:
                return False
        if self.subject_pattern and self.subject_pattern.strip():
            subject = msg.subject or ""
            pattern = self.subject_pattern.strip()
            if pattern.casefold() in subject.casefold():
                return True
            try:
                return re.search(pattern, subject, re.IGNORECASE) is not None
            except re.error:
                return False
        return True


def parse_rule(form_id: str, text: str) -> FormMailRule:
    """A rule from its settings text "sender=…;subject=…" (``;`` may appear in the pattern)."""
    values: dict[str, str] = {}
    for part in _RULE_PART.split(text.strip()):
        key, sep, value = part.partition("=")
        if not sep or key.strip().casefold() not in ("sender", "subject", "form"):
            raise InputError(f"form rule {form_id}", f"expected sender=… or subject=…: {part!r}")
        values[key.strip().casefold()] = value.strip()
    return FormMailRule(
        form_id=values.get("form") or form_id,
        sender=values.get("sender") or None,
        subject_pattern=values.get("subject") or None,
    )


def rules_from_settings(settings: Mapping[str, str]) -> list[FormMailRule]:
    """Every valid ``form_rule.<form id>`` setting; invalid ones are skipped (the settings form
    validates them with :func:`parse_rule`, which names the problem)."""
    rules = []
    for key, value in sorted(settings.items()):
        if key.startswith(SETTINGS_PREFIX) and key[len(SETTINGS_PREFIX) :].strip():
            try:
                rules.append(parse_rule(key[len(SETTINGS_PREFIX) :].strip(), value))
            except InputError:
                continue
    return rules


def mail_fields(text: str, mapping: FieldMapping) -> list[SubmittedField]:
    """ "Label: value" fields of a notification body; a value may continue on the next lines,
    and a label alone on its line takes the lines below it. Once in the message field, only a
    label the mapping knows starts a new field, so "Note: …" inside a message stays there."""
    known = {
        normalise_label(c)
        for role in ("name", "email", "phone", "subject", "message")
        for c in mapping.candidates(role)
    } | {"from"}
    long_text = {normalise_label(c) for c in mapping.message}
    fields: list[tuple[str, list[str]]] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if _FOOTER.match(line):
            break
        match = _LABEL.match(line)
        in_message = bool(fields) and normalise_label(fields[-1][0]) in long_text
        starts_field = match is not None and len(match.group(1).split()) <= 6
        if match and starts_field and (not in_message or normalise_label(match.group(1)) in known):
            first = match.group(2).rstrip()
            fields.append((match.group(1).strip(), [first] if first else []))
            continue
        if fields:
            fields[-1][1].append(line.rstrip())
    result = []
    for label, lines in fields:
        value = "\n".join(lines).strip("\n").strip()
        result.append(SubmittedField(key=label, label=label, value=value))
    return result


def _reply_to(msg: Message, rule: FormMailRule) -> tuple[str, str] | None:
    own = {msg.author.key.casefold(), (rule.sender or "").strip().casefold()}
    for name, addr in getaddresses([msg.meta.get("reply_to", "")]):
        if address_in(addr) and addr.casefold() not in own:
            return name.strip(), addr
    return None


def form_message(rule: FormMailRule, msg: Message, mapping: FieldMapping) -> Message | None:
    """The form submission a notification mail carries; None when no submitter can be found."""
    fields = mail_fields(msg.text, mapping)
    resolved = resolve_fields(fields, mapping)
    reply_to = _reply_to(msg, rule)
    if reply_to:
        name = resolved.name or reply_to[0]
        resolved = replace(resolved, email=reply_to[1], name=name)
    author = submitter(resolved)
    if author is None:
        return None
    meta = {
        "form_id": rule.form_id,
        "via": "email",
        "mail_from": msg.author.handle or msg.author.key,
        "mail_subject": msg.subject or "",
        **extras_meta(resolved.extras),
    }
    if resolved.phone:
        meta["phone"] = resolved.phone
    text = message_text(resolved.message, resolved.extras) if fields else msg.text
    return replace(
        msg,
        channel=Channel.WEBFORM,
        surface=Surface.FORM,
        author=author,
        text=text,
        subject=resolved.subject or msg.subject,
        thread_key=f"form:{rule.form_id}:{msg.provider_id}",
        meta=meta,
    )


def apply_rule(
    rules: Sequence[FormMailRule], msg: Message, mapping: FieldMapping | None = None
) -> Message | None:
    """The web-form message for an email that a rule matches; None when none matches (or the
    mail names no submitter), so the mail stays an ordinary email."""
    if msg.channel is not Channel.EMAIL:
        return None
    for rule in rules:
        if rule.matches(msg):
            return form_message(rule, msg, mapping or FieldMapping())
    return None


def file_form_mail(settings: Mapping[str, str], messages: Sequence[Message]) -> list[Message]:
    """A mailbox's messages with those its ``form_rule.*`` settings recognise turned into web-form
    submissions (the others unchanged): used by the mailbox's sync and by ``inbox import``."""
    rules = rules_from_settings(settings)
    if not rules:
        return list(messages)
    return [apply_rule(rules, m) or m for m in messages]
