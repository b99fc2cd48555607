"""Our JSON submission shape, the field mapping and the author rules."""

from __future__ import annotations

from datetime import UTC, datetime

from inbox.models import Channel, Direction, IdentityKind, Surface
from inbox.providers.webform.parse import FieldMapping, parse_payload

RECEIVED = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def payload(*submissions: object) -> dict[str, object]:
    return {
        "inbox_webform": 1,
        "form": {"id": "contact-fr", "title": "Contact"},
        "submissions": list(submissions),
    }


LEA: dict[str, object] = {
    "id": "s-1001",
    "submitted_at": "2026-11-20T09:14:00Z",
    "fields": {
        "name": "Léa Martin",
        "email": "Lea@Example.fr",
        "phone": "+33 6 12 34 56 78",
        "subject": "Commande 4411",
        "message": "Bonjour,\nma commande n'est pas arrivée.",
        "order": "4411",
    },
}


def test_documented_example_becomes_one_form_conversation() -> None:
    batch = parse_payload(payload(LEA), "contact.json")
    assert batch.rejections == ()
    assert batch.account_hint == "webform:contact-fr"
    (msg,) = batch.messages
    assert msg.channel is Channel.WEBFORM
    assert msg.surface is Surface.FORM
    assert msg.direction is Direction.INBOUND
    assert msg.provider_id == "form:contact-fr:s-1001"
    assert msg.thread_key == "form:contact-fr:s-1001"
    assert msg.author.kind is IdentityKind.EMAIL
    assert msg.author.key == "lea@example.fr"
    assert msg.author.handle == "Lea@Example.fr"
    assert msg.author.display_name == "Léa Martin"
    assert msg.subject == "Commande 4411"
    assert msg.sent_at == datetime(2026, 11, 20, 9, 14, tzinfo=UTC)
    assert msg.text == "Bonjour,\nma commande n'est pas arrivée.\n\norder: 4411"
    assert msg.meta["form_id"] == "contact-fr"
    assert msg.meta["phone"] == "+33 6 12 34 56 78"
    assert msg.meta["field.order"] == "4411"


def test_mapping_from_settings_finds_custom_labels_and_keeps_extras() -> None:
    mapping = FieldMapping.from_settings(
        {"map.email": "Email Address", "mapping": "name=Votre nom\nmessage=Votre demande|Texte"}
    )
    sub = {
        "id": 7,
        "submitted_at": 1_763_630_040,
        "fields": {
            "Votre nom": "Jean Dupont",
            "Email Address": "jean@example.com",
            "Texte": "Livraison en retard",
            "Magasin": "Lyon",
            "Newsletter": True,
        },
    }
    (msg,) = parse_payload(payload(sub), "x.json", mapping).messages
    assert msg.author.key == "jean@example.com"
    assert msg.author.display_name == "Jean Dupont"
    assert msg.text == "Livraison en retard\n\nMagasin: Lyon\nNewsletter: yes"
    assert msg.meta["field.Magasin"] == "Lyon"
    assert msg.subject == "Contact"  # no subject field: the form title
    assert msg.sent_at == datetime.fromtimestamp(1_763_630_040, UTC)
    assert msg.provider_id == "form:contact-fr:7"


def test_default_mapping_is_kept_after_custom_labels() -> None:
    mapping = FieldMapping.from_settings({"map.email": "Courriel pro"})
    assert mapping.email[0] == "Courriel pro"
    assert "e-mail" in mapping.email
    sub = {"id": "a", "fields": {"E-Mail": "x@example.org", "Message": "hi"}}
    (msg,) = parse_payload(payload(sub), "x.json", mapping, received_at=RECEIVED).messages
    assert msg.author.key == "x@example.org"
    assert msg.sent_at == RECEIVED  # no time given: when it was received


def test_missing_email_uses_the_phone_identity() -> None:
    sub = {"id": "s-2", "fields": {"name": "Paul", "phone": "0033 6 12-34-56-78", "message": "?"}}
    (msg,) = parse_payload(payload(sub), "x.json").messages
    assert msg.author.kind is IdentityKind.PHONE
    assert msg.author.key == "+33612345678"
    assert msg.author.display_name == "Paul"


def test_invalid_email_falls_back_to_phone_and_is_kept_in_text() -> None:
    sub = {"id": "s-3", "fields": {"email": "not an address", "phone": "+1 (555) 010-2030"}}
    (msg,) = parse_payload(payload(sub), "x.json").messages
    assert msg.author.key == "+15550102030"
    assert "email: not an address" in msg.text


def test_missing_email_and_phone_rejects_naming_submission_and_field() -> None:
    bad = {"id": "s-404", "fields": {"name": "Anonyme", "message": "Bonjour"}}
    batch = parse_payload(payload(bad, LEA), "contact.json")
    assert [m.provider_id for m in batch.messages] == ["form:contact-fr:s-1001"]
    (rejection,) = batch.rejections
    assert rejection.source == "contact.json"
    assert "s-404" in rejection.reason
    assert "email" in rejection.reason and "phone" in rejection.reason
    assert "\n" not in rejection.reason


def test_broken_submissions_are_rejected_one_by_one() -> None:
    batch = parse_payload(payload("oops", {"id": "s-9", "fields": 3}, LEA), "c.json")
    assert len(batch.messages) == 1
    reasons = [r.reason for r in batch.rejections]
    assert reasons[0].startswith("submissions[0]")
    assert "s-9" in reasons[1] and "fields" in reasons[1]


def test_submission_without_id_gets_a_stable_content_id() -> None:
    sub = {"fields": {"email": "a@b.example", "message": "x"}}
    first = parse_payload(payload(sub), "c.json").messages[0]
    again = parse_payload(payload(dict(sub)), "c.json").messages[0]
    other = parse_payload(payload({"fields": {"email": "a@b.example"}}), "c.json").messages[0]
    assert first.provider_id == again.provider_id != other.provider_id


def test_single_submission_object_and_field_lists() -> None:
    doc = {
        "form_id": "devis",
        "submitted_at": "2026-11-20T10:00:00+01:00",
        "fields": [
            {"name": "email", "label": "E-mail", "value": "b@example.com"},
            {"name": "budget", "label": "Budget", "value": 1200},
        ],
    }
    batch = parse_payload(doc, "one.json")
    (msg,) = batch.messages
    assert batch.account_hint == "webform:devis"
    assert msg.provider_id.startswith("form:devis:h-")
    assert msg.sent_at == datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    assert msg.text == "Budget: 1200"


def test_unsupported_version_and_wrong_shapes_are_rejections() -> None:
    assert "version" in parse_payload({"inbox_webform": 2}, "a").rejections[0].reason
    assert "submissions" in parse_payload({"inbox_webform": 1}, "a").rejections[0].reason
    assert parse_payload("text", "a").rejections[0].source == "a"
