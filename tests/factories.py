"""Small builders of domain objects for tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbox.models import Account, Author, Channel, Direction, IdentityKind, Message, Surface

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
MAILBOX = Account("email:support@shop.example", Channel.EMAIL, "Support", frozenset({"support@shop.example"}))
X = Account("twitter:100", Channel.TWITTER, "@Shop", frozenset({"100"}))
FORM = Account("webform:contact", Channel.WEBFORM, "Contact form")


def person(address: str, name: str = "") -> Author:
    return Author(IdentityKind.EMAIL, address, address, name)


def mail(
    mid: str,
    *,
    sender: str = "lea@example.fr",
    name: str = "Léa Martin",
    subject: str = "Order 4411",
    text: str = "Hello",
    minutes: float = 0,
    refs: tuple[str, ...] = (),
    reply_to: str | None = None,
    automated: bool = False,
) -> Message:
    return Message(
        provider_id=mid,
        channel=Channel.EMAIL,
        surface=Surface.EMAIL,
        direction=Direction.INBOUND,
        author=person(sender, name),
        text=text,
        sent_at=T0 + timedelta(minutes=minutes),
        subject=subject,
        reply_to_id=reply_to,
        references=refs,
        automated=automated,
    )


def tweet(tid: str, *, user: str = "200", handle: str = "@lea", conv: str | None = None, minutes: float = 0,
          text: str = "@Shop my order is late", reply_to: str | None = None) -> Message:
    return Message(
        provider_id=tid,
        channel=Channel.TWITTER,
        surface=Surface.MENTION,
        direction=Direction.INBOUND,
        author=Author(IdentityKind.TWITTER, user, handle, "Léa Martin"),
        text=text,
        sent_at=T0 + timedelta(minutes=minutes),
        thread_key=f"x:conv:{conv or tid}",
        reply_to_id=reply_to,
    )
