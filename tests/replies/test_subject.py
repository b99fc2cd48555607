"""One rule for a reply's subject, used by the desktop's outbox, the email composer and the server."""

from __future__ import annotations

import pytest

from inbox.conversations.routing import subject_fallback_allowed
from inbox.replies.subject import NO_SUBJECT, is_reply_subject, reply_subject


@pytest.mark.parametrize(
    ("subject", "expected"),
    [
        ("Broken", "Re: Broken"),
        ("Re: Broken", "Re: Broken"),
        ("RE: Broken", "RE: Broken"),
        ("AW: Kaputt", "AW: Kaputt"),
        ("Sv: Trasig", "Sv: Trasig"),
        ("Odp: Zepsute", "Odp: Zepsute"),
        ("Ynt: Bozuk", "Ynt: Bozuk"),
        ("Réf : Colis abîmé", "Réf : Colis abîmé"),
        ("Re[2]: Broken", "Re[2]: Broken"),
        ("Regarding: invoice", "Re: Regarding: invoice"),
        ("Hi\r\nBcc: spy@evil.example", "Re: Hi Bcc: spy@evil.example"),
        (None, NO_SUBJECT),
        ("  ", NO_SUBJECT),
    ],
)
def test_reply_subject(subject: str | None, expected: str) -> None:
    assert reply_subject(subject) == expected
    assert reply_subject(reply_subject(subject)) == reply_subject(subject)  # answering a reply adds nothing


def test_threading_by_subject_knows_the_same_prefixes() -> None:
    from datetime import UTC, datetime

    from inbox.models import Author, Channel, Direction, IdentityKind, Message, Surface

    def mail(subject: str) -> Message:
        return Message(
            provider_id="a@example.pl", channel=Channel.EMAIL, surface=Surface.EMAIL, direction=Direction.INBOUND,
            author=Author(IdentityKind.EMAIL, "ola@example.pl", "ola@example.pl", "Ola"),
            sent_at=datetime(2024, 3, 5, tzinfo=UTC), text="?", subject=subject,
        )  # fmt: skip

    assert is_reply_subject("Odp: Zepsute") and subject_fallback_allowed(mail("Odp: Zepsute"))
    assert not is_reply_subject("Zepsute") and not subject_fallback_allowed(mail("Zepsute"))
