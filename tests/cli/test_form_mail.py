"""A website's contact form delivered as email is filed as a web-form conversation whose customer
is the person who filled the form, both on import and when the mailbox syncs."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from inbox.cli.importing import import_paths
from inbox.models import Account, Channel, IdentityKind, QueueFilter, Surface
from inbox.store.repository import Store


def notification() -> bytes:
    msg = EmailMessage()
    msg["From"] = "WordPress <wordpress@shop.example>"
    msg["To"] = "support@shop.example"
    msg["Reply-To"] = "Léa Martin <lea@example.fr>"
    msg["Subject"] = "[Shop] Nouveau message de contact"
    msg["Message-ID"] = "<cf7-1@shop.example>"
    msg["Date"] = "Fri, 20 Nov 2026 10:00:00 +0100"
    msg.set_content("Nom: Léa Martin\nEmail: lea@example.fr\nSujet: Gâteau abîmé\nMessage:\nLe gâteau est arrivé écrasé.\nMerci\n")
    return msg.as_bytes()


def test_form_notification_mail_becomes_a_form_conversation(tmp_path: Path) -> None:
    mail = tmp_path / "cf7.eml"
    mail.write_bytes(notification())
    store = Store.open(tmp_path / "inbox.db")
    mailbox = Account("email:support@shop.example", Channel.EMAIL, "Support", frozenset({"support@shop.example"}),
                      {"form_rule.contact": "sender=wordpress@shop.example;subject=Nouveau message"})
    store.save_account(mailbox)
    summary = import_paths(store, [mail], mailbox)
    assert summary.result.added == 1 and not summary.rejections
    conv = store.queue(QueueFilter())[0]
    assert conv.channel is Channel.WEBFORM
    [message] = store.messages(conv.id)
    assert message.surface is Surface.FORM
    ident = store.identity(IdentityKind.EMAIL, "lea@example.fr")
    assert ident is not None and ident.customer_id == conv.customer_id
    # importing the same mail again adds nothing
    assert import_paths(store, [mail], mailbox).result.added == 0


def test_without_a_rule_it_stays_an_email(tmp_path: Path) -> None:
    mail = tmp_path / "cf7.eml"
    mail.write_bytes(notification())
    store = Store.open(tmp_path / "inbox.db")
    mailbox = Account("email:support@shop.example", Channel.EMAIL, "Support", frozenset({"support@shop.example"}))
    store.save_account(mailbox)
    import_paths(store, [mail], mailbox)
    assert store.queue(QueueFilter())[0].channel is Channel.EMAIL
