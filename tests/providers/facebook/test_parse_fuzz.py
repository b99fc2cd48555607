"""Property tests: no JSON value, however odd, makes the Graph parser raise."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox.models import ParsedBatch
from inbox.providers.facebook.parse import parse_payload
from tests.corpus import corpus_files

#: Field names the parser looks at, so that generated objects reach its deeper branches.
KEYS = [
    "object", "entry", "id", "time", "messaging", "standby", "changes", "field", "value",
    "item", "verb", "comment_id", "post_id", "parent_id", "from", "sender_id", "sender_name",
    "message", "created_time", "sender", "recipient", "timestamp", "mid", "text", "is_echo",
    "is_deleted", "attachments", "payload", "url", "type", "coordinates", "reply_to",
    "postback", "title", "message_edit", "data", "paging", "cursors", "after", "next",
    "participants", "messages", "link", "tags", "name", "to", "permalink_url", "parent",
    "comments", "error", "code", "photos", "image_data", "mime_type", "size", "sticker",
    "shares", "attachment", "media", "image", "src", "target", "story", "quick_reply",
]  # fmt: skip
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        ["page", "add", "edited", "comment", "post", "feed", "m_1", "t_1", "1_2", "1_2_3",
         "mid.1:2", "2021-07-23T09:50:48+0000", "2021-13-99T99:99:99+0000", "template",
         "location", "https://www.facebook.com/1/posts/2/?comment_id=3&reply_comment_id=4"]
    ),
)  # fmt: skip
JSON = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(KEYS), st.text(max_size=5)), children, max_size=6
        ),
    ),
    max_leaves=40,
)


def _check(batch: ParsedBatch) -> None:
    assert isinstance(batch, ParsedBatch)
    for rejection in batch.rejections:
        assert "\n" not in rejection.reason
        assert "unreadable record" not in rejection.reason  # no reader raised internally
    for message in batch.messages:
        assert message.sent_at.utcoffset() is not None


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=JSON, page=st.one_of(st.none(), st.sampled_from(["", "1", "12345654332"])))
def test_arbitrary_json_never_raises(doc: Any, page: str | None) -> None:
    _check(parse_payload(doc, "fuzz", page))
    _check(parse_payload({"object": "page", "entry": [doc]}, "fuzz-entry", page))
    _check(parse_payload({"data": [doc], "paging": {}}, "fuzz-list", page))


@cache
def _samples() -> list[Any]:
    """The restfb payloads (the corpus is read inside a test, so that its absence skips)."""
    return [json.loads(p.read_text("utf-8")) for p in corpus_files("restfb", suffixes=(".json",))]


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, child in node.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(node, list):
        for index, child in enumerate(node):
            found += _paths(child, (*prefix, index))
    return found


@settings(max_examples=300, deadline=None)
@given(data=st.data(), junk=JSON)
def test_corpus_payloads_with_one_field_replaced_never_raise(
    data: st.DataObject, junk: Any
) -> None:
    doc = json.loads(json.dumps(data.draw(st.sampled_from(_samples()))))
    path = data.draw(st.sampled_from(_paths(doc)))
    if not path:
        doc = junk
    else:
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        parent[path[-1]] = junk
    _check(parse_payload(doc, "mutated"))
