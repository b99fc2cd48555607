"""Priority rules a team lead can read and edit, and the sentiment marker agents see."""

from __future__ import annotations

import pytest

from inbox.errors import InputError
from inbox.models import Priority
from inbox.triage.rules import (
    DEFAULT_RULES,
    TriageInput,
    describe,
    evaluate,
    load_rules,
    sentiment_colour,
    sentiment_label,
    sentiment_marker,
)

RULES = load_rules(DEFAULT_RULES)


def item(**kw: object) -> TriageInput:
    base: dict[str, object] = dict(conversation_id=1, sentiment=0.0, public=False, followers=None, vip=False,
                                   waiting_s=0.0)  # fmt: skip
    base.update(kw)
    return TriageInput(**base)  # type: ignore[arg-type]


def test_quiet_private_question_is_normal() -> None:
    result = evaluate(item(), RULES)
    assert result.priority is Priority.NORMAL and result.score == 0 and result.reasons == ()


def test_angry_public_influencer_is_urgent_and_says_why() -> None:
    result = evaluate(item(sentiment=-0.7, public=True, followers=48_000), RULES)
    assert result.priority is Priority.URGENT
    assert result.score == 30 + 15 + 20 + 25
    assert any("48000 followers" in r for r in result.reasons)
    assert any(r.startswith("public") for r in result.reasons)


def test_public_counts_more_than_private_and_vip_and_waiting_raise() -> None:
    dm = evaluate(item(sentiment=-0.3), RULES)
    mention = evaluate(item(sentiment=-0.3, public=True), RULES)
    assert mention.score > dm.score
    assert evaluate(item(vip=True), RULES).score == 30
    assert evaluate(item(waiting_s=5 * 3600), RULES).score == 10
    assert evaluate(item(waiting_s=100 * 3600), RULES).score == 30  # capped


def test_compliment_goes_low() -> None:
    assert evaluate(item(sentiment=0.8), RULES).priority is Priority.LOW


def test_edited_rules_change_the_outcome() -> None:
    text = DEFAULT_RULES.replace("vip = 30", "vip = 90")
    assert evaluate(item(vip=True), load_rules(text)).priority is Priority.URGENT
    as_json = load_rules('{"weights": {"public": 50}, "priority": {"high": 40}}')
    assert evaluate(item(public=True), as_json).priority is Priority.HIGH


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("[weights]\nvipp = 3\n", "unknown key weights.vipp"),
        ("[colours]\nred = 1\n", "unknown section"),
        ("[weights]\nvip = 'lots'\n", "must be a number"),
        ("[priority]\nurgent = 10\nhigh = 50\n", "urgent >= high"),
        ("[weights\n", "not valid TOML"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(text: str, reason: str) -> None:
    with pytest.raises(InputError) as err:
        load_rules(text, "rules.toml")
    assert reason in str(err.value) and "rules.toml" in str(err.value)


def test_describe_lists_every_rule() -> None:
    text = describe(RULES)
    assert "[weights]" in text and "influencer_followers = 10000" in text and "urgent = 80" in text


def test_marker_and_colour() -> None:
    assert sentiment_marker(None) == "" and sentiment_label(None) == ""
    assert sentiment_marker(-0.6) == "☹" and sentiment_colour(-0.6) == "#C5221F"
    assert sentiment_marker(-0.2) == "☹" and sentiment_colour(-0.2) == "#E37400"
    assert sentiment_marker(0.0) == "" and sentiment_colour(0.0) == ""
    assert sentiment_marker(0.7) == "☺" and sentiment_colour(0.7) == "#188038"
