"""Triage: how a message's sentiment is shown, and the priority rules a team lead can read and edit.

The rules are a short TOML (or JSON) text kept in the workspace settings. A conversation's score
is the sum of the weights that apply to it (negative sentiment, a public surface, an influencer,
a VIP customer, time waiting); thresholds turn the score into a priority. Every weight that
applied is returned as a reason, so the agent sees why. A priority an agent set is never touched.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inbox.errors import InputError
from inbox.models import Priority

#: Below this a message is negative, above ``POSITIVE_ABOVE`` positive (scores are -1..1).
NEGATIVE_BELOW = -0.1
POSITIVE_ABOVE = 0.1


def sentiment_label(score: float | None) -> str:
    """``"negative"``, ``"neutral"``, ``"positive"``, or ``""`` when not scored yet."""
    if score is None:
        return ""
    if score <= NEGATIVE_BELOW:
        return "negative"
    if score >= POSITIVE_ABOVE:
        return "positive"
    return "neutral"


def sentiment_marker(score: float | None) -> str:
    """A discreet marker for a row: "☹" for negative, "☺" for clearly positive, else ""."""
    if score is None:
        return ""
    if score <= NEGATIVE_BELOW:
        return "☹"
    if score >= 0.4:
        return "☺"
    return ""


def sentiment_colour(score: float | None) -> str:
    """The marker's colour (hex): red, deeper when very negative; green when positive."""
    if score is None or NEGATIVE_BELOW < score < 0.4:
        return ""
    if score <= -0.5:
        return "#C5221F"
    if score < 0:
        return "#E37400"
    return "#188038"


DEFAULT_RULES = """\
# Triage rules: a conversation's score is the sum of the weights that apply to it.
# The priority is the highest level whose threshold the score reaches.
# A priority set by an agent is never changed by these rules.

[weights]
negative = 30           # the latest customer message is negative (sentiment <= negative_below)
very_negative = 15      # ... and very negative (sentiment <= very_negative_below)
positive = -10          # the latest customer message is clearly positive
public = 20             # posted publicly: an X mention or a Facebook comment
influencer = 25         # the author has at least influencer_followers followers
vip = 30                # the customer is marked VIP
waiting_per_hour = 2    # per hour since the oldest unanswered customer message
waiting_max = 30        # cap on the waiting weight

[thresholds]
negative_below = -0.1
very_negative_below = -0.5
positive_above = 0.4
influencer_followers = 10000

[priority]              # the minimum score of each level
urgent = 80
high = 45
normal = 0              # below normal: low
"""


@dataclass(frozen=True, slots=True)
class TriageRules:
    negative: float = 30
    very_negative: float = 15
    positive: float = -10
    public: float = 20
    influencer: float = 25
    vip: float = 30
    waiting_per_hour: float = 2
    waiting_max: float = 30
    negative_below: float = -0.1
    very_negative_below: float = -0.5
    positive_above: float = 0.4
    influencer_followers: float = 10000
    urgent: float = 80
    high: float = 45
    normal: float = 0


_SECTIONS = {
    "weights": ("negative", "very_negative", "positive", "public", "influencer", "vip", "waiting_per_hour",
                "waiting_max"),
    "thresholds": ("negative_below", "very_negative_below", "positive_above", "influencer_followers"),
    "priority": ("urgent", "high", "normal"),
}  # fmt: skip


def load_rules(text: str, source: str = "triage rules") -> TriageRules:
    """Parse rules (TOML, or JSON when the text starts with "{"); unknown keys are refused."""
    try:
        data: Mapping[str, Any] = (
            json.loads(text) if text.lstrip().startswith("{") else tomllib.loads(text)
        )
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        raise InputError(source, f"not valid TOML or JSON: {exc}") from None
    values: dict[str, float] = {}
    for section, value in data.items():
        if section not in _SECTIONS or not isinstance(value, Mapping):
            raise InputError(
                source, f"unknown section [{section}] (expected weights, thresholds, priority)"
            )
        for key, number in value.items():
            if key not in _SECTIONS[section]:
                raise InputError(source, f"unknown key {section}.{key}")
            if isinstance(number, bool) or not isinstance(number, int | float):
                raise InputError(source, f"{section}.{key} must be a number")
            values[key] = float(number)
    rules = TriageRules(**values)
    if not rules.urgent >= rules.high >= rules.normal:
        raise InputError(source, "priority thresholds must satisfy urgent >= high >= normal")
    return rules


def describe(rules: TriageRules) -> str:
    """The rules in force, one ``name = value`` per line, grouped as in the file."""
    lines: list[str] = []
    for section, keys in _SECTIONS.items():
        lines.append(f"[{section}]")
        lines.extend(f"{key} = {getattr(rules, key):g}" for key in keys)
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class TriageInput:
    """What the rules look at for one conversation."""

    conversation_id: int
    sentiment: float | None  # of the latest customer message
    public: bool
    followers: int | None
    vip: bool
    waiting_s: float  # since the oldest unanswered customer message (0 when answered)
    agent_priority: bool = False  # an agent set the priority: the rules leave it alone


#: The author of the priority events triage writes; a priority by any other author is an agent's.
TRIAGE_ACTOR = "triage"


@dataclass(frozen=True, slots=True)
class TriageResult:
    conversation_id: int
    score: float
    priority: Priority
    reasons: tuple[str, ...]
    keep_agent_priority: bool

    def replaces_priority(self, current: str, source: str) -> bool:
        """Whether this priority replaces a conversation's ``current`` one, set by ``source``
        (``agent`` or ``auto``): never one an agent set, nor the same one again."""
        return not (self.keep_agent_priority or source == "agent" or current == self.priority.value)


def evaluate(item: TriageInput, rules: TriageRules) -> TriageResult:
    """The score, the priority it maps to and the reasons, for one conversation."""
    score = 0.0
    reasons: list[str] = []

    def add(weight: float, reason: str) -> None:
        nonlocal score
        if weight:
            score += weight
            reasons.append(f"{reason} ({weight:+g})")

    s = item.sentiment
    if s is not None and s <= rules.negative_below:
        add(rules.negative, "negative")
        if s <= rules.very_negative_below:
            add(rules.very_negative, "very negative")
    elif s is not None and s >= rules.positive_above:
        add(rules.positive, "positive")
    if item.public:
        add(rules.public, "public")
    if item.followers is not None and item.followers >= rules.influencer_followers:
        add(rules.influencer, f"{item.followers} followers")
    if item.vip:
        add(rules.vip, "VIP")
    hours = max(0.0, item.waiting_s) / 3600
    add(round(min(rules.waiting_max, hours * rules.waiting_per_hour), 1), f"waiting {hours:.1f} h")
    return TriageResult(item.conversation_id, round(score, 1), priority_for(score, rules), tuple(reasons),
                        item.agent_priority)  # fmt: skip


def priority_for(score: float, rules: TriageRules) -> Priority:
    if score >= rules.urgent:
        return Priority.URGENT
    if score >= rules.high:
        return Priority.HIGH
    if score >= rules.normal:
        return Priority.NORMAL
    return Priority.LOW
