"""X payload parsing against every recorded file of the shared corpus, plus fuzzing."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox.models import Channel, Direction, IdentityKind, Message, ParsedBatch, Surface
from inbox.providers.twitter import import_file, parse_payload
from inbox.providers.twitter.parse import ACTIVITY_YAML, CASSETTE_YAML
from tests.corpus import CORPUS, corpus_dir, corpus_files

FOLDERS = ("tweepy", "sns-python-twitter", "twarc-csv", "bear-python-twitter", "zammad-twitter")

#: Corpus files that hold no tweet or DM at all (user lookups, receipts, fragments, YAML).
NO_POSTS = {
    "tweepy/cassettes/testgetdirectmessages.json",  # an empty DM event list
    "tweepy/cassettes/testgetretweetsofme.json",  # []
    "tweepy/cassettes/testmentionstimeline.json",  # []
    "tweepy/cassettes/testsendanddeletedirectmessage.json",
    "tweepy/decoded/test_api_indicate_direct_message_typing.bodies.json",
    "tweepy/decoded/test_client_create_and_delete_tweet.bodies.json",
    "tweepy/decoded/test_client_get_me.bodies.json",
    "tweepy/decoded/test_client_get_user.bodies.json",
    "tweepy/decoded/test_client_get_users.bodies.json",
    "tweepy/decoded/test_client_hide_and_unhide_reply.bodies.json",
    "sns-python-twitter/testdata/apis/dm_events/events_create.json",
    "sns-python-twitter/testdata/apis/tweet/tweet_liking_users_resp.json",
    "sns-python-twitter/testdata/apis/tweet/tweet_retweed_users_resp.json",
    "sns-python-twitter/testdata/apis/user/followers_resp.json",
    "sns-python-twitter/testdata/apis/user/following_resp.json",
    "sns-python-twitter/testdata/apis/user/me_resp.json",
    "sns-python-twitter/testdata/apis/user/search_users_resp.json",
    "sns-python-twitter/testdata/apis/user/user_resp.json",
    "sns-python-twitter/testdata/apis/user/users_resp.json",
    "sns-python-twitter/testdata/models/expansions.json",
    "sns-python-twitter/testdata/models/media.json",
    "sns-python-twitter/testdata/models/meta.json",
    "sns-python-twitter/testdata/models/meta_stream.json",
    "sns-python-twitter/testdata/models/place.json",
    "sns-python-twitter/testdata/models/poll.json",
    "sns-python-twitter/testdata/models/user.json",
    "sns-python-twitter/testdata/streams/delete_error.json",
    "twarc-csv/test-data/lists.jsonl",
    "twarc-csv/test-data/users.jsonl",
}
#: Files that are fine but empty: an empty batch without rejection.
EMPTY_OK = {
    "tweepy/cassettes/testgetdirectmessages.json",
    "tweepy/cassettes/testgetretweetsofme.json",
    "tweepy/cassettes/testmentionstimeline.json",
}


def _corpus_params() -> list[object]:
    files: list[object] = []
    for folder in FOLDERS:
        root = CORPUS / folder
        if root.exists():
            files.extend(
                pytest.param(p, id=str(p.relative_to(CORPUS)))
                for p in sorted(root.rglob("*"))
                if p.is_file() and not p.name.upper().startswith("LICENSE")
            )
    return files or [pytest.param(None, marks=pytest.mark.skip(reason=f"no corpus at {CORPUS}"))]


def _load(*parts: str) -> ParsedBatch:
    batch = import_file(corpus_dir(*parts))
    assert batch is not None
    return batch


def _by_id(batch: ParsedBatch) -> dict[str, Message]:
    return {m.provider_id: m for m in batch.messages}


def test_corpus_folders_present() -> None:
    for folder in FOLDERS:
        assert corpus_files(folder)


@pytest.mark.parametrize("path", _corpus_params())
def test_every_corpus_file_imports_or_is_rejected_with_a_reason(path: Path) -> None:
    relative = path.relative_to(CORPUS).as_posix()
    batch = import_file(path)
    assert batch is not None, f"{relative} not recognised as an X payload"
    for rejection in batch.rejections:
        assert rejection.source == str(path)
        assert rejection.reason and "\n" not in rejection.reason
    if path.suffix in (".yaml", ".yml"):
        assert not batch.messages
        assert batch.rejections
    elif relative in NO_POSTS:
        assert not batch.messages
        assert bool(batch.rejections) is (relative not in EMPTY_OK)
    else:
        assert batch.messages, f"{relative} holds posts but none were read"
    for message in batch.messages:
        assert message.channel is Channel.TWITTER
        assert message.sent_at.utcoffset() == timedelta(0)
        assert message.provider_id
        prefix = "x:dm:" if message.surface is Surface.DM else "x:conv:"
        assert message.thread_key and message.thread_key.startswith(prefix)
        assert message.surface in (Surface.DM, Surface.MENTION)
        assert message.provider_id.startswith("dm:") is (message.surface is Surface.DM)


def test_replies_resolve_authors_conversations_and_media_from_includes() -> None:
    batch = _load("twarc-csv", "test-data", "noflat.jsonl")
    assert len(batch.messages) == 100
    reply = _by_id(batch)["1380242549785366530"]
    assert reply.surface is Surface.MENTION
    assert reply.direction is Direction.INBOUND
    assert reply.author.kind is IdentityKind.TWITTER
    assert reply.author.key == "1181341904765628416"
    assert reply.author.handle == "@ChrisFromGA68"
    assert reply.author.followers == 2835
    assert reply.thread_key == "x:conv:1380218198793011202"
    assert reply.reply_to_id == "1380241441637625860"
    assert reply.sent_at == datetime(2021, 4, 8, 19, 34, 2, tzinfo=UTC)
    assert [a.content_id for a in reply.attachments] == ["16_1380242539517779970"]
    assert reply.attachments[0].url and reply.attachments[0].url.startswith("https://")
    assert reply.meta["lang"]
    replies = [m for m in batch.messages if m.reply_to_id]
    assert len(replies) == 31
    assert all(m.author.handle.startswith("@") for m in batch.messages)


def test_mentions_timeline_without_expansions_keeps_tweets_and_threads_by_id() -> None:
    batch = _load("sns-python-twitter", "testdata", "apis", "timeline", "timeline_mentions.json")
    assert [m.provider_id for m in batch.messages][:2] == [
        "1364398068313903104",
        "1364377794327633925",
    ]
    first = batch.messages[0]
    assert first.thread_key == "x:conv:1364398068313903104"
    assert first.author.key == ""  # not expanded: unknown, not invented
    assert first.text.startswith("@Twitter should consider supporting #VoiceMessaging")


def test_pure_retweet_is_expanded_from_the_referenced_tweet_and_flagged() -> None:
    message = _load("twarc-csv", "test-data", "mentions_tweet.jsonl").messages[0]
    assert message.meta["retweet"] == "1"
    assert message.text.startswith("RT @S3NT1N3L17: Looking for gaming mutuals")
    assert "…" not in message.text  # the truncated RT text was replaced by the whole original


def test_dm_events_thread_by_conversation_and_name_the_sender() -> None:
    batch = _load("sns-python-twitter", "testdata", "apis", "dm_events", "events.json")
    (message,) = batch.messages
    assert message.provider_id == "dm:1585321444547837956"
    assert message.surface is Surface.DM
    assert message.thread_key == "x:dm:1585094756761149440"
    assert message.author.key == "906948460078698496"
    assert message.text == "Another photo https://t.co/J5KotyeIyd"
    assert message.sent_at == datetime(2022, 10, 26, 17, 24, 21, tzinfo=UTC)


def test_non_message_dm_events_are_skipped_silently() -> None:
    doc = {
        "data": [
            {
                "id": "1585321444547837957",
                "event_type": "ParticipantsJoin",
                "participant_ids": ["1"],
            },
            {
                "id": "1585321444547837956",
                "event_type": "MessageCreate",
                "text": "hi",
                "sender_id": "42",
                "dm_conversation_id": "42-99",
                "attachments": {"media_keys": ["3_1"]},
            },
        ],
        "includes": {
            "users": [{"id": "42", "username": "carol", "name": "Carol"}],
            "media": [{"media_key": "3_1", "type": "photo", "url": "https://pbs.twimg.com/a.png"}],
        },
        "meta": {"result_count": 2},
    }
    batch = parse_payload(doc, "dm.json")
    assert not batch.rejections
    (message,) = batch.messages
    assert message.author.handle == "@carol"
    assert message.thread_key == "x:dm:42-99"
    assert [r.key for r in message.recipients] == ["99"]
    assert message.attachments[0].content_type == "image/png"


def test_recorded_dm_lookups_take_the_conversation_from_the_request_and_time_from_the_id() -> None:
    batch = _load("tweepy", "decoded", "test_manage_and_lookup_direct_messages.bodies.json")
    assert {m.provider_id for m in batch.messages} == {
        "dm:1585800613752881156",
        "dm:1585800613253812228",
    }
    assert {m.thread_key for m in batch.messages} == {"x:dm:750362064426721281-1072250532645998596"}


def test_tweet_without_created_at_takes_its_time_from_the_snowflake_id() -> None:
    batch = _load("tweepy", "decoded", "test_client_get_users_mentions.bodies.json")
    message = _by_id(batch)["1578516295611748353"]
    assert message.sent_at == datetime(2022, 10, 7, 22, 43, 6, 945000, tzinfo=UTC)


def test_truncated_jsonl_line_is_rejected_and_the_other_lines_import() -> None:
    path = corpus_dir("twarc-csv", "test-data", "streaming_output_with_error.jsonl")
    batch = import_file(path)
    assert batch is not None
    assert len(batch.messages) == 7
    (rejection,) = batch.rejections
    assert rejection.source == str(path)
    assert rejection.reason.startswith("line 8: invalid JSON")


def test_long_post_text_comes_from_note_tweet() -> None:
    doc = json.loads(corpus_dir("twarc-csv", "test-data", "noflat.jsonl").read_text())
    (tweet,) = [t for t in doc["data"] if t["id"] == "1380242549785366530"]
    tweet["note_tweet"] = {"text": "A long post " + "x" * 400 + " &amp; the end"}
    message = _by_id(parse_payload(doc, "note.json"))["1380242549785366530"]
    assert message.text == "A long post " + "x" * 400 + " & the end"


def test_v1_mentions_thread_replies_under_the_status_they_answer() -> None:
    batch = _load("bear-python-twitter", "testdata", "get_mentions.json")
    assert len(batch.messages) == 19
    replies = [m for m in batch.messages if m.reply_to_id]
    assert len(replies) == 13
    first = _by_id(batch)["676148312349609985"]
    assert first.reply_to_id == "676147040917790724"
    assert first.thread_key == "x:conv:676147040917790724"
    assert first.author.handle.startswith("@")
    assert _by_id(batch)["675710124057432065"].thread_key == "x:conv:675710124057432065"


def test_v1_extended_tweet_uses_the_full_unescaped_text() -> None:
    batch = _load("bear-python-twitter", "testdata", "streaming", "streaming_extended_tweet.json")
    (message,) = batch.messages
    assert message.text.endswith(
        "Cloud/Fog Computing OutLook from ClouData & Multiverse -  https://t.co/cnCBNJvu6T"
    )
    assert message.author.handle == "@ClouDatAI"


def test_legacy_dms_in_both_directions_share_one_thread() -> None:
    received = _load(
        "bear-python-twitter", "testdata", "direct_messages", "get_direct_messages.json"
    )
    sent = _load(
        "bear-python-twitter", "testdata", "direct_messages", "get_sent_direct_messages.json"
    )
    pair = "x:dm:372018022-4012966701"
    note_to_self = "x:dm:4012966701-4012966701"  # the test account also wrote to itself
    assert {m.thread_key for m in received.messages} == {pair, note_to_self}
    assert {m.thread_key for m in sent.messages} == {pair, note_to_self}
    assert received.messages[0].author.handle == "@__jcbl__"


def test_account_activity_webhooks_yield_tweets_dms_and_the_account() -> None:
    dm_batch = _load("zammad-twitter", "test", "data", "twitter", "webhook2_direct_message.json")
    assert dm_batch.account_hint == "twitter:123"
    (dm,) = dm_batch.messages
    assert dm.surface is Surface.DM
    assert dm.author.handle == "@medenhofer"
    assert dm.thread_key == "x:dm:123-456"
    assert dm.attachments[0].content_type == "image/jpeg"
    tweet_batch = _load("zammad-twitter", "test", "data", "twitter", "webhook2_tweet.json")
    (tweet,) = tweet_batch.messages
    assert tweet.text.endswith("no sea takimata sanctus est Lore")  # extended_tweet.full_text
    assert tweet.recipients[0].key == "123"


def test_yaml_recordings_are_refused_with_a_pointer_to_the_json_form() -> None:
    cassette = _load("tweepy", "cassettes", "test_client_get_users_mentions.yaml")
    assert [r.reason for r in cassette.rejections] == [CASSETTE_YAML]
    event = _load(
        "zammad-twitter", "test", "data", "twitter", "webhook_events", "tweet_create-response.yml"
    )
    assert [r.reason for r in event.rejections] == [ACTIVITY_YAML]


def test_other_channels_files_are_left_to_their_parsers() -> None:
    others = [
        path
        for path in sorted(corpus_dir().rglob("*"))
        if path.is_file() and path.relative_to(CORPUS).parts[0] not in FOLDERS
    ]
    assert len(others) > 100
    claimed = [str(path.relative_to(CORPUS)) for path in others if import_file(path) is not None]
    assert claimed == []


def test_one_broken_record_does_not_block_the_rest() -> None:
    line = corpus_dir("twarc-csv", "test-data", "two_tweets.jsonl").read_text().splitlines()[0]
    doc = json.loads(line)
    good = len(parse_payload(doc, "x.json").messages)
    broken = copy.deepcopy(doc)
    broken["data"].append({"text": "no id", "created_at": 5})
    batch = parse_payload(broken, "x.json")
    assert len(batch.messages) == good
    assert batch.rejections[0].reason.endswith("tweet without an id")
    assert batch.rejections[0].source == "x.json"


def test_non_x_document_is_rejected_by_parse_payload() -> None:
    batch = parse_payload({"object": "page", "entry": []}, "fb.json")
    assert not batch.messages
    assert batch.rejections[0].reason == "not an X API payload"


_X_KEYS = st.sampled_from(
    [
        "data",
        "includes",
        "meta",
        "users",
        "tweets",
        "media",
        "id",
        "id_str",
        "text",
        "full_text",
        "author_id",
        "conversation_id",
        "created_at",
        "referenced_tweets",
        "type",
        "attachments",
        "media_keys",
        "media_key",
        "note_tweet",
        "event_type",
        "sender_id",
        "dm_conversation_id",
        "username",
        "public_metrics",
        "followers_count",
        "user",
        "in_reply_to_status_id_str",
        "extended_tweet",
        "for_user_id",
        "tweet_create_events",
        "direct_message_events",
        "message_create",
        "message_data",
        "target",
        "recipient_id",
        "created_timestamp",
        "params",
        "headers",
        "interactions",
        "statuses",
        "event",
        "events",
        "next_cursor",
        "variants",
        "url",
        "retweeted_status",
        "sender",
        "errors",
        "uri",
        "body",
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True)
    | st.text(max_size=12)
    | st.sampled_from(
        ["MessageCreate", "retweeted", "replied_to", "message_create", "1364398068313903104"]
    )
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(_X_KEYS | st.text(max_size=6), inner, max_size=6)
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_JSON)
def test_parse_payload_never_raises(doc: object) -> None:
    batch = parse_payload(doc, "fuzz.json")
    assert isinstance(batch, ParsedBatch)
    for message in batch.messages:
        assert message.sent_at.tzinfo is not None
