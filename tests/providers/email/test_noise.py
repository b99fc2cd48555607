"""Automatic mail is recognised so it never reopens a ticket or gets an auto-answer."""

from __future__ import annotations

import email
import email.policy
from pathlib import Path

import pytest

from inbox.providers.email.noise import classify_noise
from inbox.providers.email.parse import parse_email
from tests.corpus import corpus_dir, corpus_files


def _classify(raw: bytes) -> str | None:
    return classify_noise(email.message_from_bytes(raw, policy=email.policy.default))


def _chatwoot(name: str) -> bytes:
    return corpus_dir("chatwoot", "spec", "fixtures", "files", name).read_bytes()


@pytest.mark.parametrize(
    "name", ["auto_reply.eml", "auto_reply_with_auto_submitted.eml", "non_utf_encoded_mail.eml"]
)
def test_chatwoot_auto_replies(name: str) -> None:
    assert _classify(_chatwoot(name)) == "auto-reply"
    msg = parse_email(_chatwoot(name), name)
    assert msg.automated and msg.meta["auto"] == "auto-reply"


@pytest.mark.parametrize("name", ["bounced_gmail.eml", "bounced_with_no_from.eml"])
def test_chatwoot_bounces(name: str) -> None:
    assert _classify(_chatwoot(name)) == "bounce"


def test_every_flanker_bounce_is_a_bounce() -> None:
    files = corpus_files("flanker", "tests", "fixtures", "messages", "bounce")
    assert len(files) >= 9
    assert {f.name: _classify(f.read_bytes()) for f in files} == {f.name: "bounce" for f in files}


def test_every_delivery_report_is_a_bounce() -> None:
    files = corpus_files("mikel-mail", "spec", "fixtures", "emails", "multipart_report_emails")
    assert files
    assert all(_classify(f.read_bytes()) == "bounce" for f in files)


def test_read_receipt_is_automatic() -> None:
    path = corpus_dir("flanker", "tests", "fixtures", "messages", "disposition-notification.eml")
    assert _classify(path.read_bytes()) == "auto-reply"


@pytest.mark.parametrize(
    "name", ["in_reply_to.eml", "only_text.eml", "reply.eml", "attachments_without_filename.eml"]
)
def test_customer_mail_is_not_noise(name: str) -> None:
    assert _classify(_chatwoot(name)) is None
    assert not parse_email(_chatwoot(name), name).automated


def test_mailing_list_traffic_is_list() -> None:
    lkml = sorted(Path(corpus_dir("notmuch", "corpora", "lkml")).rglob("*!2,*"))
    assert lkml
    assert _classify(lkml[0].read_bytes()) == "list"


def _mail(headers: str) -> bytes:
    return (headers + "From: a@example.com\r\nSubject: hi\r\n\r\nbody\r\n").encode()


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("Auto-Submitted: auto-replied\r\n", "auto-reply"),
        ("Auto-Submitted: no\r\n", None),
        ("X-Autorespond: yes\r\n", "auto-reply"),
        ("Precedence: auto_reply\r\n", "auto-reply"),
        ("Precedence: bulk\r\n", "list"),
        ("Precedence: junk\r\n", "list"),
        ("List-Id: <news.example.com>\r\nList-Unsubscribe: <mailto:u@example.com>\r\n", "list"),
        ("List-Id: <news.example.com>\r\n", None),
        ("X-Failed-Recipients: x@example.com\r\n", "bounce"),
    ],
)
def test_header_rules(headers: str, expected: str | None) -> None:
    assert _classify(_mail(headers)) == expected


@pytest.mark.parametrize(
    "subject",
    [
        "Out of Office: back Monday",
        "Automatic reply: your order",
        "Réponse automatique : absent",
        "=?utf-8?q?R=C3=A9ponse_automatique?=",
        "AutoReply: ticket",
    ],
)
def test_out_of_office_subjects(subject: str) -> None:
    raw = f"From: a@example.com\r\nSubject: {subject}\r\n\r\nI am away.\r\n".encode()
    assert _classify(raw) == "auto-reply"


def test_a_customer_asking_about_an_out_of_office_is_not_noise() -> None:
    raw = b"From: a@example.com\r\nSubject: Re: your out of office reply\r\n\r\nHelp!\r\n"
    assert _classify(raw) is None
