"""Which language a customer wrote in, from stopwords and letters only."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inbox.triage.language import detect_language

DATA = Path(__file__).parents[1] / "data" / "sentiment_labelled.jsonl"


def test_every_labelled_message_gets_its_language() -> None:
    rows = [json.loads(line) for line in DATA.read_text("utf-8").splitlines() if line.strip()]
    wrong = [r["text"] for r in rows if detect_language(r["text"]) != r["lang"]]
    print(f"language detection: {len(rows) - len(wrong)}/{len(rows)} right")
    assert len(wrong) <= len(rows) // 50, wrong


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("j'ai reçu un colis abîmé", "fr"),
        ("I've got a damaged parcel", "en"),
        ("Où est ma commande ?", "fr"),
        ("where's my order??", "en"),
        ("Ça a l'air délicieux 😍", "fr"),
        ("@BriocheCo thanks!!!", "en"),
    ],
)
def test_short_messages(text: str, lang: str) -> None:
    assert detect_language(text) == lang


@pytest.mark.parametrize("text", ["", "😍😍", "BR-48213", "https://example.org/x/y"])
def test_no_evidence_is_unknown(text: str) -> None:
    assert detect_language(text) == ""
