"""Business-time arithmetic: split shifts, weekends, holidays, daylight saving, properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inbox.sla.calendar import WEEKDAYS, BusinessCalendar, parse_range, week_from
from inbox.sla.holidays import country_holidays

H = 3600.0
SPLIT = (parse_range("09:00-12:30"), parse_range("13:30-18:00"))
PARIS_WEEK = week_from({day: SPLIT for day in WEEKDAYS[:5]})
PARIS = BusinessCalendar(
    "paris",
    ZoneInfo("Europe/Paris"),
    PARIS_WEEK,
    frozenset({date(2026, 12, 25), date(2027, 1, 1)}),
)
PARIS_FR = BusinessCalendar(
    "paris-fr",
    ZoneInfo("Europe/Paris"),
    PARIS_WEEK,
    country="FR",
    holiday_source=lambda year: country_holidays("FR", range(year, year + 1)),
)
PARIS_24X7 = BusinessCalendar(
    "paris-24x7", ZoneInfo("Europe/Paris"), week_from({d: ((0, 1440),) for d in WEEKDAYS})
)
ALWAYS = BusinessCalendar.always()


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_friday_afternoon_rolls_over_the_weekend() -> None:
    # Fri 13 Nov 2026 16:30 CET = 15:30 UTC: 1.5 h left on Friday, 2.5 h on Monday from 09:00.
    assert PARIS.add(utc(2026, 11, 13, 15, 30), 4 * H) == utc(2026, 11, 16, 10, 30)  # 11:30 CET


def test_lunch_break_is_not_business_time() -> None:
    # Mon 16 Nov 2026 11:00 CET: 1.5 h until 12:30, then 0.5 h from 13:30 -> 14:00 CET.
    assert PARIS.add(utc(2026, 11, 16, 10, 0), 2 * H) == utc(2026, 11, 16, 13, 0)
    # A message during lunch waits for 13:30.
    assert PARIS.add(utc(2026, 11, 16, 11, 45), 1 * H) == utc(2026, 11, 16, 13, 30)  # 14:30 CET
    # 12:00-14:00 CET holds one business hour: 12:00-12:30 and 13:30-14:00.
    assert PARIS.between(utc(2026, 11, 16, 11, 0), utc(2026, 11, 16, 13, 0)) == 1 * H


def test_christmas_and_new_year_are_skipped() -> None:
    # Thu 24 Dec 2026 16:30 CET: 1.5 h, Christmas Friday closed, Monday 28th 09:00 + 2.5 h.
    assert PARIS.add(utc(2026, 12, 24, 15, 30), 4 * H) == utc(2026, 12, 28, 10, 30)
    # Thu 31 Dec 2026 17:00 CET: 1 h, New Year's Day closed, Monday 4 Jan 09:00 + 3 h = 12:00.
    assert PARIS.add(utc(2026, 12, 31, 16, 0), 4 * H) == utc(2027, 1, 4, 11, 0)
    assert PARIS.between(utc(2026, 12, 25, 0, 0), utc(2026, 12, 26, 0, 0)) == 0.0


def test_country_public_holidays_close_the_office() -> None:
    # Ascension Thursday 6 May 2027 is a French public holiday: Wed 17:00 CEST + 2 h -> Fri 10:00.
    assert PARIS_FR.add(utc(2027, 5, 5, 15, 0), 2 * H) == utc(2027, 5, 7, 8, 0)
    assert PARIS.add(utc(2027, 5, 5, 15, 0), 2 * H) == utc(2027, 5, 6, 8, 0)
    # Labour Day (1 May 2027) falls on a Saturday: already closed, nothing changes.
    assert PARIS_FR.between(utc(2027, 4, 30, 0, 0), utc(2027, 5, 4, 0, 0)) == PARIS.between(
        utc(2027, 4, 30, 0, 0), utc(2027, 5, 4, 0, 0)
    )


def test_spring_dst_change_2027_business_hours() -> None:
    # Fri 26 Mar 2027 16:30 CET (15:30 UTC); Monday 29 Mar is in summer time (UTC+2):
    # 09:00 CEST = 07:00 UTC, + 2.5 h -> 11:30 CEST = 09:30 UTC.
    assert PARIS.add(utc(2027, 3, 26, 15, 30), 4 * H) == utc(2027, 3, 29, 9, 30)
    # Easter Monday 29 Mar 2027 is a French public holiday: Tuesday 11:30 CEST instead.
    assert PARIS_FR.add(utc(2027, 3, 26, 15, 30), 4 * H) == utc(2027, 3, 30, 9, 30)


def test_autumn_dst_change_2027_business_hours() -> None:
    # Fri 29 Oct 2027 16:30 CEST (14:30 UTC); Monday 1 Nov is in winter time (UTC+1):
    # 09:00 CET = 08:00 UTC, + 2.5 h -> 11:30 CET = 10:30 UTC.
    assert PARIS.add(utc(2027, 10, 29, 14, 30), 4 * H) == utc(2027, 11, 1, 10, 30)


def test_dst_changes_2027_round_the_clock() -> None:
    # 24x7 is elapsed real time: the local clock shows one hour more (spring) or less (autumn).
    for calendar in (ALWAYS, PARIS_24X7):
        # Sat 27 Mar 20:00 CET (19:00 UTC) + 8 h -> 03:00 UTC = 05:00 CEST on Sunday 28th.
        assert calendar.add(utc(2027, 3, 27, 19, 0), 8 * H) == utc(2027, 3, 28, 3, 0)
        # Sat 30 Oct 22:00 CEST (20:00 UTC) + 8 h -> 04:00 UTC = 05:00 CET on Sunday 31st.
        assert calendar.add(utc(2027, 10, 30, 20, 0), 8 * H) == utc(2027, 10, 31, 4, 0)
        # The local day of the change lasts 23 h and 25 h.
        assert calendar.between(utc(2027, 3, 27, 23, 0), utc(2027, 3, 28, 22, 0)) == 23 * H
        assert calendar.between(utc(2027, 10, 30, 22, 0), utc(2027, 10, 31, 23, 0)) == 25 * H


def test_night_shift_across_the_clock_change_counts_real_time() -> None:
    night = BusinessCalendar(
        "night", ZoneInfo("Europe/Paris"), week_from({"sun": (parse_range("00:00-06:00"),)})
    )
    # 00:00-06:00 local is 5 real hours on 28 Mar 2027 and 7 on 31 Oct 2027.
    assert night.between(utc(2027, 3, 27, 12, 0), utc(2027, 3, 28, 12, 0)) == 5 * H
    assert night.between(utc(2027, 10, 30, 12, 0), utc(2027, 10, 31, 12, 0)) == 7 * H
    # Three hours after opening on 28 Mar: 00:00 CET = 23:00 UTC (27th) + 3 h = 02:00 UTC.
    assert night.add(utc(2027, 3, 27, 12, 0), 3 * H) == utc(2027, 3, 28, 2, 0)


def test_between_is_negative_backwards_and_naive_datetimes_are_refused() -> None:
    a, b = utc(2026, 11, 13, 15, 30), utc(2026, 11, 16, 10, 30)
    assert PARIS.between(b, a) == -4 * H
    with pytest.raises(ValueError, match="timezone-aware"):
        PARIS.add(datetime(2026, 11, 13, 15, 30), H)


def test_intervals_list_the_open_periods() -> None:
    got = PARIS.intervals(utc(2026, 11, 13, 10, 0), utc(2026, 11, 16, 9, 0))
    assert got == [
        (utc(2026, 11, 13, 10, 0), utc(2026, 11, 13, 11, 30)),
        (utc(2026, 11, 13, 12, 30), utc(2026, 11, 13, 17, 0)),
        (utc(2026, 11, 16, 8, 0), utc(2026, 11, 16, 9, 0)),
    ]


def test_a_calendar_without_hours_is_refused() -> None:
    with pytest.raises(ValueError, match="no business hours"):
        BusinessCalendar("closed", ZoneInfo("UTC"), ((),) * 7)


def test_queries_far_from_the_first_one_extend_the_table() -> None:
    cal = BusinessCalendar("fresh", ZoneInfo("Europe/Paris"), PARIS_WEEK)
    assert cal.add(utc(2026, 11, 13, 15, 30), 4 * H) == utc(2026, 11, 16, 10, 30)
    # 4 Jan 2040 is a Wednesday (winter time); then back to 2026.
    assert cal.add(utc(2040, 1, 4, 8, 0), 8 * H) == utc(2040, 1, 4, 17, 0)
    assert cal.add(utc(2026, 11, 13, 15, 30), 4 * H) == utc(2026, 11, 16, 10, 30)


STARTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
)
SECONDS = st.floats(min_value=1e-3, max_value=60 * 24 * H, allow_nan=False)
CALENDARS = st.sampled_from([PARIS, PARIS_FR, PARIS_24X7, ALWAYS])


@settings(max_examples=300, deadline=None)
@given(cal=CALENDARS, start=STARTS, seconds=SECONDS)
def test_add_then_between_gives_back_the_seconds(
    cal: BusinessCalendar, start: datetime, seconds: float
) -> None:
    assert cal.between(start, cal.add(start, seconds)) == pytest.approx(seconds, abs=1e-6)


@settings(max_examples=300, deadline=None)
@given(cal=CALENDARS, start=STARTS, seconds=SECONDS)
def test_deadlines_fall_inside_business_hours(
    cal: BusinessCalendar, start: datetime, seconds: float
) -> None:
    due = cal.add(start, seconds)
    assert due > start
    around = cal.intervals(due - timedelta(days=1), due + timedelta(days=1))
    assert any(lo <= due <= hi for lo, hi in around)


@settings(max_examples=200, deadline=None)
@given(cal=CALENDARS, start=STARTS, a=SECONDS, b=SECONDS, shift=SECONDS)
def test_add_is_monotonic(
    cal: BusinessCalendar, start: datetime, a: float, b: float, shift: float
) -> None:
    small, large = sorted((a, b))
    assert cal.add(start, small) <= cal.add(start, large)
    later = start + timedelta(seconds=shift)
    assert cal.add(start, small) <= cal.add(later, small)


def test_ranges_touching_the_missing_and_repeated_hour() -> None:
    cal = BusinessCalendar(
        "odd", ZoneInfo("Europe/Paris"), week_from({"sun": (parse_range("01:30-02:30"),)})
    )
    # 28 Mar 2027: 02:30 never shows on the clock; the range ends when it jumps to 03:00.
    assert cal.intervals(utc(2027, 3, 27, 12, 0), utc(2027, 3, 28, 12, 0)) == [
        (utc(2027, 3, 28, 0, 30), utc(2027, 3, 28, 1, 0))
    ]
    # 31 Oct 2027: 02:30 shows twice; the range runs to the second one (2 real hours).
    assert cal.intervals(utc(2027, 10, 30, 12, 0), utc(2027, 10, 31, 12, 0)) == [
        (utc(2027, 10, 30, 23, 30), utc(2027, 10, 31, 1, 30))
    ]
