"""Contact-form notification mails turned into web-form conversations."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr

import pytest

from inbox.errors import InputError
from inbox.models import Author, Channel, Direction, IdentityKind, Message, Surface
from inbox.providers.webform.mail_rule import (
    FormMailRule,
    apply_rule,
    parse_rule,
    rules_from_settings,
)

SENT = datetime(2026, 11, 20, 9, 14, tzinfo=UTC)

CF7_BODY = """From: Léa Martin <lea@example.fr>
Subject: Commande 4411

Message Body:
Bonjour,
Ma commande n'est pas arrivée.
Note: j'ai déjà appelé le 12/11 à 10:30.

--
This e-mail was sent from a contact form on Ma Boutique (https://boutique.example.fr)
"""

WIX_BODY = """Nouveau message de Formulaire de contact

Nom :
Paul Durand
Courriel :
paul@example.com
Téléphone : 06 12 34 56 78
Magasin : Lyon
Message :
Bonjour
deuxième ligne
"""


def mail(body: str, sender: str, subject: str, reply_to: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "support@boutique.example.fr"
    msg["Subject"] = subject
    msg["Message-ID"] = "<cf7.1001@boutique.example.fr>"
    if reply_to:
        msg["Reply-To"] = reply_to
    msg.set_content(body)
    return msg


def as_message(mime: EmailMessage) -> Message:
    """What the email parser gives for this mail (built here so the test stands alone)."""
    name, address = parseaddr(str(mime["From"]))
    part = mime.get_body(("plain",))
    assert isinstance(part, EmailMessage)
    meta = {"reply_to": str(mime["Reply-To"])} if mime["Reply-To"] else {}
    return Message(
        provider_id=str(mime["Message-ID"]).strip("<>"),
        channel=Channel.EMAIL,
        surface=Surface.EMAIL,
        direction=Direction.INBOUND,
        author=Author(IdentityKind.EMAIL, address.lower(), address, name),
        text=part.get_content(),
        sent_at=SENT,
        subject=str(mime["Subject"]),
        meta=meta,
    )


CF7 = as_message(
    mail(
        CF7_BODY,
        '"Ma Boutique" <wordpress@boutique.example.fr>',
        'Ma Boutique "Commande 4411"',
        "Léa Martin <lea@example.fr>",
    )
)


def test_contact_form_7_mail_becomes_a_form_message_from_the_submitter() -> None:
    rules = [
        FormMailRule("contact-fr", sender="wordpress@boutique.example.fr", subject_pattern=None)
    ]
    form = apply_rule(rules, CF7)
    assert form is not None
    assert form.channel is Channel.WEBFORM
    assert form.surface is Surface.FORM
    assert form.provider_id == CF7.provider_id == "cf7.1001@boutique.example.fr"
    assert form.thread_key == "form:contact-fr:cf7.1001@boutique.example.fr"
    assert form.author.key == "lea@example.fr"
    assert form.author.display_name == "Léa Martin"
    assert form.subject == "Commande 4411"
    assert form.text == (
        "Bonjour,\nMa commande n'est pas arrivée.\nNote: j'ai déjà appelé le 12/11 à 10:30."
    )
    assert form.meta["via"] == "email"
    assert form.meta["form_id"] == "contact-fr"
    assert form.sent_at == SENT


def test_labels_alone_on_their_line_and_no_reply_to() -> None:
    wix = as_message(mail(WIX_BODY, "no-reply@wix.example", "Nouveau message de Formulaire"))
    rules = [FormMailRule("wix", sender=None, subject_pattern=r"^nouveau message de")]
    form = apply_rule(rules, wix)
    assert form is not None
    assert form.author.key == "paul@example.com"
    assert form.author.display_name == "Paul Durand"
    assert form.meta["phone"] == "06 12 34 56 78"
    assert form.meta["field.Magasin"] == "Lyon"
    assert form.text == "Bonjour\ndeuxième ligne\n\nMagasin: Lyon"
    assert form.subject == "Nouveau message de Formulaire"


def test_reply_to_that_is_the_website_itself_is_not_the_submitter() -> None:
    body = "Name: Ann Lee\nEmail: ann@example.net\nMessage: Hi there"
    own = as_message(
        mail(body, "forms@site.example", "New submission from Contact", "forms@site.example")
    )
    form = apply_rule([FormMailRule("c", subject_pattern="New submission from")], own)
    assert form is not None
    assert form.author.key == "ann@example.net"
    assert form.text == "Hi there"


def test_mail_not_matching_or_without_submitter_stays_an_email() -> None:
    other = [FormMailRule("x", sender="@other.example", subject_pattern=None)]
    assert apply_rule(other, CF7) is None
    by_subject = [
        FormMailRule("x", sender="wordpress@boutique.example.fr", subject_pattern="Devis")
    ]
    assert apply_rule(by_subject, CF7) is None  # both given: both must match
    anonymous = as_message(mail("Message: hello", "forms@site.example", "New submission"))
    assert apply_rule([FormMailRule("x", subject_pattern="submission")], anonymous) is None
    not_mail = replace(CF7, channel=Channel.WEBFORM)
    assert apply_rule([FormMailRule("x", subject_pattern="Commande")], not_mail) is None


def test_sender_domain_matches() -> None:
    form = apply_rule([FormMailRule("d", sender="@boutique.example.fr")], CF7)
    assert form is not None and form.meta["form_id"] == "d"


def test_rules_from_settings() -> None:
    settings = {
        "form_rule.contact-fr": "sender=wordpress@boutique.example.fr; subject=Commande|Order; urgent",
        "form_rule.broken": "hello",
        "form_rule.empty": "sender=;subject=",
        "imap_host": "mail.example",
    }
    (rule,) = rules_from_settings(settings)
    assert rule == FormMailRule(
        "contact-fr", "wordpress@boutique.example.fr", "Commande|Order; urgent"
    )
    with pytest.raises(InputError, match="broken"):
        parse_rule("broken", "hello")
    with pytest.raises(InputError, match="sender"):
        FormMailRule("x")


def test_invalid_regex_works_as_a_substring() -> None:
    mime = mail("Email: a@b.example\nMessage: x", "f@site.example", "Form [contact (new")
    form = apply_rule([FormMailRule("s", subject_pattern="[contact (new")], as_message(mime))
    assert form is not None and form.author.key == "a@b.example"
