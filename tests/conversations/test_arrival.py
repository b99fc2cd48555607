"""The rules both stores apply to an arriving message (the desktop's SQLite, the server's PostgreSQL)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from inbox.conversations import arrival
from inbox.models import Author, Direction, IdentityKind
from tests.factories import MAILBOX, mail, tweet


def test_a_mail_from_the_mailbox_itself_is_ours_whatever_the_case() -> None:
    own = mail("a@x", sender="Support@Shop.Example")
    assert arrival.direction_of(MAILBOX, own) is Direction.OUTBOUND
    assert arrival.direction_of(MAILBOX, mail("b@x", sender="lea@example.fr")) is Direction.INBOUND


def test_retweets_are_not_kept_and_edits_change_the_digest() -> None:
    post = tweet("1")
    assert not arrival.not_kept(post)
    assert arrival.not_kept(replace(post, meta={**post.meta, "retweet": "1"}))
    assert arrival.content_hash(post) != arrival.content_hash(replace(post, text=post.text + " (edited)"))
    assert arrival.content_hash(post) == arrival.content_hash(replace(post, meta={"lang": "fr"}))


def test_a_message_without_a_time_zone_is_refused_by_name() -> None:
    naive = replace(mail("m2@x"), sent_at=datetime(2026, 11, 23, 9, 30), author=Author(IdentityKind.EMAIL, "l@x"))
    with pytest.raises(ValueError, match="m2@x"):
        arrival.content_hash(naive)


@pytest.mark.parametrize(
    ("direction", "private", "automated", "status", "kinds", "opens"),
    [
        (Direction.INBOUND, False, False, "new", ["message_in"], False),
        (Direction.INBOUND, False, False, "pending", ["message_in", "status"], True),
        (Direction.INBOUND, False, False, "solved", ["message_in", "status"], True),
        (Direction.INBOUND, False, True, "solved", [], False),  # noise: no clock moves
        (Direction.OUTBOUND, False, False, "new", ["status", "reply"], True),
        (Direction.OUTBOUND, False, False, "open", ["reply"], False),
        (Direction.OUTBOUND, True, False, "new", ["note"], False),  # a note is not an answer
        (Direction.OUTBOUND, False, True, "new", ["auto_reply"], False),
    ],
)
def test_the_events_a_message_produces(
    direction: Direction, private: bool, automated: bool, status: str, kinds: list[str], opens: bool
) -> None:
    message = replace(mail("e@x"), direction=direction, private=private, automated=automated)
    produced = arrival.events_of(message, direction, status)
    assert [kind.value for kind, _actor, _value in produced.events] == kinds
    assert produced.opens is opens
    if produced.opens and direction is Direction.INBOUND:
        assert produced.events[-1][1:] == ("system", "open")  # the customer's return reopens it
