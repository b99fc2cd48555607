"""The outbox table and the one-transaction ingest of a fetched page."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbox.errors import InputError, StoreError
from inbox.models import (
    Account,
    Author,
    Channel,
    Direction,
    Draft,
    EventKind,
    IdentityKind,
    Message,
    OutboxState,
    Surface,
)
from inbox.replies.outbox import Outbox
from inbox.store.outbox_store import draft_from_json, draft_to_json
from inbox.store.repository import Store

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
LATER = T0 + timedelta(hours=2)
MAILBOX = Account(
    "email:support@shop.test", Channel.EMAIL, "Support", frozenset({"support@shop.test"})
)
FORM = Account("webform:contact", Channel.WEBFORM, "Contact form")
LEA = Author(IdentityKind.EMAIL, "lea@example.fr", "lea@example.fr", "Léa")


def mail(pid: str, text: str = "hello", **kwargs: object) -> Message:
    return Message(
        pid, Channel.EMAIL, Surface.EMAIL, Direction.INBOUND, kwargs.pop("author", LEA), text,  # type: ignore[arg-type]
        kwargs.pop("sent_at", T0), subject="Order 12", **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.fixture
def store() -> Store:
    s = Store.open(":memory:")
    s.save_account(MAILBOX)
    s.save_account(FORM)
    return s


def only_conversation(store: Store) -> int:
    ids = store.open_conversation_ids()
    assert len(ids) == 1
    return ids[0]


def test_a_draft_survives_the_table_unchanged() -> None:
    draft = Draft(
        "inbox.1@shop.test", MAILBOX.id, 4, Channel.WEBFORM, Surface.EMAIL, "Bonjour «Léa»",
        LEA, "a@b", "t", "Re: x", ("r1@x", "a@b"), "quoted", "<p>hi</p>", ("boss@shop.test",),
    )  # fmt: skip
    assert draft_from_json(draft_to_json(draft)) == draft


def test_queueing_on_an_unknown_conversation_writes_nothing(store: Store) -> None:
    draft = Draft("inbox.9", MAILBOX.id, 999, Channel.EMAIL, Surface.EMAIL, "x")
    with pytest.raises(InputError, match="999"):
        store.queue_reply(draft, mail("inbox.9"), T0)
    assert store.outbox_items() == []


def test_outbox_ids_can_be_given_by_their_beginning(store: Store) -> None:
    store.ingest(MAILBOX, [mail("m1@example.fr")])
    outbox = Outbox(store, clock=lambda: LATER)
    a = outbox.reply(only_conversation(store), "one").draft.local_id
    assert store.resolve_outbox_id(a) == a
    assert store.resolve_outbox_id(a.removeprefix("inbox.")[:8]) == a
    with pytest.raises(InputError, match="no outbox item"):
        store.resolve_outbox_id("zzzz")
    b = outbox.reply(only_conversation(store), "two").draft.local_id
    with pytest.raises(InputError, match="more than one"):
        store.resolve_outbox_id("inbox.")
    assert {a, b} == {i.draft.local_id for i in store.outbox_items()}


def test_a_store_failure_rolls_back_the_page_and_its_cursor(store: Store) -> None:
    def fail_now() -> None:
        raise RuntimeError("disk I/O")

    store.db.conn.create_function("fail_now", 0, fail_now)
    store.db.execute(
        "CREATE TEMP TRIGGER boom BEFORE INSERT ON messages WHEN NEW.text = 'boom' "
        "BEGIN SELECT fail_now(); END"
    )
    page = [mail("m1@x", "fine"), mail("m2@x", "boom", sent_at=T0 + timedelta(minutes=1))]
    with pytest.raises(StoreError):
        store.ingest_fetched(MAILBOX, page, cursor="c2", now=T0)
    assert store.cursor(MAILBOX.id) is None
    assert store.open_conversation_ids() == []  # the first message went too: all or nothing


def test_a_broken_message_is_rejected_alone(store: Store) -> None:
    naive = mail("m2@x", "no zone", sent_at=datetime(2026, 11, 23, 9, 30))
    result, rejections = store.ingest_fetched(
        MAILBOX, [mail("m1@x"), naive, mail("m3@x", "third")], cursor="c3", now=T0
    )
    assert result.added == 2 and store.cursor(MAILBOX.id) == "c3"
    assert len(rejections) == 1 and "m2@x" in rejections[0].source
    assert "naive" in rejections[0].reason


def test_a_sent_folder_copy_proves_an_uncertain_reply_went_out(store: Store) -> None:
    store.ingest(MAILBOX, [mail("m1@example.fr")])
    item = Outbox(store, clock=lambda: LATER).reply(only_conversation(store), "done")
    store.set_outbox_state(
        item.draft.local_id, OutboxState.UNCERTAIN, LATER, error="may have been sent"
    )
    copy = mail(item.draft.local_id, "done\n\n> hello", author=Author(IdentityKind.EMAIL, "support@shop.test"),
                sent_at=LATER, reply_to_id="m1@example.fr")  # fmt: skip
    result, _ = store.ingest_fetched(MAILBOX, [copy], cursor=None, now=LATER)
    assert result.duplicates == 1
    assert store.outbox_item(item.draft.local_id).state is OutboxState.SENT  # type: ignore[union-attr]
    assert len(store.messages(only_conversation(store))) == 2


def test_a_web_form_reply_continues_the_form_conversation_by_email(store: Store) -> None:
    submission = Message(
        "form:contact:991", Channel.WEBFORM, Surface.FORM, Direction.INBOUND, LEA,
        "Where is my refund?", T0, subject="Refund", thread_key="form:contact:991",
    )  # fmt: skip
    store.ingest(FORM, [submission])
    form_conv = only_conversation(store)
    item = Outbox(store, clock=lambda: LATER).reply(form_conv, "It left today.")
    row = store.messages(form_conv)[-1]
    assert (row.account_id, row.channel, row.surface) == (
        MAILBOX.id,
        Channel.WEBFORM,
        Surface.EMAIL,
    )
    store.mark_outbox_sent(item.draft.local_id, item.draft.local_id, LATER)
    answer = mail("a2@example.fr", "Thanks!", sent_at=LATER + timedelta(hours=1),
                  reply_to_id=item.draft.local_id, references=(item.draft.local_id,))  # fmt: skip
    store.ingest_fetched(MAILBOX, [answer], cursor=None, now=LATER)
    assert only_conversation(store) == form_conv
    assert [m.text for m in store.messages(form_conv)][-1] == "Thanks!"


def test_dropping_a_reply_removes_it_from_its_conversation(store: Store) -> None:
    store.ingest(MAILBOX, [mail("m1@example.fr")])
    cid = only_conversation(store)
    outbox = Outbox(store, clock=lambda: LATER)
    item = outbox.reply(cid, "oops")
    assert EventKind.REPLY in {e.kind for e in store.events(cid)}
    store.set_outbox_state(item.draft.local_id, OutboxState.UNCERTAIN, LATER)
    outbox.drop(item.draft.local_id)
    assert [m.text for m in store.messages(cid)] == ["hello"]
    assert store.conversation(cid).message_count == 1
    assert EventKind.REPLY not in {e.kind for e in store.events(cid)}
    assert store.outbox_items() == []
