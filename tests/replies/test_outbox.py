"""Reply composition for each channel and surface, and the outbox's send rules."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from inbox.errors import AuthError, InputError, PermanentError, TransientError
from inbox.models import (
    Account,
    Author,
    Channel,
    Conversation,
    Direction,
    IdentityKind,
    Message,
    OutboxState,
    Priority,
    Status,
    StoredMessage,
    Surface,
)
from inbox.replies.compose import compose_reply
from inbox.replies.outbox import Outbox, OutboxChanged
from inbox.store.repository import Store
from tests.sync.test_service import MAILBOX, CheckingProvider, FakeProvider, mail

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
X = Account("twitter:1001", Channel.TWITTER, "Shop on X", frozenset({"1001"}))
PAGE = Account("facebook:777", Channel.FACEBOOK, "Shop Page", frozenset({"777"}))
FORM = Account("webform:contact", Channel.WEBFORM, "Contact form")
SALES = Account("email:sales@shop.test", Channel.EMAIL, "Sales", frozenset({"sales@shop.test"}))
UID = "0123456789abcdef0123456789abcdef"


def conversation(account: Account, surface: Surface, subject: str = "Help") -> Conversation:
    return Conversation(
        7, account.channel, account.id, subject, Status.OPEN, Priority.NORMAL, 3, T0, T0, 2,
        surface=surface,
    )  # fmt: skip


def stored(
    n: int,
    account: Account,
    surface: Surface,
    *,
    provider_id: str,
    author_key: str = "42",
    direction: Direction = Direction.INBOUND,
    **kwargs: object,
) -> StoredMessage:
    return StoredMessage(
        id=n,
        conversation_id=7,
        account_id=account.id,
        provider_id=provider_id,
        channel=account.channel,
        surface=surface,
        direction=direction,
        author_key=author_key,
        author_name="Léa Martin",
        author_handle=kwargs.pop("author_handle", "@lea"),  # type: ignore[arg-type]
        subject=kwargs.pop("subject", None),  # type: ignore[arg-type]
        text=kwargs.pop("text", f"text {n}"),  # type: ignore[arg-type]
        html=None,
        sent_at=T0 + timedelta(minutes=n),
        **kwargs,  # type: ignore[arg-type]
    )


# -- composition --------------------------------------------------------------------------------


def test_email_reply_answers_the_last_customer_message_with_its_headers() -> None:
    first = stored(1, MAILBOX, Surface.EMAIL, provider_id="a1@example.fr", author_key="lea@example.fr",
                   subject="Broken parcel", text="It arrived broken.")  # fmt: skip
    ours = stored(2, MAILBOX, Surface.EMAIL, provider_id="inbox.x@shop.test",
                  author_key="support@shop.test", direction=Direction.OUTBOUND)  # fmt: skip
    last = stored(3, MAILBOX, Surface.EMAIL, provider_id="a3@example.fr", author_key="lea@example.fr",
                  subject="Re: Broken parcel", text="Any news?\n> old", references=("a1@example.fr",),
                  meta={"reply_to": "Lea.Work@Example.FR"})  # fmt: skip
    draft = compose_reply(
        conversation(MAILBOX, Surface.EMAIL, "Broken parcel"),
        [first, ours, last],
        [MAILBOX],
        "We are sending a new one.",
        uid=UID,
    )
    assert draft.local_id == f"inbox.{UID}@shop.test"
    assert draft.account_id == MAILBOX.id and draft.surface is Surface.EMAIL
    assert draft.reply_to_id == "a3@example.fr"
    assert draft.references == ("a1@example.fr", "a3@example.fr")
    assert draft.subject == "Re: Broken parcel"  # no "Re: Re:"
    assert draft.quoted_text == "Any news?\n> old"
    assert draft.recipient is not None and draft.recipient.key == "lea.work@example.fr"


def test_email_subject_gets_one_re_prefix_and_hash_ids_are_not_message_ids() -> None:
    msg = stored(1, MAILBOX, Surface.EMAIL, provider_id="sha256:abc", author_key="bob@example.org",
                 subject="Invoice", references=("x@y",))  # fmt: skip
    draft = compose_reply(conversation(MAILBOX, Surface.EMAIL), [msg], [MAILBOX], "Hi", uid=UID)
    assert draft.subject == "Re: Invoice"
    assert draft.reply_to_id is None and draft.references == ("x@y",)
    assert draft.recipient is not None and draft.recipient.key == "bob@example.org"


def test_web_form_is_answered_by_email_through_the_first_email_account() -> None:
    sub = stored(1, FORM, Surface.FORM, provider_id="form:contact:991", author_key="lea@example.fr",
                 subject="Return request", text="I want to return my order.")  # fmt: skip
    draft = compose_reply(conversation(FORM, Surface.FORM), [sub], [SALES, MAILBOX, FORM], "Sure",
                          uid=UID)  # fmt: skip
    assert draft.account_id == SALES.id  # the first email account
    assert draft.channel is Channel.WEBFORM and draft.surface is Surface.EMAIL
    assert draft.local_id == f"inbox.{UID}@shop.test"
    assert draft.recipient is not None and draft.recipient.key == "lea@example.fr"
    assert draft.subject == "Re: Return request" and draft.reply_to_id is None
    assert draft.quoted_text == "I want to return my order."


def test_web_form_without_email_account_or_address_is_refused_clearly() -> None:
    sub = stored(1, FORM, Surface.FORM, provider_id="form:c:1", author_key="lea@example.fr")
    with pytest.raises(InputError, match="add an email account"):
        compose_reply(conversation(FORM, Surface.FORM), [sub], [FORM], "Hi")
    phone = stored(1, FORM, Surface.FORM, provider_id="form:c:2", author_key="+33612345678")
    with pytest.raises(InputError, match="no email address"):
        compose_reply(conversation(FORM, Surface.FORM), [phone], [FORM, MAILBOX], "Hi")


def test_x_mention_gets_a_public_reply_to_the_last_tweet() -> None:
    tweets = [
        stored(1, X, Surface.MENTION, provider_id="1500", thread_key="x:conv:1500"),
        stored(2, X, Surface.MENTION, provider_id="1502", thread_key="x:conv:1500"),
    ]
    draft = compose_reply(conversation(X, Surface.MENTION), tweets, [X], "Sorry!", uid=UID)
    assert draft.surface is Surface.MENTION and draft.reply_to_id == "1502"
    assert draft.thread_key == "x:conv:1500" and draft.local_id == f"inbox.{UID}"
    assert draft.recipient is not None and draft.recipient.handle == "@lea"


def test_x_mention_moves_to_dm_when_the_agent_asks() -> None:
    tweet = stored(1, X, Surface.MENTION, provider_id="1500", author_key="42")
    draft = compose_reply(conversation(X, Surface.MENTION), [tweet], [X], "DM us", dm=True)
    assert draft.surface is Surface.DM and draft.reply_to_id is None
    assert draft.recipient is not None and draft.recipient.key == "42"
    assert draft.thread_key == "x:dm:42-1001"  # X's one-to-one id: lower user id first


def test_x_dm_is_answered_by_dm_in_its_thread() -> None:
    dm = stored(1, X, Surface.DM, provider_id="dm:88", author_key="42", thread_key="x:dm:42-1001")
    draft = compose_reply(conversation(X, Surface.DM), [dm], [X], "Hello")
    assert draft.surface is Surface.DM and draft.thread_key == "x:dm:42-1001"
    assert draft.recipient is not None and draft.recipient.key == "42"


def test_messenger_goes_to_the_psid_and_comments_to_the_comment() -> None:
    chat = stored(1, PAGE, Surface.MESSENGER, provider_id="m_1", author_key="psid-5",
                  thread_key="fb:psid:777:psid-5")  # fmt: skip
    draft = compose_reply(conversation(PAGE, Surface.MESSENGER), [chat], [PAGE], "Hi")
    assert draft.surface is Surface.MESSENGER and draft.thread_key == "fb:psid:777:psid-5"
    assert draft.recipient is not None and draft.recipient.key == "psid-5"
    comment = stored(2, PAGE, Surface.COMMENT, provider_id="777_1_99", thread_key="fb:post:1")
    draft = compose_reply(conversation(PAGE, Surface.COMMENT), [comment], [PAGE], "Thanks")
    assert draft.surface is Surface.COMMENT and draft.reply_to_id == "777_1_99"
    private = compose_reply(conversation(PAGE, Surface.COMMENT), [comment], [PAGE], "x", dm=True)
    assert private.surface is Surface.MESSENGER and private.thread_key is None
    assert private.reply_to_id == "777_1_99"  # Graph's recipient.comment_id


def test_notes_and_automated_mail_are_not_answered() -> None:
    auto = stored(2, MAILBOX, Surface.EMAIL, provider_id="auto@x", author_key="noreply@x",
                  automated=True)  # fmt: skip
    human = stored(1, MAILBOX, Surface.EMAIL, provider_id="h@x", author_key="lea@example.fr")
    draft = compose_reply(conversation(MAILBOX, Surface.EMAIL), [human, auto], [MAILBOX], "Hi")
    assert draft.reply_to_id == "h@x"
    note = stored(3, MAILBOX, Surface.NOTE, provider_id="note:1", private=True)
    with pytest.raises(InputError, match="no customer message"):
        compose_reply(conversation(MAILBOX, Surface.EMAIL), [note], [MAILBOX], "Hi")
    with pytest.raises(InputError, match="empty"):
        compose_reply(conversation(MAILBOX, Surface.EMAIL), [human], [MAILBOX], "  ")


# -- the outbox ---------------------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = T0 + timedelta(days=1)  # replies come after the customer's mail

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store() -> Store:
    s = Store.open(":memory:")
    s.save_account(MAILBOX)
    s.ingest(MAILBOX, [mail(1), mail(2, sender="bob@example.org")])
    return s


def conversation_of(store: Store, sender: str) -> int:
    for cid in store.open_conversation_ids():
        if any(m.author_key == sender for m in store.messages(cid)):
            return cid
    raise AssertionError(sender)


def flush(outbox: Outbox, provider: FakeProvider) -> object:
    return asyncio.run(outbox.flush({provider.account.id: provider}))


def test_a_reply_is_stored_queued_before_any_network_call(store: Store) -> None:
    cid = conversation_of(store, "lea@example.fr")
    events: list[OutboxChanged] = []
    item = Outbox(store, clock=Clock(), observer=events.append).reply(cid, "On its way")
    thread = store.messages(cid)
    assert [m.direction for m in thread] == [Direction.INBOUND, Direction.OUTBOUND]
    ours = thread[-1]
    assert ours.outbox_state is OutboxState.QUEUED and ours.text == "On its way"
    assert ours.provider_id == item.draft.local_id and ours.reply_to_id == "m1@example.fr"
    assert store.conversation(cid).status is Status.OPEN
    assert events == [OutboxChanged(item.draft.local_id, cid, OutboxState.QUEUED)]


def test_sent_reply_takes_the_provider_id_and_a_refetch_is_not_duplicated(store: Store) -> None:
    cid = conversation_of(store, "lea@example.fr")
    outbox = Outbox(store, clock=Clock())
    item = outbox.reply(cid, "On its way")
    provider = FakeProvider(MAILBOX, sends=["srv-77@shop.test"])
    report = flush(outbox, provider)
    assert report.sent == 1  # type: ignore[attr-defined]
    assert [d.local_id for d in provider.sent] == [item.draft.local_id]
    ours = store.messages(cid)[-1]
    assert ours.provider_id == "srv-77@shop.test" and ours.outbox_state is OutboxState.SENT
    echo = Message(
        "srv-77@shop.test", Channel.EMAIL, Surface.EMAIL, Direction.OUTBOUND,
        Author(IdentityKind.EMAIL, "support@shop.test"), "On its way\n\n> message 1",
        T0 + timedelta(hours=1), subject="Re: Order 1", reply_to_id="m1@example.fr",
    )  # fmt: skip
    result, _ = store.ingest_fetched(MAILBOX, [echo], cursor="c9", now=T0)
    assert result.duplicates == 1 and result.added == 0
    assert len(store.messages(cid)) == 2
    assert asyncio.run(outbox.flush({MAILBOX.id: provider})).sent == 0  # nothing sent twice


def test_replies_in_one_conversation_go_out_in_order(store: Store) -> None:
    lea = conversation_of(store, "lea@example.fr")
    bob = conversation_of(store, "bob@example.org")
    clock = Clock()
    outbox = Outbox(store, clock=clock, retry_delay=lambda n: 60.0)
    first = outbox.reply(lea, "first")
    clock.now += timedelta(seconds=1)
    second = outbox.reply(lea, "second")
    other = outbox.reply(bob, "to bob")
    provider = FakeProvider(MAILBOX, sends=[TransientError("SMTP connection lost")])
    report = flush(outbox, provider)
    assert [d.text for d in provider.sent] == ["to bob"]  # lea's #2 waits for #1
    assert report.waiting == 2  # type: ignore[attr-defined]
    assert store.outbox_item(first.draft.local_id).state is OutboxState.QUEUED  # type: ignore[union-attr]
    assert store.outbox_item(first.draft.local_id).last_error == "SMTP connection lost"  # type: ignore[union-attr]
    flush(outbox, provider)  # still backing off: nothing new goes out
    assert [d.text for d in provider.sent] == ["to bob"]
    clock.now += timedelta(seconds=61)
    flush(outbox, provider)
    assert [d.text for d in provider.sent] == ["to bob", "first", "second"]
    assert store.outbox_item(second.draft.local_id).state is OutboxState.SENT  # type: ignore[union-attr]
    assert store.outbox_item(other.draft.local_id).attempts == 1  # type: ignore[union-attr]


def test_permanent_failure_shows_the_reason_and_holds_later_replies(store: Store) -> None:
    cid = conversation_of(store, "lea@example.fr")
    outbox = Outbox(store, clock=Clock())
    first = outbox.reply(cid, "first")
    outbox.reply(cid, "second")
    reason = "SMTP 550 5.1.1 mailbox unavailable"
    provider = FakeProvider(MAILBOX, sends=[PermanentError(reason)])
    report = flush(outbox, provider)
    assert report.failed == 1 and provider.sent == []  # type: ignore[attr-defined]
    shown = store.messages(cid)[1]
    assert shown.outbox_state is OutboxState.FAILED and shown.outbox_error == reason
    outbox.drop(first.draft.local_id)  # the agent gives up on #1: #2 may go
    flush(outbox, provider)
    assert [d.text for d in provider.sent] == ["second"]
    assert [m.text for m in store.messages(cid)] == ["message 1", "second"]


def test_auth_refusal_keeps_the_reply_queued_and_reports_the_account(store: Store) -> None:
    cid = conversation_of(store, "lea@example.fr")
    outbox = Outbox(store, clock=Clock())
    item = outbox.reply(cid, "hello")
    provider = FakeProvider(MAILBOX, sends=[AuthError("SMTP: sign-in refused (535)")])
    report = flush(outbox, provider)
    assert report.auth_failed == {MAILBOX.id: "SMTP: sign-in refused (535)"}  # type: ignore[attr-defined]
    assert store.outbox_item(item.draft.local_id).state is OutboxState.QUEUED  # type: ignore[union-attr]
    assert asyncio.run(outbox.flush({MAILBOX.id: provider}, paused={MAILBOX.id})).sent == 0
    assert asyncio.run(outbox.flush({MAILBOX.id: provider})).sent == 1


@pytest.mark.parametrize(
    ("delivered", "state", "sends"),
    [(True, OutboxState.SENT, 0), (False, OutboxState.SENT, 1), (None, OutboxState.UNCERTAIN, 0)],
)
def test_an_item_left_sending_by_a_crash_is_checked_not_resent(
    store: Store, delivered: bool | None, state: OutboxState, sends: int
) -> None:
    cid = conversation_of(store, "lea@example.fr")
    outbox = Outbox(store, clock=Clock())
    item = outbox.reply(cid, "hello")
    store.set_outbox_state(item.draft.local_id, OutboxState.SENDING, T0, attempts=1)  # killed here
    provider = CheckingProvider(MAILBOX, delivered)
    flush(Outbox(store, clock=Clock()), provider)  # a new process
    assert provider.checked == [item.draft.local_id]
    assert len(provider.sent) == sends
    after = store.outbox_item(item.draft.local_id)
    assert after is not None and after.state is state
    if state is OutboxState.UNCERTAIN:
        assert store.messages(cid)[-1].outbox_error == "may have been sent"
        outbox.resend(item.draft.local_id)  # the agent decides
        flush(outbox, provider)
        assert len(provider.sent) == 1


def test_without_a_delivery_check_a_crashed_send_is_left_to_the_agent(store: Store) -> None:
    cid = conversation_of(store, "lea@example.fr")
    outbox = Outbox(store, clock=Clock())
    item = outbox.reply(cid, "hello")
    store.set_outbox_state(item.draft.local_id, OutboxState.SENDING, T0, attempts=1)
    provider = FakeProvider(MAILBOX)
    flush(outbox, provider)
    assert provider.sent == []
    assert store.outbox_item(item.draft.local_id).state is OutboxState.UNCERTAIN  # type: ignore[union-attr]
    with pytest.raises(InputError):
        outbox.resend("inbox.nope")


def test_an_echo_fetched_before_the_send_was_recorded_is_merged(store: Store) -> None:
    x_store = store
    x_store.save_account(X)
    tweet = Message(
        "1500", Channel.TWITTER, Surface.MENTION, Direction.INBOUND,
        Author(IdentityKind.TWITTER, "42", "@lea", "Léa"), "@shop broken", T0,
        thread_key="x:conv:1500",
    )  # fmt: skip
    x_store.ingest(X, [tweet])
    cid = conversation_of(x_store, "42")
    outbox = Outbox(x_store, clock=Clock())
    item = outbox.reply(cid, "@lea sorry")
    echo = replace(
        tweet, provider_id="1600", direction=Direction.OUTBOUND, text="@lea sorry",
        author=Author(IdentityKind.TWITTER, "1001", "@shop"), reply_to_id="1500",
    )  # fmt: skip
    x_store.ingest_fetched(X, [echo], cursor=None, now=T0)  # arrives while sending
    x_store.mark_outbox_sent(item.draft.local_id, "1600", T0)
    thread = x_store.messages(cid)
    assert [m.provider_id for m in thread] == ["1500", "1600"]
    assert thread[-1].outbox_state is OutboxState.SENT
    again, _ = x_store.ingest_fetched(X, [echo], cursor=None, now=T0)
    assert again.duplicates == 1 and len(x_store.messages(cid)) == 2


def test_a_note_is_private_and_never_queued(store: Store) -> None:
    cid = conversation_of(store, "lea@example.fr")
    outbox = Outbox(store, clock=Clock())
    outbox.note(cid, "VIP, be nice", "agent-ana")
    note = store.messages(cid)[-1]
    assert note.private and note.surface is Surface.NOTE and note.outbox_state is None
    assert store.outbox_items() == []


def test_holds_name_the_earlier_reply_each_queued_one_waits_for() -> None:
    from inbox.models import OutboxState as S
    from inbox.replies.order import WAITING_FOR, Hold, holds

    items = [("a1", 1, S.UNCERTAIN), ("b1", 2, S.SENT), ("a2", 1, S.QUEUED), ("b2", 2, S.QUEUED),
             ("a3", 1, S.FAILED), ("a4", 1, S.QUEUED), ("c1", 3, S.FAILED), ("c2", 3, S.QUEUED)]  # fmt: skip
    assert holds(items) == {
        "a2": Hold("a1", S.UNCERTAIN, WAITING_FOR[S.UNCERTAIN]),
        "a4": Hold("a1", S.UNCERTAIN, WAITING_FOR[S.UNCERTAIN]),
        "c2": Hold("c1", S.FAILED, "waiting: an earlier reply failed, send it again or drop it"),
    }  # b2 goes (b1 is sent); a3 is undecided itself, not merely waiting
