"""Crisis detection: a burst of negative public messages, compared with the usual level.

A pure function of scored messages and an instant. In the window ending at ``now`` it counts
public messages and the negative ones among them. The usual level is the higher of two
baselines, so that neither a daily rhythm nor a steady busy afternoon raises an alarm:

* the same window of the day on each of the previous ``baseline_days`` days (mean count);
* the ``recent_windows`` windows just before this one (mean count).

It fires when both the rate and the share of negative messages are unusual: the negative count
reaches ``min_negative`` and at least ``rate_factor`` times the usual level (never less than
``floor_per_window``), and the negative share of public messages in the window is at least the
usual share (over the previous ``baseline_days``) plus ``share_rise``, and never below
``min_share``. A surge of ordinary traffic (a campaign, a busy morning) therefore stays quiet:
more messages, but no more unhappy ones in proportion.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from inbox.triage.rules import NEGATIVE_BELOW


@dataclass(frozen=True, slots=True)
class Signal:
    """One scored customer message."""

    message_id: int
    at: datetime
    sentiment: float
    public: bool


@dataclass(frozen=True, slots=True)
class CrisisRules:
    window: timedelta = timedelta(hours=1)
    baseline_days: int = 7
    recent_windows: int = 6
    negative_below: float = NEGATIVE_BELOW
    min_negative: int = 5
    rate_factor: float = 3.0
    floor_per_window: float = 1.0
    min_share: float = 0.5
    share_rise: float = 0.25
    default_share: float = 0.5  # the usual share assumed with under ``min_history`` messages
    min_history: int = 20


@dataclass(frozen=True, slots=True)
class CrisisAlert:
    """Why the alert fired, and the messages behind it (negative public ones, oldest first)."""

    at: datetime
    window_s: float
    negative: int
    public: int
    share: float
    usual_negative: float  # the level compared with (negative public messages per window)
    usual_share: float
    daily_baseline: float
    recent_baseline: float
    message_ids: tuple[int, ...] = field(default=())

    def detail(self) -> dict[str, object]:
        """JSON-ready detail for the alert row."""
        return {
            "window_s": self.window_s,
            "negative": self.negative,
            "public": self.public,
            "share": round(self.share, 3),
            "usual_negative": round(self.usual_negative, 3),
            "usual_share": round(self.usual_share, 3),
            "daily_baseline": round(self.daily_baseline, 3),
            "recent_baseline": round(self.recent_baseline, 3),
            "rate_per_hour": round(self.negative * 3600 / self.window_s, 2),
            "message_ids": list(self.message_ids),
        }


def _negatives(signals: Sequence[Signal], start: datetime, end: datetime, below: float) -> int:
    return sum(1 for s in signals if s.public and start < s.at <= end and s.sentiment <= below)


def detect(
    signals: Sequence[Signal], now: datetime, rules: CrisisRules | None = None
) -> CrisisAlert | None:
    """A :class:`CrisisAlert` when the window ending at ``now`` is a burst, else ``None``."""
    rules = rules or CrisisRules()
    w = rules.window
    start = now - w
    public = [s for s in signals if s.public and start < s.at <= now]
    negative = sorted(
        (s for s in public if s.sentiment <= rules.negative_below),
        key=lambda s: (s.at, s.message_id),
    )
    daily = [
        _negatives(
            signals, start - timedelta(days=d), now - timedelta(days=d), rules.negative_below
        )
        for d in range(1, rules.baseline_days + 1)
    ]
    recent = [
        _negatives(signals, start - w * k, now - w * k, rules.negative_below)
        for k in range(1, rules.recent_windows + 1)
    ]
    daily_mean = sum(daily) / len(daily) if daily else 0.0
    recent_mean = sum(recent) / len(recent) if recent else 0.0
    usual = max(daily_mean, recent_mean, rules.floor_per_window)
    share = len(negative) / len(public) if public else 0.0
    history = [
        s for s in signals if s.public and now - timedelta(days=rules.baseline_days) < s.at <= start
    ]
    if len(history) >= rules.min_history:
        usual_share = sum(1 for s in history if s.sentiment <= rules.negative_below) / len(history)
    else:
        usual_share = rules.default_share
    needed_share = min(0.95, max(rules.min_share, usual_share + rules.share_rise))
    if (
        len(negative) < rules.min_negative
        or len(negative) < rules.rate_factor * usual
        or share < needed_share
    ):
        return None
    return CrisisAlert(
        at=now, window_s=w.total_seconds(), negative=len(negative), public=len(public), share=share,
        usual_negative=usual, usual_share=usual_share, daily_baseline=daily_mean,
        recent_baseline=recent_mean, message_ids=tuple(s.message_id for s in negative),
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An alert row for the team lead (``kind`` "crisis"; ``detail`` as :meth:`CrisisAlert.detail`)."""

    id: int
    kind: str
    at: datetime
    detail: Mapping[str, object]
    acknowledged: bool


def beyond(alert: CrisisAlert, earlier: Sequence[StoredAlert]) -> tuple[int, ...]:
    """The negative messages behind ``alert`` that none of the ``earlier`` alerts covered."""
    covered: set[int] = set()
    for stored in earlier:
        ids = stored.detail.get("message_ids")
        if isinstance(ids, list):
            covered.update(int(i) for i in ids if isinstance(i, int))
    return tuple(m for m in alert.message_ids if m not in covered)
