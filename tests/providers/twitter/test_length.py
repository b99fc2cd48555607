"""X's weighted post length, which decides whether a reply may be sent."""

from __future__ import annotations

import pytest

from inbox.providers.twitter import MAX_TWEET_LENGTH, weighted_length


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello", 5),
        ("a" * 280, 280),
        ("日本語のテキスト", 16),  # CJK counts 2
        ("한국어", 6),
        ("Привет", 6),  # Cyrillic is in the light range
        ("“quoted” – ok", 13),  # quotes and dashes (U+2010-U+201F) count 1
        ("ok…", 4),  # but the ellipsis U+2026 is outside the light ranges
        ("e\u0301", 1),  # NFC: e + combining accent is one character
        ("👍", 2),
        ("👍🏽", 2),  # skin tone modifier belongs to the emoji
        ("👨\u200d👩\u200d👧", 2),  # a ZWJ family is one emoji
        ("🇫🇷", 2),  # a flag is a pair of regional indicators
        ("1\ufe0f\u20e3", 2),  # keycap
        ("https://example.com/" + "x" * 100, 23),
        ("see example.com/help now", 4 + 23 + 4),
        ("mail bob@example.com", 20),  # an address is not a URL
        ("http://a.co http://b.co", 23 + 1 + 23),
    ],
)
def test_weighted_length_follows_x_counting(text: str, expected: int) -> None:
    assert weighted_length(text) == expected


def test_limit_is_280_and_cjk_fits_half_as_many_characters() -> None:
    assert MAX_TWEET_LENGTH == 280
    assert weighted_length("字" * 140) == 280
    assert weighted_length("字" * 141) > MAX_TWEET_LENGTH
