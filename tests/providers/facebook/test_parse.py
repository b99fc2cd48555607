"""Graph API read payloads, against every Facebook file of the shared corpus."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from inbox.models import Channel, Direction, IdentityKind, Message, ParsedBatch, Surface
from inbox.providers.facebook.parse import import_file, paging_of, parse_payload
from tests.corpus import CORPUS, corpus_dir, corpus_files

FOLDERS = ("restfb", "sns-python-facebook")
SNS = ("sns-python-facebook", "testdata", "facebook", "apidata")

#: Corpus files that hold nothing to import and say so by an empty batch, not a rejection:
#: webhook events that change no conversation text, and an empty page of a list.
SILENT = (
    r"-(hide|unhide|remove|block|unblock|mute)(-\d+|-message)?\.json$",  # moderation
    r"feed-(like|reaction)-",  # reactions and likes
    r"messaging-(delivery|read|optin|reaction|referral|accountlinking|approles|policy)",
    r"messaging-(pass|take|request)-thread-control",  # handover protocol
    r"messaging-message-isdeleted",  # a deletion keeps the record
    r"feed-(status|photo|video|share|album|event)-(add|edited)",  # the Page's own publishing
    r"leadgen|unknown-change-value|feed-two-entries-25|cursor_only_paging2",
)


def _corpus_params() -> list[object]:
    files: list[object] = []
    for folder in FOLDERS:
        root = CORPUS / folder
        if root.exists():
            files.extend(
                pytest.param(p, id=str(p.relative_to(CORPUS)))
                for p in sorted(root.rglob("*.json"))
                if p.is_file()
            )
    return files or [pytest.param(None, marks=pytest.mark.skip(reason=f"no corpus at {CORPUS}"))]


def _load(*parts: str, page_id: str | None = None) -> ParsedBatch:
    path = corpus_dir(*parts)
    if page_id is None:
        batch = import_file(path)
        assert batch is not None
        return batch
    return parse_payload(json.loads(path.read_text("utf-8")), str(path), page_id)


def _by_id(batch: ParsedBatch) -> dict[str, Message]:
    return {m.provider_id: m for m in batch.messages}


def test_corpus_folders_present() -> None:
    for folder in FOLDERS:
        assert corpus_files(folder, suffixes=(".json",))


@pytest.mark.parametrize("path", _corpus_params())
def test_every_corpus_file_imports_or_is_rejected_with_a_reason(path: Path) -> None:
    relative = path.relative_to(CORPUS).as_posix()
    batch = import_file(path)
    assert batch is not None, f"{relative} not recognised as a Graph payload"
    for rejection in batch.rejections:
        assert rejection.source == str(path)
        assert rejection.reason and "\n" not in rejection.reason
        assert "unreadable record" not in rejection.reason
    if any(re.search(pattern, relative) for pattern in SILENT):
        assert batch.messages == () and batch.rejections == (), relative
    else:
        assert batch.messages or batch.rejections, relative
    for message in batch.messages:
        assert message.channel is Channel.FACEBOOK
        assert message.sent_at.tzinfo is UTC
        assert message.author.kind is IdentityKind.FACEBOOK
        assert message.provider_id
        assert message.surface in (Surface.MESSENGER, Surface.COMMENT)


def test_files_of_other_channels_are_left_to_their_parsers(tmp_path: Path) -> None:
    others = [
        p
        for folder in ("tweepy", "sns-python-twitter", "bear-python-twitter", "zammad-twitter")
        for p in corpus_files(folder)
    ]
    assert others
    assert [p for p in others if import_file(p) is not None] == []
    broken = tmp_path / "broken.json"
    broken.write_text('{"object": "page", "entry": [')
    binary = tmp_path / "blob.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    assert import_file(broken) is None
    assert import_file(binary) is None
    assert import_file(tmp_path / "missing.json") is not None  # unreadable: said, not raised


def test_conversation_threads_on_the_customer_psid() -> None:
    batch = _load("restfb", "json", "conversation.json")
    page, customer = "261743132120084", "120042743874449"  # the "sent" tag names the Page
    assert batch.account_hint == f"facebook:{page}"
    messages = _by_id(batch)
    assert {m.thread_key for m in messages.values()} == {f"fb:psid:{page}:{customer}"}
    ours, theirs = messages["m_id.291856400815314"], messages["m_id.378684585454124"]
    assert ours.direction is Direction.OUTBOUND and ours.author.display_name == "Participant One"
    assert theirs.direction is Direction.INBOUND and theirs.author.key == customer
    assert theirs.sent_at == datetime(2012, 4, 10, 17, 38, 58, tzinfo=UTC)
    assert theirs.meta["conversation_id"] == "t_id.378684585488220"
    pdf, jpeg = ours.attachments
    assert (pdf.filename, pdf.content_type, pdf.size) == ("somepdf.pdf", "application/pdf", 28824)
    assert jpeg.content_type == "image/jpeg" and jpeg.url and jpeg.url.startswith("https://fbcdn")


def test_the_page_id_of_the_account_decides_who_is_the_customer() -> None:
    batch = _load("restfb", "json", "conversation.json", page_id="120042743874449")
    assert batch.account_hint == "facebook:120042743874449"
    keys = {m.thread_key for m in batch.messages}
    assert keys == {"fb:psid:120042743874449:261743132120084"}
    assert {m.author.key: m.direction for m in batch.messages} == {
        "261743132120084": Direction.INBOUND,
        "120042743874449": Direction.OUTBOUND,
    }


def test_page_inbox_messages_keep_attachment_metadata() -> None:
    batch = _load(*SNS, "messages", "messages_info.json")
    image, video = sorted(batch.messages, key=lambda m: m.sent_at)
    assert image.thread_key == video.thread_key == "fb:psid:2121008874780932:2711636948859886"
    assert image.direction is Direction.INBOUND and image.author.display_name == "Kun Liu"
    assert [a.display_name for a in image.recipients] == ["MyLife"]
    (photo,) = image.attachments
    assert (photo.content_type, photo.size) == ("image/jpeg", 54542)
    assert photo.url and "fbcdn.net" in photo.url
    (clip,) = video.attachments
    assert clip.content_type == "video/mp4" and clip.filename == "video-1627035862.mp4"
    assert clip.url and clip.url.startswith("https://video")


def test_messages_without_a_time_are_rejected_not_dated_now() -> None:
    batch = _load("restfb", "json", "v2_5", "messages-with-attachments.json")
    assert batch.messages == ()
    assert len(batch.rejections) == 5
    assert all("no created_time" in r.reason for r in batch.rejections)
    assert "m_mid.12345678900:3911138c1ded9ef216" in batch.rejections[0].reason


def test_public_comments_in_many_languages_thread_on_their_post() -> None:
    first = _load(*SNS, "comments", "comments_p1.json")
    second = _load(*SNS, "comments", "comments_p2.json")
    comments = first.messages + second.messages
    assert len(comments) == 15 and len({m.provider_id for m in comments}) == 15
    assert {m.thread_key for m in comments} == {"fb:post:10158407654328553"}
    assert {m.surface for m in comments} == {Surface.COMMENT}
    assert first.account_hint == "facebook:19292868552"
    texts = {m.text for m in comments}
    assert "Boa noite peço ajuda  Como faço para usar a minha página como meu perfil?" in texts
    assert any("😕" in t for t in texts) and any("🎒🔮👻" in t for t in texts)
    # The response did not include "from": the author stays unknown rather than invented.
    assert {m.author.key for m in comments} == {""}


def test_a_reply_to_a_comment_names_its_parent() -> None:
    comments = _by_id(_load(*SNS, "comments", "comments_p1.json"))
    reply = comments["10158407654328553_10158409983033553"]
    assert reply.reply_to_id == "10158407654328553_10158407903973553"
    assert reply.reply_to_id in comments
    top = comments["10158407654328553_10158407903973553"]
    assert top.reply_to_id is None and top.meta["comment_count"] == "2"


def test_cursor_paging_is_read_from_the_payload() -> None:
    first = json.loads(corpus_dir(*SNS, "comments", "comments_p1.json").read_text("utf-8"))
    last = json.loads(corpus_dir(*SNS, "comments", "comments_p2.json").read_text("utf-8"))
    assert paging_of(first).has_next and paging_of(first).after == "after"
    assert not paging_of(last).has_next
    only_cursor = json.loads(
        corpus_dir("restfb", "json", "v2_2", "cursor_only_paging1.json").read_text("utf-8")
    )
    assert paging_of(only_cursor).after == "ODA5Mzg5NTEyNDI4MTI3"
    assert not paging_of(only_cursor).has_next  # cursors without "next": the list ended
    empty = _load("restfb", "json", "v2_2", "cursor_only_paging2.json")
    assert empty.messages == () and empty.rejections == ()
    assert paging_of({"data": []}).after is None


def test_comments_nested_in_page_posts_carry_the_post_as_context() -> None:
    batch = _load(*SNS, "posts", "multi_posts_data.json")
    assert len(batch.messages) == 16
    help_me = _by_id(batch)["19292868552_10158347294088553_10158347433613553"]
    assert help_me.text == "Help me 😢" and help_me.author.display_name == "Misheck Simfukwe"
    assert help_me.thread_key == "fb:post:10158347294088553"
    assert help_me.meta["post_id"] == "19292868552_10158347294088553"
    assert help_me.meta["post_message"].startswith("Despite reliable peering")
    assert help_me.direction is Direction.INBOUND


def test_a_visitor_post_is_the_root_of_its_comment_thread() -> None:
    batch = _load("restfb", "json", "post-with-normal-comments.json")
    post, comment = sorted(batch.messages, key=lambda m: m.sent_at)
    assert post.provider_id == "1234" and post.meta["root"] == "1"
    assert post.author.display_name == "Manuel Martin" and post.direction is Direction.INBOUND
    assert comment.thread_key == post.thread_key == "fb:post:1234"


def test_non_conversation_payloads_are_rejected_with_what_they_are() -> None:
    accounts = _load(*SNS, "users", "user_accounts_p1.json")
    assert accounts.messages == ()
    assert [r.reason for r in accounts.rejections] == [
        "nothing to import: 4 Page accounts (me/accounts), not conversations"
    ]
    (error,) = _load("sns-python-facebook", "testdata", "error.json").rejections
    assert error.reason == (
        "Graph error response: (#100) Pages Public Content Access requires either app secret "
        "proof or an app token"
    )
    (summary,) = _load(*SNS, "conversations", "cvses_info.json").rejections
    assert "2 conversation summaries without messages" in summary.reason


def test_graph_and_webhook_deliveries_of_one_thread_converge() -> None:
    page, psid = "2121008874780932", "2711636948859886"
    graph = _load(*SNS, "messages", "message_info.json")
    hook = parse_payload(
        {
            "object": "page",
            "entry": [
                {
                    "id": page,
                    "time": 1627033848000,
                    "messaging": [
                        {
                            "sender": {"id": psid},
                            "recipient": {"id": page},
                            "timestamp": 1627033848000,
                            "message": {"mid": "m_new", "text": "still there?"},
                        }
                    ],
                }
            ],
        },
        "hook",
    )
    assert graph.messages[0].thread_key == hook.messages[0].thread_key
    comment = _load(*SNS, "comments", "comment_info.json").messages[0]
    change = {
        "field": "feed",
        "value": {
            "item": "comment",
            "verb": "add",
            "comment_id": "10158371815748553_999",
            "post_id": "19292868552_10158371815748553",
            "parent_id": "19292868552_10158371815748553",
            "from": {"id": "42", "name": "Ana"},
            "created_time": 1627000000,
            "message": "me too",
        },
    }
    doc = {"object": "page", "entry": [{"id": "19292868552", "time": 1, "changes": [change]}]}
    (hooked,) = parse_payload(doc, "hook").messages
    assert hooked.thread_key == comment.thread_key == "fb:post:10158371815748553"
    assert hooked.reply_to_id is None
