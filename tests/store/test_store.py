"""The store: idempotent ingest, threading into conversations, events, customers, search."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from inbox.errors import StoreError
from inbox.models import Channel, Direction, EventKind, IdentityKind, Message, QueueFilter, Status, Surface
from inbox.store import ingest as ingest_module
from inbox.store.repository import Store
from inbox.ui.views import tag_view
from tests.factories import FORM, MAILBOX, T0, X, mail, person, tweet


@pytest.fixture()
def store() -> Store:
    s = Store.open(":memory:")
    for account in (MAILBOX, X, FORM):
        s.save_account(account)
    return s


def test_importing_the_same_batch_twice_adds_nothing(store: Store) -> None:
    batch = [mail("a@x", minutes=0), mail("b@x", minutes=5, refs=("a@x",), reply_to="a@x")]
    first = store.ingest(MAILBOX, batch)
    second = store.ingest(MAILBOX, batch)
    assert (first.added, first.duplicates) == (2, 0)
    assert (second.added, second.duplicates) == (0, 2)
    assert store.count(QueueFilter()) == 1


def test_same_message_id_with_different_content_is_kept_as_two_messages(store: Store) -> None:
    store.ingest(MAILBOX, [mail("dup@x", text="first body")])
    result = store.ingest(MAILBOX, [mail("dup@x", text="another body")])
    assert result.added == 1
    conv = store.queue(QueueFilter())[0]
    assert [m.text for m in store.messages(conv.id)] == ["first body", "another body"]


def test_references_in_any_order_thread_into_one_conversation(store: Store) -> None:
    # The grandchild arrives first, naming a parent we have not seen: all three end together.
    store.ingest(MAILBOX, [mail("c@x", minutes=20, refs=("a@x", "b@x"), reply_to="b@x")])
    store.ingest(MAILBOX, [mail("a@x", minutes=0)])
    store.ingest(MAILBOX, [mail("other@x", sender="bob@example.com", subject="Different")])
    store.ingest(MAILBOX, [mail("b@x", minutes=10, refs=("a@x",), reply_to="a@x")])
    convs = store.queue(QueueFilter(sort="oldest"))  # type: ignore[arg-type]
    sizes = sorted(c.message_count for c in convs)
    assert sizes == [1, 3]


def test_a_message_bridging_two_conversations_merges_them(store: Store) -> None:
    store.ingest(MAILBOX, [mail("a@x"), mail("b@x", minutes=5, subject="Other thread")])
    assert store.count(QueueFilter()) == 2
    store.ingest(MAILBOX, [mail("c@x", minutes=9, refs=("a@x", "b@x"))])
    convs = store.queue(QueueFilter())
    assert len(convs) == 1 and convs[0].message_count == 3


def test_one_batch_threads_as_message_by_message_does(tmp_path: Path) -> None:
    """A batch answers thread keys it stored itself from memory: merges, keys of a conversation
    merged away, and a key first seen as a reference route as when each message is its own batch."""
    batch = [
        mail("b@x", minutes=10, refs=("a@x",), reply_to="a@x"),
        mail("c@x", minutes=5, subject="Other thread"),
        mail("d@x", minutes=20, refs=("a@x", "c@x")),  # bridges both: merged into the oldest
        mail("e@x", minutes=30, refs=("b@x",), reply_to="b@x"),  # a key of the conversation merged away (b's)
        mail("a@x", minutes=0),  # named before it arrived
        mail("f@x", minutes=40, sender="bob@example.com", subject="Unrelated"),
        mail("g@x", minutes=50, sender="bob@example.com", refs=("f@x",), reply_to="f@x"),
    ]

    def threads(*batches: list[Message]) -> list[list[str]]:
        store = Store.open(tmp_path / f"{len(batches)}.db")
        store.save_account(MAILBOX)
        for part in batches:
            store.ingest(MAILBOX, part)
        rows = store._rows("SELECT conversation_id, provider_id FROM messages ORDER BY conversation_id, id")
        found: dict[int, list[str]] = {}
        for row in rows:
            found.setdefault(int(row["conversation_id"]), []).append(str(row["provider_id"]))
        store.close()
        return sorted(found.values())

    together = threads(batch)
    assert together == threads(*([m] for m in batch))
    assert together == [["b@x", "c@x", "d@x", "e@x", "a@x"], ["f@x", "g@x"]]


def test_subject_alone_never_merges_two_customers(store: Store) -> None:
    store.ingest(MAILBOX, [mail("a@x", sender="lea@example.fr", subject="Refund")])
    store.ingest(MAILBOX, [mail("b@x", sender="bob@example.com", subject="Re: Refund", minutes=30)])
    assert store.count(QueueFilter()) == 2


def test_subject_fallback_for_the_same_sender_replying_without_references(store: Store) -> None:
    store.ingest(MAILBOX, [mail("a@x", subject="Refund for order 12")])
    store.ingest(MAILBOX, [mail("b@x", subject="RE : [Shop] Re: Refund for order 12", minutes=60)])
    assert store.count(QueueFilter()) == 1
    # ... but not after the window, nor without a reply prefix
    store.ingest(MAILBOX, [mail("c@x", subject="Re: Refund for order 12", minutes=60 * 24 * 5)])
    store.ingest(MAILBOX, [mail("d@x", subject="Refund for order 12", minutes=61)])
    assert store.count(QueueFilter()) == 3


def test_solved_reopens_but_closed_starts_a_new_conversation(store: Store) -> None:
    store.ingest(MAILBOX, [mail("a@x")])
    conv = store.queue(QueueFilter())[0]
    store.set_status(conv.id, Status.SOLVED, T0 + timedelta(minutes=1), "agent")
    store.ingest(MAILBOX, [mail("b@x", minutes=2, refs=("a@x",))])
    assert store.conversation(conv.id).status is Status.OPEN
    kinds = [e.kind for e in store.events(conv.id)]
    assert kinds == [EventKind.MESSAGE_IN, EventKind.STATUS, EventKind.MESSAGE_IN, EventKind.STATUS]
    store.set_status(conv.id, Status.CLOSED, T0 + timedelta(minutes=3), "agent")
    store.ingest(MAILBOX, [mail("c@x", minutes=4, refs=("a@x", "b@x"))])
    assert store.conversation(conv.id).status is Status.CLOSED
    assert store.conversation(conv.id).message_count == 2
    new = [c for c in store.queue(QueueFilter()) if c.id != conv.id]
    assert len(new) == 1 and new[0].customer_id == conv.customer_id


def test_auto_replies_never_open_a_conversation(store: Store) -> None:
    store.ingest(MAILBOX, [mail("ooo@x", subject="Out of office", automated=True)])
    assert store.count(QueueFilter()) == 0


def test_our_own_messages_are_outbound_and_count_as_replies(store: Store) -> None:
    ours = replace(mail("r@x", minutes=5, refs=("a@x",)), author=person("support@shop.example", "Shop"),
                   recipients=(person("lea@example.fr"),))
    store.ingest(MAILBOX, [mail("a@x"), ours])
    conv = store.queue(QueueFilter())[0]
    assert [m.direction for m in store.messages(conv.id)] == [Direction.INBOUND, Direction.OUTBOUND]
    assert EventKind.REPLY in [e.kind for e in store.events(conv.id)]


def test_x_threads_by_conversation_id(store: Store) -> None:
    store.ingest(X, [tweet("1"), tweet("2", conv="1", minutes=3, reply_to="1"), tweet("3", user="300", handle="@bob")])
    sizes = sorted(c.message_count for c in store.queue(QueueFilter()))
    assert sizes == [1, 2]


def test_form_answered_by_email_continues_when_the_customer_replies(store: Store) -> None:
    from inbox.models import Message

    submission = Message("form:contact:s1", Channel.WEBFORM, Surface.FORM, Direction.INBOUND, person("lea@example.fr", "Léa"),
                         "Where is my cake?", T0, subject="Cake", thread_key="form:contact:s1")
    answer = Message("ans-1@shop.example", Channel.WEBFORM, Surface.EMAIL, Direction.OUTBOUND, person("support@shop.example"),
                     "It is on its way", T0 + timedelta(hours=1), thread_key="form:contact:s1",
                     recipients=(person("lea@example.fr"),))
    store.ingest(FORM, [submission, answer])
    store.ingest(MAILBOX, [mail("c1@x", subject="Re: Cake", minutes=180, refs=("ans-1@shop.example",))])
    convs = store.queue(QueueFilter())
    assert len(convs) == 1 and convs[0].channel is Channel.WEBFORM and convs[0].message_count == 3


def test_same_email_on_form_and_mail_is_one_customer_automatically(store: Store) -> None:
    from inbox.models import Message

    store.ingest(FORM, [Message("form:contact:s9", Channel.WEBFORM, Surface.FORM, Direction.INBOUND,
                                person("LEA@Example.fr", "Léa"), "hi", T0, thread_key="form:contact:s9")])
    store.ingest(MAILBOX, [mail("z@x", sender="lea@example.fr", subject="Other")])
    customers = {c.customer_id for c in store.queue(QueueFilter())}
    assert len(customers) == 1


def test_an_address_written_in_a_dm_is_suggested_never_linked(store: Store) -> None:
    store.ingest(MAILBOX, [mail("a@x", sender="lea@example.fr")])
    mail_customer = store.identity(IdentityKind.EMAIL, "lea@example.fr")
    assert mail_customer is not None and mail_customer.customer_id is not None
    store.ingest(X, [tweet("9", text="my email is Lea@Example.fr, order 4411")])
    x_ident = store.identity(IdentityKind.TWITTER, "200")
    assert x_ident is not None and x_ident.customer_id != mail_customer.customer_id
    suggestions = store.suggestions(x_ident.customer_id or 0)
    assert [s.customer_id for s in suggestions] == [mail_customer.customer_id]
    # the customer the address belongs to sees the same suggestion
    assert [s.id for s in store.suggestions(mail_customer.customer_id or 0)] == [suggestions[0].id]
    store.resolve_suggestion(suggestions[0].id, accept=True)
    x_ident = store.identity(IdentityKind.TWITTER, "200")
    assert x_ident is not None and x_ident.customer_id == mail_customer.customer_id
    channels = {c.channel for c in store.customer_conversations(mail_customer.customer_id)}
    assert channels == {Channel.EMAIL, Channel.TWITTER}


def test_merge_and_unlink_keep_every_conversation(store: Store) -> None:
    store.ingest(MAILBOX, [mail("a@x", sender="lea@example.fr")])
    store.ingest(X, [tweet("1")])
    a = store.identity(IdentityKind.EMAIL, "lea@example.fr")
    b = store.identity(IdentityKind.TWITTER, "200")
    assert a and b and a.customer_id and b.customer_id
    store.merge_customers(a.customer_id, b.customer_id)
    assert len(store.customer_conversations(a.customer_id)) == 2
    new_id = store.unlink(IdentityKind.TWITTER, "@lea")
    assert [c.channel for c in store.customer_conversations(new_id)] == [Channel.TWITTER]
    assert [c.channel for c in store.customer_conversations(a.customer_id)] == [Channel.EMAIL]


def test_merging_moves_the_crm_number_of_the_absorbed_customer(store: Store) -> None:
    store.ingest(MAILBOX, [mail("a@x", sender="lea@example.fr")])
    store.ingest(X, [tweet("1")])
    a = store.identity(IdentityKind.EMAIL, "lea@example.fr")
    b = store.identity(IdentityKind.TWITTER, "200")
    assert a and b and a.customer_id and b.customer_id
    store.update_customer(b.customer_id, crm_number="C-100233")
    store.merge_customers(a.customer_id, b.customer_id)  # was: UNIQUE constraint failed
    assert store.customer(a.customer_id).crm_number == "C-100233"
    assert store.customer_by_crm("C-100233") == store.customer(a.customer_id)


def test_merging_two_crm_numbers_keeps_one_and_notes_the_other(store: Store) -> None:
    store.ingest(MAILBOX, [mail("a@x", sender="lea@example.fr")])
    store.ingest(X, [tweet("1")])
    a = store.identity(IdentityKind.EMAIL, "lea@example.fr")
    b = store.identity(IdentityKind.TWITTER, "200")
    assert a and b and a.customer_id and b.customer_id
    store.update_customer(a.customer_id, crm_number="C-1")
    store.update_customer(b.customer_id, crm_number="C-2")
    store.merge_customers(a.customer_id, b.customer_id)
    kept = store.customer(a.customer_id)
    assert kept.crm_number == "C-1" and "C-2" in (kept.notes or "")


@pytest.mark.parametrize("query", ['"world.', "AND(", "NEAR", '"', "*", "order OR", "x" * 5000, "commande: 4411 -"])
def test_search_takes_any_user_text(store: Store, query: str) -> None:
    store.ingest(MAILBOX, [mail("a@x", text="Hello world. My order AND( is late")])
    store.search(query)  # never raises


def test_search_finds_words_with_and_without_accents(store: Store) -> None:
    store.ingest(MAILBOX, [mail("a@x", text="Ma commande n'est pas livrée, c'est très décevant")])
    assert store.search("livree")
    assert store.search("décev")
    assert not store.search("remboursement")


def test_store_file_is_private_and_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "inbox.db"
    Store.open(path).close()
    assert path.stat().st_mode & 0o077 == 0
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO _sqlite_migrations (migration_set, name, applied_at) VALUES ('inbox', '9999_future', 'x')")
    conn.commit()
    conn.close()
    with pytest.raises(StoreError, match="newer version of Inbox"):
        Store.open(path)


def test_changes_are_events_with_instant_and_author(store: Store) -> None:
    from inbox.models import Priority

    store.ingest(MAILBOX, [mail("a@x")])
    cid = store.queue(QueueFilter())[0].id
    at = T0 + timedelta(hours=1)
    store.add_tag(cid, "refund", at, "camille")
    store.set_priority(cid, Priority.HIGH, at, "camille")
    store.assign(cid, "camille", at, "camille")
    events = [(e.kind, e.actor, e.value) for e in store.events(cid)][1:]
    assert events == [(EventKind.TAG_ADDED, "camille", "refund"), (EventKind.PRIORITY, "camille", "high"),
                      (EventKind.ASSIGNED, "camille", "camille")]
    assert store.conversation(cid).tags == ("refund",)


def test_an_accounts_conversation_count_is_what_a_wipe_deletes(store: Store) -> None:
    store.ingest(MAILBOX, [mail("a@x"), mail("b@x", minutes=5, refs=("a@x",), reply_to="a@x"), mail("c@x")])
    store.ingest(X, [tweet("t1")])
    assert (store.account_conversation_count(MAILBOX.id), store.account_conversation_count(X.id)) == (2, 1)
    assert store.account_conversation_count("email:nobody") == 0
    store.remove_account(MAILBOX.id, wipe=True)
    assert store.account_conversation_count(MAILBOX.id) == 0
    assert store.count(QueueFilter()) == 1


def test_the_latest_inbound_sentiment_is_read_from_an_index_alone(store: Store) -> None:
    """Counting "Unhappy customers" looks up each open conversation's newest inbound message:
    without a covering index each lookup read every message row of the conversation (bench)."""
    store.ingest(MAILBOX, [mail("m1@x")])
    unhappy = QueueFilter(statuses=frozenset({Status.NEW, Status.OPEN, Status.PENDING}), sentiment_below=-0.3)
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    store.count(unhappy)
    store.db.conn.set_trace_callback(None)
    counted = next(s for s in statements if "COUNT(*)" in s)
    plan = " ".join(str(r[3]) for r in store.db.conn.execute("EXPLAIN QUERY PLAN " + counted))
    assert "COVERING INDEX messages_latest_inbound" in plan, plan


def test_the_views_column_is_counted_from_indexes(store: Store) -> None:
    """The views column is counted at each refresh and before the window is first shown: "SLA at
    risk", each channel and the tags read indexes, never every conversation row (110 ms cold at
    1M messages, bench)."""
    store.ingest(MAILBOX, [mail("m1@x")])
    active = frozenset({Status.NEW, Status.OPEN})
    asks = {
        "at risk": lambda: store.count(QueueFilter(statuses=active, sla_states=frozenset({"warning", "breached"}))),
        "channel": lambda: store.count(QueueFilter(statuses=active, channel=Channel.EMAIL)),
        "tags": store.tags,
    }
    for name, ask in asks.items():
        statements: list[str] = []
        store.db.conn.set_trace_callback(statements.append)
        ask()
        store.db.conn.set_trace_callback(None)
        counted = next(s for s in statements if "COUNT(*)" in s)
        plan = [str(r[3]) for r in store.db.conn.execute("EXPLAIN QUERY PLAN " + counted)]
        assert not [step for step in plan if step.startswith("SCAN")], (name, plan)
        assert plan[0].startswith("SEARCH c USING COVERING INDEX"), (name, plan)


def test_a_tags_count_is_its_views_count(store: Store) -> None:
    """The views column shows the count ``tags()`` gives beside each tag: the conversations not
    closed that carry it, as counting the tag's view gives."""
    store.ingest(MAILBOX, [mail(f"m{n}@x", minutes=n) for n in range(5)])
    ids = [c.id for c in store.queue(QueueFilter())]
    for cid, tags in zip(ids, [("refund", "vip"), ("refund",), ("refund", "vip"), ("vip",), ()], strict=True):
        for tag in tags:
            store.add_tag(cid, tag, T0, "camille")
    store.set_status(ids[0], Status.CLOSED, T0, "camille")
    store.set_status(ids[1], Status.SOLVED, T0, "camille")
    store.set_status(ids[3], Status.PENDING, T0, "camille")
    assert store.tags() == [("refund", 2), ("vip", 2)]
    assert [(t, store.count(tag_view(t).filter)) for t, _n in store.tags()] == store.tags()


