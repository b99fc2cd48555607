"""Jotform webhook deliveries: the recorded corpus bodies and synthetic variants of them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import pytest

from inbox.models import IdentityKind, Surface
from inbox.providers.webform.jotform import form_data, parse_jotform, split_pretty
from inbox.providers.webform.parse import FieldMapping
from tests.corpus import corpus_files

FIXTURES = ("zulip-jotform", "zerver", "webhooks", "jotform", "fixtures")


def fixture(name: str) -> bytes:
    (path,) = [p for p in corpus_files(*FIXTURES) if p.name == name]
    return path.read_bytes()


def with_raw(body: bytes, extra: dict[str, object]) -> bytes:
    """The recorded body with answers added to its rawRequest JSON (text kept otherwise)."""
    data = form_data(body)
    raw = data["rawRequest"]
    added = json.dumps(extra)[1:-1]
    return body.replace(raw.encode(), (raw[:-1] + "," + added + "}").encode())


def multipart(fields: dict[str, str], boundary: str = "----b0undary") -> bytes:
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
        for k, v in fields.items()
    ]
    return ("".join(parts) + f"--{boundary}--\r\n").encode()


@pytest.mark.parametrize("path", corpus_files(*FIXTURES), ids=lambda p: Path(p).name)
def test_every_recorded_delivery_is_read(path: Path) -> None:
    body = path.read_bytes()
    batch = parse_jotform(body, path.name)
    form_id = form_data(body)["formID"]
    assert batch.account_hint == f"webform:{form_id}"
    # Neither recorded form asks for an email or a phone: nobody to answer, said in one line.
    (rejection,) = batch.rejections
    assert form_data(body)["submissionID"] in rejection.reason
    assert "email" in rejection.reason and "\n" not in rejection.reason
    assert batch.messages == ()


def test_tutor_form_fields_name_message_and_uploads() -> None:
    body = with_raw(
        fixture("response.multipart"),
        {"q7_description": "Need help with algebra", "q40_email": "Niloth@Example.com"},
    )
    batch = parse_jotform(body, "response.multipart")
    (msg,) = batch.messages
    assert msg.surface is Surface.FORM
    assert msg.provider_id == "form:243231271343446:6084250982513018472"
    assert msg.author.kind is IdentityKind.EMAIL
    assert msg.author.key == "niloth@example.com"
    assert msg.author.display_name == "Niloth P"  # the {first, last} name object
    assert msg.subject == "Tutor Appointment Form"
    assert msg.sent_at == datetime.fromtimestamp(1732615897.940, UTC)  # onsubmit-fired
    message, extras = msg.text.split("\n\n")
    assert message == "Need help with algebra"
    assert extras.splitlines() == [
        "Type of Tutoring: Online Tutoring",
        "Subject for Tutoring: Math",
        "Grade: 12",
        "Prior Tutoring?: No",
        "Identity Proof: Student_ID_!_$&'()_,-.;=@[]^_`{}~ .png, Driving.license.png",
        "Reports: Report Card.pdf",
    ]
    names = [a.filename for a in msg.attachments]
    assert names == [
        "Student_ID_!_$&'()_,-.;=@[]^_`{}~ .png",
        "Driving.license.png",
        "Report Card.pdf",
    ]
    assert msg.attachments[2].url == (
        "https://www.jotform.com/uploads/UserNiloth/243231271343446/6111139644845227685/"
        "Report%20Card.pdf"
    )
    assert msg.attachments[2].content_type == "application/pdf"


def test_colon_comma_semicolon_labels_and_values_stay_whole() -> None:
    body = with_raw(
        fixture("response_with_colon_comma_characters.multipart"), {"q30_email": "v@example.in"}
    )
    (msg,) = parse_jotform(body, "colon.multipart").messages
    assert msg.meta["field.Key1 with colon: and comma, end"] == "Value1 with colon: and comma, end"
    assert msg.meta["field.Multiple Choice Question, options:"] == "Option; 1, Option2"
    files = "error; frontend, UI.png, Screenshot_20250331_201054.png"
    assert msg.meta["field.File Upload with colon : and comma , end"] == files
    assert [a.filename for a in msg.attachments] == [
        "error; frontend, UI.png",
        "Screenshot_20250331_201054.png",
    ]
    assert msg.author.display_name == ""  # "nameHehe" is a text box, not a name


def test_pretty_split_anchors_on_known_values() -> None:
    pretty = form_data(fixture("response_with_colon_comma_characters.multipart"))["pretty"]
    values = [
        "Value1 with colon: and comma, end",
        "Option; 1 Option2",
        "error; frontend, UI.png Screenshot_20250331_201054.png",
    ]
    assert split_pretty(pretty, values) == [
        ("Key1 with colon: and comma, end", values[0]),
        ("Multiple Choice Question, options:", values[1]),
        ("File Upload with colon : and comma , end", values[2]),
    ]
    # Without known values a naive split is the best that can be done, and never raises.
    assert split_pretty("Name:Ann, Age:3", []) == [("Name", "Ann"), ("Age", "3")]


def test_phone_object_mapping_and_content_type_boundary() -> None:
    raw = {
        "q3_fullName": {"first": "Ana", "last": "Silva"},
        "q4_phoneNumber": {"full": "+351 912 345 678"},
        "q5_pedido": "Onde está a minha encomenda?",
        "q6_address": {"addr_line1": "Rua 1", "city": "Porto", "postal": "4000"},
    }
    body = multipart(
        {
            "formID": "99",
            "submissionID": "5",
            "formTitle": "Contacto",
            "rawRequest": json.dumps(raw),
        }
    )
    mapping = FieldMapping.from_settings({"map.message": "pedido"})
    batch = parse_jotform(
        body, "hook", "multipart/form-data; boundary=----b0undary", mapping=mapping
    )
    (msg,) = batch.messages
    assert msg.author.kind is IdentityKind.PHONE
    assert msg.author.key == "+351912345678"
    assert msg.author.display_name == "Ana Silva"
    assert msg.text == "Onde está a minha encomenda?\n\nAddress: Rua 1, Porto, 4000"


def test_urlencoded_delivery() -> None:
    raw = json.dumps({"q2_email": "u@example.org", "q3_message": "Hello"})
    body = urlencode({"formID": "1", "submissionID": "2", "rawRequest": raw}).encode()
    (msg,) = parse_jotform(body, "hook", "application/x-www-form-urlencoded").messages
    assert msg.author.key == "u@example.org"
    assert msg.text == "Hello"


def test_unreadable_raw_request_is_a_rejection_naming_it() -> None:
    body = multipart(
        {"formID": "1", "submissionID": "2", "pretty": "Email:a@b.c", "rawRequest": "{"}
    )
    batch = parse_jotform(body, "hook")
    assert "rawRequest" in batch.rejections[0].reason
    assert parse_jotform(b"", "empty").rejections[0].reason.endswith("formID")
