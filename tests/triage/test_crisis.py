"""The crisis detector: a burst of negative public messages against the usual level."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from inbox.triage.crisis import CrisisRules, Signal, detect

NOW = datetime(2026, 11, 23, 15, 0, tzinfo=UTC)


def steady_week(per_hour: int = 4, negative_every: int = 4) -> list[Signal]:
    """A week of ordinary traffic: ``per_hour`` public messages, one in ``negative_every`` negative."""
    out = []
    n = 0
    for minute in range(0, 7 * 24 * 60, 60 // per_hour):
        n += 1
        at = NOW - timedelta(hours=1) - timedelta(minutes=minute)
        out.append(Signal(n, at, -0.6 if n % negative_every == 0 else 0.2, True))
    return out


def burst(start_id: int, count: int, negative: int) -> list[Signal]:
    return [
        Signal(start_id + i, NOW - timedelta(minutes=55) + timedelta(minutes=i * 50 / count),
               -0.7 if i < negative else 0.3, True)
        for i in range(count)
    ]  # fmt: skip


def test_fires_on_a_burst_with_the_messages_behind_it() -> None:
    signals = steady_week() + burst(10_000, 20, 18)
    alert = detect(signals, NOW)
    assert alert is not None
    assert alert.negative == 18 and alert.public == 20
    assert alert.message_ids == tuple(range(10_000, 10_018))
    detail = alert.detail()
    assert detail["rate_per_hour"] == 18.0 and detail["usual_negative"] == 1.0
    assert 0.2 < float(str(detail["usual_share"])) < 0.3


def test_quiet_on_an_ordinary_hour() -> None:
    signals = steady_week() + burst(10_000, 4, 1)
    assert detect(signals, NOW) is None


def test_quiet_when_only_volume_rises_not_the_share_of_unhappy_messages() -> None:
    signals = steady_week() + burst(10_000, 40, 10)  # a campaign: 10x traffic, usual 25% negative
    assert detect(signals, NOW) is None


def test_private_messages_do_not_count() -> None:
    private = [Signal(20_000 + i, NOW - timedelta(minutes=i), -0.9, False) for i in range(30)]
    assert detect(steady_week() + private, NOW) is None


def test_the_same_hour_on_previous_days_sets_the_usual_level() -> None:
    # Every day at this hour 12 negative public messages arrive: 15 today is not a crisis.
    daily = [
        Signal(30_000 + d * 100 + i, NOW - timedelta(days=d, minutes=50 - i * 3), -0.5, True)
        for d in range(1, 8) for i in range(12)
    ]  # fmt: skip
    today = burst(10_000, 15, 15)
    assert detect(steady_week() + daily + today, NOW) is None
    assert detect(steady_week() + today, NOW) is not None


def test_no_history_needs_a_clear_majority_and_a_minimum() -> None:
    assert detect(burst(1, 4, 4), NOW) is None  # under min_negative
    assert detect(burst(1, 10, 6), NOW) is None  # 60% < 50% + 25%
    assert detect(burst(1, 10, 9), NOW) is not None
    assert detect(burst(1, 10, 9), NOW, CrisisRules(min_negative=10)) is None


def test_quiet_on_a_normal_day_of_the_demo_workspace() -> None:
    from inbox.app.demo import populate
    from inbox.store import analytics
    from inbox.store.repository import Store
    from inbox.triage.sentiment_textblob import analyse

    store = Store.open(":memory:")
    populate(store, NOW)
    while analytics.score_pending(store, analyse, 500):
        pass
    signals = analytics.crisis_signals(store, NOW - timedelta(days=8))
    assert sum(1 for s in signals if s.public) > 100  # the demo has public complaints...
    for hours in range(0, 4):
        assert detect(signals, NOW - timedelta(hours=hours)) is None  # ...but no crisis
    store.close()
