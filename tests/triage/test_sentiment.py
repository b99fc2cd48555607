"""Sentiment accuracy on hand-labelled French and English support messages.

The set has two parts: ``dev`` messages, seen while writing the complaint cues of
``inbox.triage.sentiment_textblob``, and ``holdout`` messages written afterwards and never tuned on, so
the holdout figure is the honest estimate. Run with ``-s`` to see the figures and confusions.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from inbox.triage.rules import sentiment_label
from inbox.triage.sentiment_textblob import analyse, lexicon_score, score

DATA = Path(__file__).parents[1] / "data" / "sentiment_labelled.jsonl"
ROWS = [json.loads(line) for line in DATA.read_text("utf-8").splitlines() if line.strip()]


def _accuracy(
    rows: list[dict[str, str]], scorer: str = "full"
) -> tuple[float, Counter[tuple[str, str]]]:
    confusion: Counter[tuple[str, str]] = Counter()
    for r in rows:
        value = (
            score(r["text"], r["lang"]) if scorer == "full" else lexicon_score(r["text"], r["lang"])
        )
        confusion[(r["label"], sentiment_label(value))] += 1
    right = sum(n for (want, got), n in confusion.items() if want == got)
    return right / len(rows), confusion


def _report(name: str, rows: list[dict[str, str]]) -> tuple[float, float]:
    full, confusion = _accuracy(rows)
    raw, _ = _accuracy(rows, "lexicon")
    mistakes = ", ".join(
        f"{want}->{got}: {n}" for (want, got), n in sorted(confusion.items()) if want != got
    )
    print(
        f"\n{name}: {len(rows)} messages, accuracy {full:.1%} (TextBlob alone {raw:.1%}); confusions {mistakes}"
    )
    return full, raw


def test_the_labelled_set_is_big_enough_and_balanced() -> None:
    langs = Counter(r["lang"] for r in ROWS)
    labels = Counter(r["label"] for r in ROWS)
    assert len(ROWS) >= 60 and langs["fr"] >= 30 and langs["en"] >= 30
    assert min(labels.values()) >= 20
    assert sum(1 for r in ROWS if r.get("note") == "irony") >= 6
    assert sum(1 for r in ROWS if "negation" in r.get("note", "")) >= 5


def test_accuracy_per_language_and_split() -> None:
    dev = [r for r in ROWS if r.get("split") != "holdout"]
    holdout = [r for r in ROWS if r.get("split") == "holdout"]
    figures = {}
    for lang in ("en", "fr"):
        figures[lang] = _report(f"dev {lang}", [r for r in dev if r["lang"] == lang])
    dev_full, dev_raw = _report("dev all", dev)
    hold_full, hold_raw = _report("holdout all", holdout)
    _report("all", ROWS)
    # Floors this version reaches (measured: dev 91.7%, holdout 65%); a regression fails here.
    assert dev_full >= 0.88
    assert figures["en"][0] >= 0.85 and figures["fr"][0] >= 0.85
    assert hold_full >= 0.6
    assert dev_full > dev_raw and hold_full >= hold_raw


@pytest.mark.parametrize(
    ("text", "label"),
    [
        ("Great, another week without my parcel. Thanks a lot.", "negative"),  # irony with a cue
        ("Super, trois semaines d'attente pour un croissant, merci beaucoup.", "negative"),
        ("Not bad at all, the tart was actually delicious.", "positive"),  # negated negative
        ("Je ne suis pas content du tout, c'est nul.", "negative"),  # French negation
        ("Hi, do you deliver on Sundays?", "neutral"),
    ],
)
def test_irony_and_negation_examples(text: str, label: str) -> None:
    lang, value = analyse(text)
    assert sentiment_label(value) == label, (lang, value)


def test_scores_stay_in_range_on_odd_text() -> None:
    for text in ("", "😍" * 500, "!!!???", "a" * 10_000, "\x00\x01", "NON NON NON"):
        lang, value = analyse(text)
        assert -1.0 <= value <= 1.0 and lang in ("", "en", "fr")