def test_a_second_mail_under_a_reused_message_id_is_kept_beside_the_first(store: Store) -> None:
    """Some senders reuse one Message-ID: a different mail under it is stored under the id plus
    its content digest; the very same mail again is a duplicate."""
    first = mail("dup@x", text="First mail")
    other = mail("dup@x", text="Another mail", minutes=5)
    store.ingest(MAILBOX, [first])
    again = store.ingest(MAILBOX, [other, first])
    assert (again.added, again.duplicates) == (1, 1)
    ids = [str(r["provider_id"]) for r in store._rows("SELECT provider_id FROM messages ORDER BY id")]
    assert ids[0] == "dup@x" and ids[1].startswith("dup@x#") and len(ids) == 2
    texts = [m.text for c in {m.conversation_id for m in store.search("mail")} for m in store.messages(c)]
    assert sorted(texts) == ["Another mail", "First mail"]


def test_a_batch_knows_what_it_stored_itself(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """In one batch (its stored ids looked up once, when it begins): the same mail twice is one
    message, a different mail under that id is kept beside it, and a message rolled back after
    its row was written leaves its id free for a later copy."""
    real = ingest_module.suggest_links

    def breaks_on_one_text(db: Any, identity_id: int, customer_id: int, text: str) -> None:
        if text == "breaks":
            raise ValueError("broken after its row was written")
        real(db, identity_id, customer_id, text)

    monkeypatch.setattr(ingest_module, "suggest_links", breaks_on_one_text)
    batch = [mail("a@x", text="one"), mail("a@x", text="one"), mail("a@x", text="two", minutes=5),
             mail("b@x", text="breaks"), mail("b@x", text="fixed", minutes=1)]  # fmt: skip
    result = store.ingest(MAILBOX, batch)
    assert (result.added, result.duplicates, len(result.rejections)) == (3, 1, 1)
    rows = store._rows("SELECT provider_id, text FROM messages ORDER BY id")
    assert [(str(r["provider_id"]).split("#")[0], r["text"]) for r in rows] == [
        ("a@x", "one"), ("a@x", "two"), ("b@x", "fixed"),
    ]  # fmt: skip
    assert str(rows[2]["provider_id"]) == "b@x"  # stored under its own id, not as a second mail under it


def test_a_customers_suggestions_are_read_by_index(store: Store) -> None:
    """The customer panel asks for a customer's open link suggestions at every conversation opened:
    never a scan of every suggestion (54 ms of each opening at 1M messages, bench)."""
    store.ingest(MAILBOX, [mail("m1@x")])
    statements: list[str] = []
    store.db.conn.set_trace_callback(statements.append)
    assert store.suggestions(1) == []
    store.db.conn.set_trace_callback(None)
    asked = next(s for s in statements if "link_suggestions" in s)
    plan = [str(r[3]) for r in store.db.conn.execute("EXPLAIN QUERY PLAN " + asked)]
    assert not [step for step in plan if step.startswith("SCAN s")], plan
