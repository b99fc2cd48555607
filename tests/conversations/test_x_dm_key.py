"""The thread key of an X DM is made in one place (``conversations.routing``): a DM read from a
v1.1 event, one read from an X API v2 page and our reply to them land in one conversation.

X's docs: a one-to-one ``dm_conversation_id`` is ``{smaller_user_id}-{larger_user_id}``; the
recorded tweepy session in the corpus shows that "smaller" is a number comparison
(``750362064426721281-1072250532645998596``), which a text sort would put the other way round.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inbox.conversations.routing import x_dm_conversation_key, x_dm_participants, x_dm_thread_key
from inbox.models import Account, Channel, Surface
from inbox.providers.twitter import import_file, parse_payload
from inbox.replies.compose import compose_reply
from inbox.store.repository import Store
from tests.corpus import corpus_dir

TWEEPY_DEV = "1072250532645998596"  # the account that recorded the tweepy cassettes
OTHER = "750362064426721281"  # whom it wrote to in the v2 session


def _recorded_v2_conversation() -> str:
    bodies = json.loads((corpus_dir("tweepy", "decoded") / "test_manage_and_lookup_direct_messages.bodies.json").read_text())
    ids = {item["body"]["data"]["dm_conversation_id"] for item in bodies if "dm_conversation_id" in str(item["body"])}
    one_to_one = [i for i in ids if "-" in i]
    assert len(one_to_one) == 1
    return str(one_to_one[0])


def _v1_event_from(sender: str, recipient: str) -> dict[str, object]:
    """The v1.1 ``message_create`` event X answered in the tweepy session, between other users."""
    cassette = json.loads((corpus_dir("tweepy", "cassettes") / "testsendanddeletedirectmessage.json").read_text())
    [created] = [i for i in cassette["interactions"] if i["request"]["uri"].endswith("/events/new.json")]
    event = json.loads(created["response"]["body"]["string"])["event"]
    event["message_create"]["sender_id"] = sender
    event["message_create"]["target"]["recipient_id"] = recipient
    return {"event": event}


def _v2_page(conversation: str, sender: str) -> dict[str, object]:
    """The v2 ``dm_events`` page of the corpus (sns-python-twitter), in the recorded conversation."""
    page = json.loads((corpus_dir("sns-python-twitter", "testdata", "apis", "dm_events") / "events.json").read_text())
    for event in page["data"]:
        event["dm_conversation_id"] = conversation
        event["sender_id"] = sender
    return dict(page)


def test_the_key_is_x_s_conversation_id_in_number_order() -> None:
    conversation = _recorded_v2_conversation()
    assert x_dm_thread_key(TWEEPY_DEV, OTHER) == x_dm_thread_key(OTHER, TWEEPY_DEV) == f"x:dm:{conversation}"
    assert x_dm_conversation_key(conversation) == f"x:dm:{conversation}"
    assert x_dm_conversation_key(f"{TWEEPY_DEV}-{OTHER}") == f"x:dm:{conversation}"  # one pair, one key
    assert x_dm_participants(f"x:dm:{conversation}") == (OTHER, TWEEPY_DEV)
    assert x_dm_conversation_key("1585094756761149440") == "x:dm:1585094756761149440"  # a group
    assert x_dm_participants("x:dm:1585094756761149440") is None


@pytest.mark.parametrize("sender", [OTHER, TWEEPY_DEV])
def test_v1_v2_and_recorded_dms_agree(sender: str) -> None:
    recipient = TWEEPY_DEV if sender == OTHER else OTHER
    conversation = _recorded_v2_conversation()
    [v1] = parse_payload(_v1_event_from(sender, recipient), "v1.json").messages
    [v2] = parse_payload(_v2_page(conversation, sender), "v2.json").messages
    recorded = import_file(corpus_dir("tweepy", "decoded") / "test_manage_and_lookup_direct_messages.bodies.json")
    assert recorded is not None
    assert v1.thread_key == v2.thread_key == f"x:dm:{conversation}"
    assert {m.thread_key for m in recorded.messages} == {v1.thread_key}
    assert [r.key for r in v2.recipients] == [recipient]  # read back from the key


def test_a_dm_from_v1_and_v2_and_the_reply_land_in_one_conversation(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "inbox.db")
    try:
        account = Account(f"twitter:{TWEEPY_DEV}", Channel.TWITTER, "@TweepyDev", frozenset({TWEEPY_DEV}))
        store.save_account(account)
        [v1] = parse_payload(_v1_event_from(OTHER, TWEEPY_DEV), "v1.json").messages
        [v2] = parse_payload(_v2_page(_recorded_v2_conversation(), OTHER), "v2.json").messages
        first, second = store.ingest(account, [v1]), store.ingest(account, [v2])
        assert first.added == second.added == 1
        assert first.conversations == second.conversations and len(first.conversations) == 1
        [conversation_id] = first.conversations
        messages = store.messages(conversation_id)
        draft = compose_reply(store.conversation(conversation_id), messages, [account], "Bonjour")
        assert draft.surface is Surface.DM and draft.thread_key == v1.thread_key
        # A public mention moved to DM gets the same key, made from the two users.
        mention = compose_reply(store.conversation(conversation_id), messages, [account], "Bonjour", dm=True)
        assert mention.thread_key == v1.thread_key
    finally:
        store.close()
