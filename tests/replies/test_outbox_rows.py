"""One mapping of an outbox row for both stores: the solo store's JSON text and the team
server's columns plus ``target`` give back the same draft and the same item."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from inbox.models import Author, Channel, Draft, IdentityKind, OutboxState, Surface
from inbox.replies.outbox_rows import draft_fields, draft_from_fields, outbox_item_from_row
from inbox.server.drafts import draft_from_row, draft_target
from inbox.store.database import from_db_time, to_db_time
from inbox.store.outbox_store import draft_from_json, draft_to_json

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LEA = Author(IdentityKind.EMAIL, "lea@example.fr", "lea@example.fr", "Léa")
DRAFT = Draft(
    "inbox.1@shop.test", "email:support@shop.test", 4, Channel.WEBFORM, Surface.EMAIL, "Bonjour «Léa»",
    LEA, "a@b", "t", "Re: x", ("r1@x", "a@b"), "quoted", "<p>hi</p>", ("boss@shop.test",), T0,
)  # fmt: skip


def server_row(draft: Draft, **columns: object) -> dict[str, object]:
    """An ``outbox`` row as psycopg gives it: columns and the ``target`` JSON read back."""
    return {
        "message_id": draft.local_id, "account_id": draft.account_id, "conversation_id": draft.conversation_id,
        "surface": draft.surface.value, "body": draft.text, "html": draft.html,
        "target": json.loads(json.dumps(draft_target(draft))), **columns,
    }  # fmt: skip


def test_both_stores_give_back_the_draft_they_were_given() -> None:
    assert draft_from_json(draft_to_json(DRAFT)) == DRAFT
    assert draft_from_row(server_row(DRAFT)) == DRAFT
    assert draft_from_fields(json.loads(json.dumps(draft_fields(DRAFT)))) == DRAFT


def test_the_server_keeps_in_target_only_what_has_no_column() -> None:
    assert set(draft_target(DRAFT)) == {
        "channel", "recipient", "reply_to_id", "thread_key", "subject", "references", "quoted_text",
        "quoted_at", "cc",
    }  # fmt: skip


def test_a_row_without_channel_or_recipient_kind_takes_the_accounts() -> None:
    row = server_row(DRAFT)
    row["target"] = {"recipient": {"key": "200", "handle": "@lea"}}
    row["account_id"] = "twitter:42"
    draft = draft_from_row(row)
    assert draft.channel is Channel.TWITTER
    assert draft.recipient == Author(IdentityKind.TWITTER, "200", "@lea", "")
    row["target"] = {"recipient": {"handle": "@lea"}}
    assert draft_from_row(row).recipient is None


def test_an_item_reads_each_stores_state_names_and_instants() -> None:
    later = datetime(2026, 11, 23, 10, 30, tzinfo=UTC)
    solo = {"state": "uncertain", "attempts": 2, "last_error": "timeout", "provider_id": None,
            "created_at": to_db_time(T0), "updated_at": to_db_time(later)}  # fmt: skip
    item = outbox_item_from_row(solo, DRAFT, read_time=from_db_time)
    assert (item.state, item.attempts, item.last_error, item.created_at, item.updated_at) == (
        OutboxState.UNCERTAIN, 2, "timeout", T0, later,
    )  # fmt: skip
    team = {**solo, "state": "unknown", "created_at": T0, "updated_at": later}
    names = {"unknown": OutboxState.UNCERTAIN}
    assert outbox_item_from_row(team, DRAFT, read_state=names.__getitem__, read_time=lambda v: v) == item
