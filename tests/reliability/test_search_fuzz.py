"""Any text a user types into search: FTS5 syntax, quotes, NUL, huge strings. Never an error,
and what was found really contains the words."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox.store.repository import Store
from tests.factories import MAILBOX, mail
from tests.reliability import figures

FTS_NOISE = [
    '"',
    "'",
    "*",
    "(",
    ")",
    ":",
    "^",
    "-",
    "+",
    "AND",
    "OR",
    "NOT",
    "NEAR",
    "NEAR(",
    "{",
    "}",
    "\\",
    "\x00",
    "subject:",
    "text:",
    " ",
    "\u202e",
    "🙂",
    "é",
    "%",
    "_",
]


@pytest.fixture(scope="module")
def store() -> Iterator[Store]:
    s = Store.open(":memory:")
    s.save_account(MAILBOX)
    s.ingest(
        MAILBOX,
        [
            mail("a@x", text='Parcel "broken" (order 4411) AND refund?', subject="NEAR world."),
            mail(
                "b@x",
                sender="paul@example.org",
                text="Café crème: l'été * NOT",
                subject="Réclamation",
            ),
            mail("c@x", sender="zoe@example.org", text="plain words only", subject="Hello"),
        ],
    )
    yield s
    s.close()


user_text = st.one_of(
    st.text(max_size=200),
    st.lists(st.sampled_from(FTS_NOISE) | st.text(max_size=8), max_size=40).map("".join),
    st.integers(min_value=4000, max_value=200_000).map(lambda n: "a(" * (n // 2)),
)


@settings(
    max_examples=figures.SEARCH_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(query=user_text)
def test_any_query_returns_results_or_nothing_never_an_error(store: Store, query: str) -> None:
    hits = store.search(query)
    ids = store.search_conversation_ids(query)
    assert {h.conversation_id for h in hits} <= set(ids)
    assert len(hits) <= 50
    figures.add("search_queries_fuzzed", 2)


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ('"broken"', 1),
        ("4411", 1),
        ("AND(", 1),
        ("NEAR world.", 1),
        ("cafe", 1),
        ("crème l'été", 1),
        ('"plain words"', 1),
        ('"words plain"', 0),
        ("*", 0),
        ("", 0),
    ],
)
def test_typed_syntax_is_text(store: Store, query: str, found: int) -> None:
    assert len(store.search_conversation_ids(query)) == found
