"""Business time: when a support team is at work, and deadline arithmetic over it.

A :class:`BusinessCalendar` is a time zone, opening ranges per weekday (split shifts allowed) and
holidays. Deadlines are UTC instants computed from the wall clock of that zone, so daylight saving
changes are exact: an 8-hour 24x7 target spans 8 real hours, a 09:00-18:00 day is 9 real hours on
either side of a clock change.

Each calendar lazily builds a table of its business intervals in UTC (epoch seconds) with the
cumulative business time before each one; ``add`` and ``between`` are then two binary searches.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

#: Minutes after local midnight: ``(start, end)`` with ``0 <= start < end <= 1440``.
Range = tuple[int, int]
#: Monday first, seven entries.
Week = tuple[tuple[Range, ...], ...]

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FULL_DAY: tuple[Range, ...] = ((0, 1440),)
_DURATION = re.compile(r"(\d+(?:\.\d+)?)([dhm])")
_UNIT_S = {"d": 86400.0, "h": 3600.0, "m": 60.0}
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_MIN_YEAR, _MAX_YEAR = 1971, 9998


def parse_range(text: str) -> Range:
    """Read ``"09:00-12:30"`` as minutes after midnight; ``24:00`` closes a range at midnight."""
    match = _RANGE.match(text)
    if match is None:
        raise ValueError(f"{text!r} is not a time range like 09:00-12:30")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if m1 > 59 or m2 > 59 or start > 1440 or end > 1440:
        raise ValueError(f"{text!r} has a time outside 00:00-24:00")
    if start >= end:
        raise ValueError(f"{text!r} ends before it starts")
    return start, end


def parse_duration(text: str) -> float:
    """Seconds in ``"30m"``, ``"4h"``, ``"1d"`` or ``"1h30m"`` (a ``d`` is 24 business hours)."""
    cleaned = text.replace(" ", "").lower()
    parts = _DURATION.findall(cleaned)
    if not cleaned or "".join(n + u for n, u in parts) != cleaned:
        raise ValueError(f"{text!r} is not a duration (use m, h or d, e.g. 30m, 4h, 1d)")
    seconds = sum(float(n) * _UNIT_S[u] for n, u in parts)
    if seconds <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return seconds


def format_duration(seconds: float) -> str:
    """``14400`` -> ``"4h"``, ``5400`` -> ``"1h30m"`` (business time)."""
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    text = (f"{hours}h" if hours else "") + (f"{minutes}m" if minutes else "")
    return text or "0m"


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _check_day(ranges: tuple[Range, ...]) -> None:
    previous_end = -1
    for start, end in ranges:
        if not 0 <= start < end <= 1440:
            raise ValueError(f"range {start}-{end} is outside one day")
        if start < previous_end:
            raise ValueError("ranges of one day overlap or are not in order")
        previous_end = end


@dataclass(slots=True)
class _Table:
    """Business intervals of whole local years ``first_year..last_year``, as epoch seconds."""

    first_year: int
    last_year: int
    lo: float  # local midnight starting first_year
    hi: float  # local midnight after last_year
    starts: list[float]
    ends: list[float]
    cum_start: list[float]  # business seconds before interval i
    cum_end: list[float]  # business seconds up to the end of interval i


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours in one IANA time zone, with holidays (local dates, no business time).

    ``holiday_source`` (optional, e.g. a country's public holidays) is asked once per year the
    calendar is used for; it takes no part in equality.
    """

    name: str
    tz: ZoneInfo
    weekly: Week
    holidays: frozenset[date] = frozenset()
    country: str | None = None
    holiday_source: Callable[[int], AbstractSet[date]] | None = field(
        default=None, compare=False, repr=False
    )
    _cache: list[_Table] = field(
        default_factory=list, init=False, compare=False, repr=False, hash=False
    )
    _always: bool = field(default=False, init=False, compare=False, repr=False, hash=False)

    def __post_init__(self) -> None:
        if len(self.weekly) != 7:
            raise ValueError("weekly hours need seven days, Monday first")
        for day in self.weekly:
            _check_day(day)
        if not any(self.weekly):
            raise ValueError(f"calendar {self.name!r} has no business hours on any day")
        always = (
            all(day == FULL_DAY for day in self.weekly)
            and not self.holidays
            and self.holiday_source is None
        )
        object.__setattr__(self, "_always", always)

    @classmethod
    def always(cls, name: str = "24x7", tz: str = "UTC") -> BusinessCalendar:
        """Every hour of every day: business time is elapsed real time."""
        return cls(name=name, tz=ZoneInfo(tz), weekly=(FULL_DAY,) * 7)

    @property
    def is_always(self) -> bool:
        """True when business time equals real time (full days, no holidays)."""
        return self._always

    # -- the public datetime API ------------------------------------------------------------

    def add(self, start: datetime, seconds: float) -> datetime:
        """The UTC instant at which ``seconds`` of business time have passed since ``start``."""
        return datetime.fromtimestamp(self.add_ts(epoch_seconds(start), seconds), UTC)

    def between(self, start: datetime, end: datetime) -> float:
        """Business seconds in ``[start, end)``; negative when ``end`` is before ``start``."""
        return self.between_ts(epoch_seconds(start), epoch_seconds(end))

    def intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The business intervals (UTC, clipped) that overlap ``[start, end)``."""
        a, b = epoch_seconds(start), epoch_seconds(end)
        if b <= a:
            return []
        if self.is_always:
            return [(start.astimezone(UTC), end.astimezone(UTC))]
        table = self._covering(a, b)
        i = max(bisect.bisect_right(table.starts, a) - 1, 0)
        found: list[tuple[datetime, datetime]] = []
        while i < len(table.starts) and table.starts[i] < b:
            lo, hi = max(table.starts[i], a), min(table.ends[i], b)
            if lo < hi:
                found.append((datetime.fromtimestamp(lo, UTC), datetime.fromtimestamp(hi, UTC)))
            i += 1
        return found

    def describe(self) -> str:
        """One line for people: the zone, the hours grouped by days, the holidays."""
        if self.is_always:
            return f"{self.name} (around the clock)"
        days: list[str] = []
        index = 0
        while index < 7:  # group consecutive days with the same hours: "mon-fri 09:00-18:00"
            last = index
            while last + 1 < 7 and self.weekly[last + 1] == self.weekly[index]:
                last += 1
            if ranges := self.weekly[index]:
                shown = ", ".join(f"{_hhmm(a)}-{_hhmm(b)}" for a, b in ranges)
                span = WEEKDAYS[index] if last == index else f"{WEEKDAYS[index]}-{WEEKDAYS[last]}"
                days.append(f"{span} {shown}")
            index = last + 1
        text = f"{self.name} ({self.tz.key}: {'; '.join(days)}"
        if self.holidays:
            text += f"; {len(self.holidays)} holiday date(s)"
        if self.country:
            text += f"; public holidays of {self.country}"
        return text + ")"

    # -- the fast epoch-seconds API used by the SLA engine --------------------------------

    def add_ts(self, start: float, seconds: float) -> float:
        """:meth:`add` on epoch seconds."""
        if seconds < 0:
            raise ValueError("business time to add must not be negative")
        if seconds == 0 or self._always:
            return start + seconds
        table = self._cache[0] if self._cache else None
        if table is None or not table.lo <= start < table.hi:
            table = self._covering(start, start)
        target = _cum(table, start) + seconds
        while not table.cum_end or target > table.cum_end[-1]:
            span = table.last_year - table.first_year + 1
            if span > 400 or table.last_year >= _MAX_YEAR:
                raise ValueError(f"calendar {self.name!r} has too little business time")
            table = self._build(table.first_year, min(table.last_year + span, _MAX_YEAR))
            target = _cum(table, start) + seconds
        j = bisect.bisect_left(table.cum_end, target)
        return table.starts[j] + (target - table.cum_start[j])

    def between_ts(self, start: float, end: float) -> float:
        """:meth:`between` on epoch seconds."""
        if self._always:
            return end - start
        if end < start:
            return -self.between_ts(end, start)
        table = self._cache[0] if self._cache else None
        if table is None or not (table.lo <= start and end < table.hi):
            table = self._covering(start, end)
        starts, ends, cum_start = table.starts, table.ends, table.cum_start
        i = bisect.bisect_right(starts, start) - 1  # _cum, inlined: this is the hot path
        a = cum_start[i] + (min(start, ends[i]) - starts[i]) if i >= 0 else 0.0
        i = bisect.bisect_right(starts, end) - 1
        b = cum_start[i] + (min(end, ends[i]) - starts[i]) if i >= 0 else 0.0
        return b - a

    def used_ts(
        self, periods: Sequence[tuple[float, float]], since: float | None, now: float
    ) -> float:
        """Business seconds of a stop-and-go clock: closed ``periods`` plus ``[since, now)``."""
        total = 0.0
        for start, end in periods:
            total += self.between_ts(start, end)
        if since is not None and now > since:
            total += self.between_ts(since, now)
        return total

    def reach_ts(
        self, periods: Sequence[tuple[float, float]], since: float | None, amount: float
    ) -> float | None:
        """When a stop-and-go clock reaches ``amount`` business seconds: in a closed period,
        else in the running one from ``since``; ``None`` if it is stopped short of it."""
        total = 0.0
        for start, end in periods:
            part = self.between_ts(start, end)
            if total + part >= amount:
                return self.add_ts(start, max(amount - total, 0.0))
            total += part
        return None if since is None else self.add_ts(since, max(amount - total, 0.0))

    # -- the interval table ------------------------------------------------------------------

    def _covering(self, a: float, b: float) -> _Table:
        """A table whose years cover both instants (rebuilt wider when needed)."""
        cache = self._cache
        if cache:
            table = cache[0]
            if table.lo <= a and b < table.hi:
                return table
            first, last = table.first_year, table.last_year
        else:
            first, last = _MAX_YEAR, _MIN_YEAR
        # A local year differs from the UTC year by a day at most: keep a year of margin.
        ya = datetime.fromtimestamp(a, UTC).year
        yb = datetime.fromtimestamp(b, UTC).year
        first = max(min(first, ya - 1), _MIN_YEAR)
        last = min(max(last, yb + 1), _MAX_YEAR)
        return self._build(first, last)

    def _build(self, first_year: int, last_year: int) -> _Table:
        starts: list[float] = []
        ends: list[float] = []
        for start, end in self._raw_intervals(first_year, last_year):
            if end <= start:
                continue  # a range swallowed by a clock change
            if starts and start <= ends[-1]:
                ends[-1] = max(ends[-1], end)  # adjacent across midnight: one interval
            else:
                starts.append(start)
                ends.append(end)
        cum_start: list[float] = []
        cum_end: list[float] = []
        total = 0.0
        for start, end in zip(starts, ends, strict=True):
            cum_start.append(total)
            total += end - start
            cum_end.append(total)
        table = _Table(
            first_year=first_year,
            last_year=last_year,
            lo=_local_ts(self.tz, datetime(first_year, 1, 1), fold=0),
            hi=_local_ts(self.tz, datetime(last_year + 1, 1, 1), fold=0),
            starts=starts,
            ends=ends,
            cum_start=cum_start,
            cum_end=cum_end,
        )
        self._cache[:] = [table]
        return table

    def _raw_intervals(self, first_year: int, last_year: int) -> Iterable[tuple[float, float]]:
        day = date(first_year, 1, 1)
        one = timedelta(days=1)
        year = -1
        closed: AbstractSet[date] = self.holidays
        while day.year <= last_year:
            if day.year != year:
                year = day.year
                closed = self.holidays
                if self.holiday_source is not None:
                    closed = self.holidays | frozenset(self.holiday_source(year))
            if day not in closed:
                midnight = datetime(day.year, day.month, day.day)
                for start, end in self.weekly[day.weekday()]:
                    yield (
                        _local_ts(self.tz, midnight + timedelta(minutes=start), fold=0),
                        _local_ts(self.tz, midnight + timedelta(minutes=end), fold=1),
                    )
            day += one


def _cum(table: _Table, t: float) -> float:
    """Business seconds from the start of the table to ``t``."""
    i = bisect.bisect_right(table.starts, t) - 1
    if i < 0:
        return 0.0
    end = table.ends[i]
    return table.cum_start[i] + (min(t, end) - table.starts[i])


def epoch_seconds(moment: datetime) -> float:
    """POSIX seconds of an aware datetime; a naive one is refused (its zone is unknown)."""
    if moment.tzinfo is None:
        raise ValueError("business time needs timezone-aware datetimes")
    return moment.timestamp()


def _local_ts(tz: ZoneInfo, naive: datetime, fold: int) -> float:
    """Epoch seconds of a wall-clock time in ``tz``.

    An ambiguous time (clocks going back) takes its first occurrence for ``fold=0`` (a range
    start) and its second for ``fold=1`` (a range end). A time that does not exist (clocks going
    forward) becomes the instant the clock jumps over it.
    """
    ts = naive.replace(tzinfo=tz, fold=fold).timestamp()
    if datetime.fromtimestamp(ts, tz).replace(tzinfo=None) == naive:
        return ts
    lo = int(naive.replace(tzinfo=tz, fold=1).timestamp())
    hi = int(naive.replace(tzinfo=tz, fold=0).timestamp())
    lo, hi = min(lo, hi), max(lo, hi)
    while lo < hi:  # the first second whose wall clock reads at or after ``naive``
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).replace(tzinfo=None) >= naive:
            hi = mid
        else:
            lo = mid + 1
    return float(lo)


def week_from(hours: dict[str, tuple[Range, ...]]) -> Week:
    """Seven days of ranges, Monday first, from a mapping keyed ``mon``..``sun``."""
    return tuple(tuple(sorted(hours.get(day, ()))) for day in WEEKDAYS)
