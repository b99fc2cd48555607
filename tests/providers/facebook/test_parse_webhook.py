"""Page webhook deliveries: Messenger events and feed changes from the restfb corpus."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

from inbox.models import Direction, ParsedBatch, Surface
from inbox.providers.facebook.parse import import_file, parse_payload
from tests.corpus import corpus_dir

PAGE, PSID = "12345654332", "987654321432"


def _hook(name: str) -> ParsedBatch:
    batch = import_file(corpus_dir("restfb", "json", "webhooks", name))
    assert batch is not None
    return batch


def _doc(name: str) -> dict[str, object]:
    loaded = json.loads(corpus_dir("restfb", "json", "webhooks", name).read_text("utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_a_customer_message_threads_on_page_and_psid() -> None:
    (message,) = _hook("messaging-message-basic.json").messages
    assert message.surface is Surface.MESSENGER and message.direction is Direction.INBOUND
    assert message.thread_key == f"fb:psid:{PAGE}:{PSID}"
    assert message.author.key == PSID and message.text == "hello, world!"
    assert message.sent_at == datetime(2016, 3, 12, 6, 29, 57, 627000, tzinfo=UTC)
    # Old webhook mids and Graph ids of the same message agree once normalised.
    assert message.provider_id == "m_mid.1457764197618:41d102a3e1ae206a38"
    assert _hook("messaging-message-basic.json").account_hint == f"facebook:{PAGE}"


def test_an_echo_is_the_pages_own_reply_in_the_same_thread() -> None:
    (echo,) = _hook("messaging-message-basic-echo.json").messages
    assert echo.direction is Direction.OUTBOUND
    assert echo.author.key == PAGE
    assert echo.thread_key == f"fb:psid:{PAGE}:{PSID}"
    assert echo.meta["app_id"] == "1517776481860111"
    (standby,) = _hook("standby-message-basic-echo.json").messages
    assert standby.direction is Direction.OUTBOUND


def test_a_real_echo_from_page_to_customer() -> None:
    doc = _doc("messaging-message-basic-echo.json")
    event = doc["entry"][0]["messaging"][0]  # type: ignore[index]
    event["sender"], event["recipient"] = {"id": PAGE}, {"id": "555"}
    (echo,) = parse_payload(doc, "echo").messages
    assert echo.direction is Direction.OUTBOUND and echo.thread_key == f"fb:psid:{PAGE}:555"
    assert [r.key for r in echo.recipients] == ["555"]


def test_messenger_replies_quick_replies_and_attachments() -> None:
    (reply,) = _hook("messaging-message-reply-1.json").messages
    assert reply.reply_to_id == "very_long_id_representing_the_original_message"
    (quick,) = _hook("messaging-message-quickreply.json").messages
    assert quick.text == "quick reply text"
    assert quick.meta["quick_reply_payload"] == "PAYLOAD_QUICK_REPLY"
    (sticker,) = _hook("messaging-message-sticker.json").messages
    (image,) = sticker.attachments
    assert image.url == "https://scontent.xx.fbcdn.net/sticker.png"
    assert image.content_type == "image/png"
    (place,) = _hook("messaging-message-location-attachment.json").messages
    assert place.text == "Location: 12.34, 43.21"
    (product,) = _hook("messaging-message-product-template.json").messages
    assert product.attachments[0].filename == "Some product title"


def test_a_postback_is_kept_with_its_title_or_payload() -> None:
    (tap,) = _hook("messaging-postback-basic.json").messages
    assert tap.text == "USER_DEFINED_PAYLOAD" and tap.direction is Direction.INBOUND
    assert tap.thread_key == f"fb:psid:{PAGE}:{PSID}"
    doc = _doc("messaging-postback-basic.json")
    doc["entry"][0]["messaging"][0]["postback"]["title"] = "Get Started"  # type: ignore[index]
    (titled,) = parse_payload(doc, "postback").messages
    assert titled.text == "Get Started"
    assert titled.meta["postback_payload"] == "USER_DEFINED_PAYLOAD"


def test_an_edit_replaces_the_text_of_the_same_message_and_a_delete_is_ignored() -> None:
    (original,) = _hook("messaging-message-basic.json").messages
    (edit,) = _hook("messaging-message-edits.json").messages
    assert edit.provider_id == original.provider_id
    assert edit.meta["edited"] == "1" and edit.meta["num_edit"] == "37"
    deleted = _hook("messaging-message-isdeleted.json")
    assert deleted.messages == () and deleted.rejections == ()


def test_receipts_reactions_and_handover_are_skipped_silently() -> None:
    for name in (
        "messaging-delivery-basic.json",
        "messaging-read-basic.json",
        "messaging-reaction-1.json",
        "messaging-optin-basic.json",
        "messaging-take-thread-control.json",
        "messaging-policy-callback-block.json",
    ):
        batch = _hook(name)
        assert batch.messages == () and batch.rejections == (), name


def test_a_comment_by_the_page_is_outbound_and_threads_on_the_post() -> None:
    (comment,) = _hook("feed-comment-add-211.json").messages
    assert comment.surface is Surface.COMMENT
    assert comment.direction is Direction.OUTBOUND  # from.id is the Page (entry id)
    assert comment.thread_key == "fb:post:901097836652708"
    assert comment.meta["post_id"] == "1234567890321_901097836652708"
    assert comment.reply_to_id is None
    assert comment.sent_at == datetime(2015, 12, 3, 9, 30, 3, tzinfo=UTC)
    (with_photo,) = _hook("feed-comment-add-with-photo.json").messages
    assert with_photo.attachments[0].content_type == "image/jpeg"


def test_a_comment_reply_has_the_parent_comment_as_reply_to() -> None:
    doc = _doc("feed-comment-add-25.json")
    reply = copy.deepcopy(doc)
    value = reply["entry"][0]["changes"][0]["value"]  # type: ignore[index]
    value.update(
        comment_id="901097836652708_903438993099999",
        parent_id="901097836652708_903438993085259",
        sender_id=777,
        sender_name="Customer",
    )
    both = {"object": "page", "entry": doc["entry"] + reply["entry"]}  # type: ignore[operator]
    top, answer = parse_payload(both, "reply").messages
    assert answer.reply_to_id == top.provider_id == "901097836652708_903438993085259"
    assert answer.thread_key == top.thread_key
    assert answer.direction is Direction.INBOUND and answer.author.display_name == "Customer"


def test_comment_edits_are_kept_and_moderation_is_skipped() -> None:
    (edited,) = _hook("feed-comment-edited-25.json").messages
    assert edited.meta["edited"] == "1"
    for name in ("feed-comment-hide.json", "feed-comment-remove-25.json", "feed-like-add-25.json"):
        assert _hook(name).messages == ()


def test_a_visitor_post_is_a_thread_root_and_the_pages_own_post_is_not() -> None:
    (post,) = _hook("feed-post-add-25.json").messages
    assert post.provider_id == "1234567890321_7293787835232"
    assert post.thread_key == "fb:post:7293787835232"
    assert post.author.display_name == "John Doe" and post.direction is Direction.INBOUND
    assert post.meta["root"] == "1"
    assert _hook("feed-status-add-25.json").messages == ()


def test_several_entries_and_unknown_changes() -> None:
    two = _hook("feed-two-entries-25.json")
    assert two.messages == () and two.rejections == ()
    assert two.account_hint == "facebook:1234567890321"
    unknown = _hook("unknown-change-value.json")
    assert unknown.messages == () and unknown.rejections == ()
    doc = {"object": "page", "entry": _doc("feed-post-add-25.json")["entry"]}
    doc["entry"] += _doc("messaging-message-basic.json")["entry"]  # type: ignore[operator]
    assert len(parse_payload(doc, "mixed").messages) == 2


def test_mentions_are_kept_with_an_unknown_author() -> None:
    (mention,) = _hook("mention-comment-add.json").messages
    assert mention.meta["mention"] == "1" and mention.author.key == ""
    assert mention.thread_key == "fb:post:7363534231324"


def test_one_broken_event_does_not_block_the_others() -> None:
    doc = _doc("messaging-message-basic.json")
    events = doc["entry"][0]["messaging"]  # type: ignore[index]
    events.insert(0, {"sender": {"id": PSID}, "message": {"text": "no mid, no time"}})
    events.insert(0, "not an event")
    batch = parse_payload(doc, "partly-broken")
    assert len(batch.messages) == 1
    assert [r.reason for r in batch.rejections] == ["Messenger message without a mid"]
    bad = parse_payload({"object": "page", "entry": "nope"}, "bad")
    assert bad.rejections[0].reason == "webhook delivery without an entry list"
