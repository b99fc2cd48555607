"""Canned responses: placeholders filled per conversation, accent-insensitive ranked search."""

from __future__ import annotations

import pytest

from inbox.errors import InputError
from inbox.replies.canned import (
    CannedResponse,
    context_for,
    expand,
    expansion,
    first_name,
    fold,
    parse_tags,
    search,
    unknown_placeholders,
    validated,
)

RESPONSES = [
    CannedResponse(
        1, "Remboursement effectué", "Bonjour {first_name}, c'est fait.", "fr", ("commande",)
    ),
    CannedResponse(
        2,
        "Refund issued",
        "Hello {first_name}, your refund for order {order} is done.",
        "en",
        ("refund",),
    ),
    CannedResponse(
        3,
        "Retard de livraison",
        "Votre commande {order} est en retard, remboursement possible.",
        "fr",
        ("livraison",),
    ),
    CannedResponse(4, "Clôture", "Demande n° {conversation_number} résolue.", "fr", ("clôture",)),
    CannedResponse(5, "Delivery delay", "Your parcel is late.", "en", ("delivery", "order")),
]


def test_placeholders_are_filled_from_the_conversation() -> None:
    ctx = context_for(
        customer_name="Léa Martin", agent_name="Camille", conversation_number=42, order="A-4411"
    )
    body = "Bonjour {first_name},\nCommande {order} (demande {conversation_number}).\n{agent_name}"
    assert expand(body, ctx) == "Bonjour Léa,\nCommande A-4411 (demande 42).\nCamille"


def test_unknown_and_empty_placeholders_stay_visible_and_are_reported() -> None:
    ctx = context_for(customer_name="lea@customer.test", agent_name="Camille")
    result = expansion("Hello {first_name}, order {order} {ordr} {order}. {agent_name}", ctx)
    assert result.text == "Hello {first_name}, order {order} {ordr} {order}. Camille"
    assert result.missing == ("first_name", "order", "ordr")


def test_double_braces_are_literal_and_odd_braces_are_kept() -> None:
    assert (
        expand("{{first_name}} {first_name} {not closed", {"first_name": "Léa"})
        == "{first_name} Léa {not closed"
    )
    assert expand("}{", {}) == "}{"


@pytest.mark.parametrize(
    ("name", "first"),
    [
        ("Léa Martin", "Léa"),
        ("  Jean-Pierre  Dupont ", "Jean-Pierre"),
        ("lea@example.fr", ""),
        ("user123", ""),
        ("", ""),
    ],
)
def test_first_name(name: str, first: str) -> None:
    assert first_name(name) == first


def test_search_ignores_accents_and_case() -> None:
    assert [r.id for r in search(RESPONSES, "CLOTURE", "fr")] == [4]
    assert [r.id for r in search(RESPONSES, "effectue", None)] == [1]
    assert fold("Réponse À ß") == "reponse a ss"


def test_search_ranks_title_before_body_and_needs_every_word() -> None:
    # "rembours" is a title word of 1 and only in the body of 3
    assert [r.id for r in search(RESPONSES, "rembours", "fr")] == [1, 3]
    assert [r.id for r in search(RESPONSES, "rembours retard", "fr")] == [3]
    assert search(RESPONSES, "rembours nothing", "fr") == []


def test_search_finds_tags_and_filters_language() -> None:
    assert [r.id for r in search(RESPONSES, "order", "en")] == [5, 2]  # tag beats body
    assert [r.id for r in search(RESPONSES, "", "en")] == [5, 2]  # by title
    assert len(search(RESPONSES, "", None)) == len(RESPONSES)


def test_validated_names_the_bad_field() -> None:
    with pytest.raises(InputError, match="^title:"):
        validated("  ", "body", "fr")
    with pytest.raises(InputError, match="^body:"):
        validated("T", " \n ", "fr")
    with pytest.raises(InputError, match="^lang:"):
        validated("T", "B", "de")
    ok = validated("  Refund   issued ", "B", "EN", "Refund, order,refund, ")
    assert (ok.title, ok.lang, ok.tags) == ("Refund issued", "en", ("refund", "order"))


def test_typos_in_placeholders_are_found() -> None:
    assert unknown_placeholders("Hi {frist_name} {first_name} {{literal}}") == ("frist_name",)
    assert parse_tags(["A ", "a", "", "b  c"]) == ("a", "b c")


def test_placeholder_names_are_not_searched() -> None:
    assert search(RESPONSES, "first_name", None) == []
