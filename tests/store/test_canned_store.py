"""Canned responses in the store: add, edit, delete, and the defaults a new workspace gets once."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from inbox.errors import InputError
from inbox.replies.canned import LANGUAGES, CannedResponse, expansion, search, unknown_placeholders
from inbox.store import canned_store
from inbox.store.repository import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "inbox.db")
    yield s
    s.close()


def test_add_edit_delete_survive_reopening(tmp_path: Path, store: Store) -> None:
    added = canned_store.add(store, "Refund issued", "Hello {first_name}", "en", "Refund, order")
    assert added.id > 0 and added.tags == ("refund", "order")
    canned_store.update(
        store, CannedResponse(added.id, "Refund done", "Hi {first_name}", "fr", ("a",))
    )
    store.close()
    again = Store.open(tmp_path / "inbox.db")
    try:
        [row] = canned_store.list_responses(again)
        assert (row.title, row.body, row.lang, row.tags) == (
            "Refund done",
            "Hi {first_name}",
            "fr",
            ("a",),
        )
        assert canned_store.delete(again, row.id) is True
        assert canned_store.delete(again, row.id) is False
        assert canned_store.list_responses(again) == []
    finally:
        again.close()


def test_bad_input_is_refused_with_the_field_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(InputError, match="^title:"):
        canned_store.add(store, "", "body", "fr")
    with pytest.raises(InputError, match="no such response"):
        canned_store.update(store, CannedResponse(999, "T", "B", "fr"))
    assert canned_store.list_responses(store) == []


def test_list_filters_by_language(store: Store) -> None:
    canned_store.add(store, "Bonjour", "Bonjour", "fr")
    canned_store.add(store, "Hello", "Hello", "en")
    assert [r.title for r in canned_store.list_responses(store, "fr")] == ["Bonjour"]


def test_a_broken_row_is_listed_with_what_can_be_read(store: Store) -> None:
    store._write(
        lambda db: db.execute(
            "INSERT INTO canned_responses (title, body, lang, tags, updated_at) VALUES (?,?,?,?,?)",
            ["Odd", "Text", " FR ", " A ,, b ", "x"],
        )
    )
    canned_store.add(store, "Fine", "Text", "en")
    rows = canned_store.list_responses(store)
    assert [(r.title, r.lang, r.tags) for r in rows] == [
        ("Fine", "en", ()),
        ("Odd", "fr", ("a", "b")),
    ]


def test_defaults_are_installed_once_in_both_languages(store: Store) -> None:
    installed = canned_store.ensure_defaults(store)
    rows = canned_store.list_responses(store)
    assert installed == len(rows) >= 10
    assert {r.lang for r in rows} == set(LANGUAGES)
    for row in rows:
        assert unknown_placeholders(row.body) == (), row.title
    # the agent searches in French without accents and finds the refund response
    assert search(rows, "rembourse", "fr")[0].title == "Remboursement effectué"
    assert expansion(search(rows, "refund", "en")[0].body, {"first_name": "Léa"}).missing == (
        "order",
        "agent_name",
    )
    assert canned_store.ensure_defaults(store) == 0
    for row in rows:
        canned_store.delete(store, row.id)
    assert canned_store.ensure_defaults(store) == 0  # deleted on purpose: they do not come back
    assert canned_store.list_responses(store) == []


def test_defaults_are_not_added_to_a_workspace_that_has_responses(store: Store) -> None:
    canned_store.add(store, "Ours", "Our own text", "fr")
    assert canned_store.ensure_defaults(store) == 0
    assert [r.title for r in canned_store.list_responses(store)] == ["Ours"]


def test_library_gives_the_ui_what_it_needs(store: Store) -> None:
    library = canned_store.CannedLibrary(store)
    added = library.add("T", "B", "fr", ["x"])
    assert library.responses() == [added]
    library.update(CannedResponse(added.id, "T2", "B", "fr", ()))
    assert library.responses()[0].title == "T2"
    library.delete(added.id)
    assert library.responses() == []
