"""Customers across channels: normalising identity keys and finding likely links.

Automatic links are made only where certain (the same email address on email and a web form
is the same identity). Likely links (an address or phone number written in a DM, the same display
name) are suggestions shown to the agent, never applied silently.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from inbox.models import IdentityKind

_EMAIL = re.compile(r"(?<![\w.+-])([\w.+-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+)(?![\w-])")
_PHONE = re.compile(r"(?<!\w)(\+?\d[\d .()/-]{7,18}\d)(?!\w)")


def normalise_email(address: str) -> str:
    return address.strip().strip("<>").lower()


def normalise_phone(number: str, default_country: str = "") -> str:
    """Digits with a leading +; a French national 0X number becomes +33X when asked."""
    digits = re.sub(r"\D", "", number)
    if number.strip().startswith("+"):
        return "+" + digits
    if number.strip().startswith("00"):
        return "+" + digits[2:]
    if default_country == "FR" and len(digits) == 10 and digits.startswith("0"):
        return "+33" + digits[1:]
    return "+" + digits if digits else ""


def normalise_key(kind: IdentityKind, key: str) -> str:
    if kind is IdentityKind.EMAIL:
        return normalise_email(key)
    if kind is IdentityKind.PHONE:
        return normalise_phone(key)
    return key.strip()


@dataclass(frozen=True, slots=True)
class ContactPoint:
    kind: IdentityKind
    key: str
    reason: str


def contact_points(text: str) -> list[ContactPoint]:
    """Email addresses and phone numbers a customer wrote in a message, normalised."""
    found: dict[tuple[IdentityKind, str], ContactPoint] = {}
    for match in _EMAIL.finditer(text):
        key = normalise_email(match.group(1))
        found.setdefault((IdentityKind.EMAIL, key), ContactPoint(IdentityKind.EMAIL, key, f"wrote {key}"))
    for match in _PHONE.finditer(text):
        raw = match.group(1)
        digits = re.sub(r"\D", "", raw)
        if not 9 <= len(digits) <= 15:
            continue
        key = normalise_phone(raw, "FR")
        found.setdefault((IdentityKind.PHONE, key), ContactPoint(IdentityKind.PHONE, key, f"wrote {raw.strip()}"))
    return list(found.values())


def comparable_name(name: str) -> str:
    """A display name folded for comparison ("Léa  MARTIN" ~ "lea martin")."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", name)
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch))
    words = re.findall(r"\w+", folded.casefold())
    return " ".join(words)


def same_person_by_name(a: str, b: str) -> bool:
    """Two display names that are the same first and last name (at least two words)."""
    ca, cb = comparable_name(a), comparable_name(b)
    return len(ca.split()) >= 2 and ca == cb


def first_name(display_name: str) -> str:
    words = display_name.replace("@", " ").split()
    return words[0] if words else ""


def dedupe(points: Iterable[ContactPoint]) -> list[ContactPoint]:
    return list({(p.kind, p.key): p for p in points}.values())
