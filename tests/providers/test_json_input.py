"""Untrusted JSON within limits: the depth measured before decoding is the real depth, documents
over the limit and broken JSON are refused with one-line reasons, JSON lines are read one bounded
line at a time."""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbox.providers.json_input import (
    MAX_DEPTH,
    JsonLine,
    JsonRefused,
    json_lines,
    loads,
    nesting_depth,
)

TRICKY_TEXT = st.text(alphabet=st.sampled_from(list('[]{}"\\ab\n\u2028é')), max_size=12)
VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY_TEXT, inner, max_size=3),
    max_leaves=30,
)


def depth_of(value: object) -> int:
    if isinstance(value, list):
        return 1 + max((depth_of(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth_of(v) for v in value.values()), default=0)
    return 0


@settings(max_examples=300, deadline=None)
@given(VALUES, st.booleans())
def test_the_measured_depth_is_the_real_depth(value: object, ascii_only: bool) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=None if ascii_only else 1)
    assert nesting_depth(text) == depth_of(value)


def test_the_depth_limit_is_applied_before_decoding() -> None:
    at_limit = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert nesting_depth(at_limit) == MAX_DEPTH
    assert loads(at_limit) is not None
    with pytest.raises(JsonRefused) as too_deep:
        loads("[" * 100_000)  # unclosed, as a truncated file: still measured, never decoded
    assert too_deep.value.reason == "JSON nested 100000 levels deep (the limit is 100)"
    assert loads('{"a": "[[[[[[' + "[" * 200 + '"}') == {"a": "[" * 206}  # brackets in a string


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"data":[{"id":"1","text":"cut', "invalid JSON: Unterminated string starting at (line 1, column 27)"),
        ("[1,\n2", "invalid JSON: Expecting ',' delimiter (line 2, column 2)"),
        ("", "invalid JSON: Expecting value (line 1, column 1)"),
        ("1" * 5000, "invalid JSON: Exceeds the limit (4300 digits) for integer string conversion: value"),
    ],
)
def test_broken_json_is_refused_with_one_line(text: str, reason: str) -> None:
    with pytest.raises(JsonRefused) as refused:
        loads(text)
    assert refused.value.reason.startswith(reason)
    assert "\n" not in refused.value.reason


def test_json_lines_are_numbered_as_in_the_file_and_bounded() -> None:
    stream = io.BytesIO(
        b'\xef\xbb\xbf{"a": 1}\n'  # a byte order mark on the first line
        b"\n"
        b'{"b": "\xe2\x80\xa8 stays one line"}\n'  # U+2028 inside a string is not a line break
        + b"[" * 300
        + b"\n"
        + b'{"c": "' + b"x" * 5000 + b'"}\n'
        b'{"d": 4}'
    )
    found = list(json_lines(stream, max_line=1000))
    assert found == [
        JsonLine(1, {"a": 1}),
        JsonLine(3, {"b": "\u2028 stays one line"}),
        JsonLine(4, refused="JSON nested 300 levels deep (the limit is 100)"),
        JsonLine(5, refused="line longer than 1,000 bytes"),
        JsonLine(6, {"d": 4}),
    ]
