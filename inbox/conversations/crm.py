"""Reading a CRM export (CSV) into customer records: customer number, name, emails, phones, handles."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from inbox.conversations.identity import normalise_email, normalise_phone
from inbox.errors import InputError
from inbox.models import IdentityKind

_COLUMNS = {
    "crm_number": ("customer_number", "customer number", "crm_number", "crm", "numero_client", "n° client", "id"),
    "name": ("name", "display_name", "nom", "full_name"),
    "emails": ("emails", "email", "e-mail", "mail"),
    "phones": ("phones", "phone", "telephone", "téléphone", "tel"),
    "twitter": ("twitter", "x", "twitter_handle", "x_handle"),
    "facebook": ("facebook", "facebook_id", "psid"),
    "vip": ("vip",),
    "notes": ("notes", "note", "remarks"),
}


@dataclass(frozen=True, slots=True)
class CrmRecord:
    line: int
    crm_number: str
    name: str
    identities: tuple[tuple[IdentityKind, str], ...]
    vip: bool
    notes: str


def _split(value: str) -> list[str]:
    return [v.strip() for v in value.replace(";", ",").replace("|", ",").split(",") if v.strip()]


def read_crm_csv(text: str, source: str) -> Iterator[CrmRecord | InputError]:
    """Yield a record per row, or an InputError naming the line and field that is wrong."""
    sample = text[:4096]
    try:
        dialect: type[csv.Dialect] | csv.Dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    if not reader.fieldnames:
        yield InputError(source, "no header row")
        return
    lookup = {name.strip().lower(): name for name in reader.fieldnames}
    columns: dict[str, str] = {}
    for field, aliases in _COLUMNS.items():
        for alias in aliases:
            if alias in lookup:
                columns[field] = lookup[alias]
                break
    if "crm_number" not in columns:
        yield InputError(source, "no customer number column (expected 'customer_number')")
        return
    for index, row in enumerate(reader, start=2):

        def get(field: str, row: dict[str, str] = row) -> str:
            column = columns.get(field)
            return (row.get(column) or "").strip() if column else ""

        number = get("crm_number")
        if not number:
            yield InputError(f"{source} line {index}", "customer_number is empty")
            continue
        identities: list[tuple[IdentityKind, str]] = []
        for email in _split(get("emails")):
            if "@" not in email:
                yield InputError(f"{source} line {index}", f"emails: '{email}' is not an address")
                continue
            identities.append((IdentityKind.EMAIL, normalise_email(email)))
        for phone in _split(get("phones")):
            identities.append((IdentityKind.PHONE, normalise_phone(phone, "FR")))
        for handle in _split(get("twitter")):
            identities.append((IdentityKind.TWITTER, handle if handle.startswith("@") else "@" + handle))
        for fid in _split(get("facebook")):
            identities.append((IdentityKind.FACEBOOK, fid))
        yield CrmRecord(
            line=index,
            crm_number=number,
            name=get("name"),
            identities=tuple(identities),
            vip=get("vip").lower() in ("1", "yes", "true", "oui", "vip", "x"),
            notes=get("notes"),
        )
