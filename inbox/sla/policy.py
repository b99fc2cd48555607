"""SLA policies: which targets apply to a conversation, measured on which business calendar.

Policies are read from a TOML file (see ``inbox/data/default_policies.toml``): named calendars,
then ordered policies; the first policy whose ``when`` conditions match a conversation applies.
Country public holidays come from an injected callable so that this module stays stdlib-only
(``inbox.sla.holidays.country_holidays`` is the real one).
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from importlib import resources
from itertools import pairwise
from operator import attrgetter
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from inbox.errors import InputError
from inbox.models import Channel, Priority
from inbox.sla.calendar import (
    FULL_DAY,
    WEEKDAYS,
    BusinessCalendar,
    Range,
    format_duration,
    parse_duration,
    parse_range,
)

CountryHolidays = Callable[[str, range], set[date]]

ALWAYS = "24x7"
#: The settings key of the policies in force (TOML text) in the desktop's store and the server's
#: ``server_settings``; empty means the shipped defaults.
POLICY_SETTING = "sla_policies"
_TARGETS = ("first_reply", "next_reply", "resolution")
_POLICY_KEYS = frozenset({"name", "when", "calendar", "warn_at", "warn_before", *_TARGETS})
_CALENDAR_KEYS = frozenset({"name", "timezone", "hours", "holidays", "country"})
_WHEN_KEYS = frozenset({"channel", "priority", "tags", "vip"})
_TARGET_S: dict[str, Callable[[SlaPolicy], float | None]] = {
    name: attrgetter(f"{name}_s") for name in _TARGETS
}


@dataclass(frozen=True)
class PolicyCondition:
    """What a conversation must have for a policy to apply; ``None`` means "any"."""

    channels: frozenset[str] | None = None
    priorities: frozenset[str] | None = None
    tags: frozenset[str] | None = None  # any one of them
    vip: bool | None = None

    def matches(self, channel: str, priority: str, tags: frozenset[str], vip: bool) -> bool:
        return (
            (self.channels is None or channel in self.channels)
            and (self.priorities is None or priority in self.priorities)
            and (self.tags is None or not self.tags.isdisjoint(tags))
            and (self.vip is None or self.vip == vip)
        )


@dataclass(frozen=True)
class SlaPolicy:
    """Targets in business seconds (``None``: not measured) and when to warn."""

    name: str
    calendar: BusinessCalendar
    first_reply_s: float | None
    next_reply_s: float | None
    resolution_s: float | None
    warn_at: float | None = None  # fraction of the target elapsed
    warn_before_s: float | None = None  # business seconds before the deadline
    when: PolicyCondition = PolicyCondition()

    def target_s(self, target: str) -> float | None:
        """The target named ``first_reply``, ``next_reply`` or ``resolution``."""
        return _TARGET_S[target](self)

    def warn_threshold(self, target_s: float) -> float | None:
        """Business seconds elapsed at which a target of ``target_s`` turns to warning."""
        if self.warn_at is not None:
            return target_s * self.warn_at
        if self.warn_before_s is not None:
            return max(target_s - self.warn_before_s, 0.0)
        return None


@dataclass(frozen=True)
class PolicySet:
    """Ordered policies; the first that matches applies."""

    policies: tuple[SlaPolicy, ...]
    _chosen: dict[tuple[str, str, frozenset[str], bool], SlaPolicy | None] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )

    def select(
        self, channel: str, priority: str, tags: frozenset[str], vip: bool
    ) -> SlaPolicy | None:
        """The first policy whose conditions match (tags compare case-insensitively)."""
        key = (channel, priority, tags, vip)
        try:
            return self._chosen[key]
        except KeyError:
            pass
        lowered = frozenset(t.lower() for t in tags)
        chosen = next(
            (p for p in self.policies if p.when.matches(channel, priority, lowered, vip)), None
        )
        if len(self._chosen) < 4096:  # remembered: most conversations share a few keys
            self._chosen[key] = chosen
        return chosen

    def by_name(self, name: str) -> SlaPolicy | None:
        for policy in self.policies:
            if policy.name == name:
                return policy
        return None


def load_policies(
    text: str, source: str, country_holidays: CountryHolidays | None = None
) -> PolicySet:
    """Read a policy file; any problem is an :class:`InputError` naming the field."""
    where = f"policy file {source}"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(where, f"not valid TOML: {exc}") from None
    try:
        return _read(data, country_holidays)
    except _Bad as exc:
        raise InputError(where, str(exc)) from None


def default_policies(country_holidays: CountryHolidays | None = None) -> PolicySet:
    """The policies shipped with the app, in force until the user loads another file."""
    text = resources.files("inbox").joinpath("data/default_policies.toml").read_text("utf-8")
    return load_policies(text, "default_policies.toml", country_holidays)


def describe(policies: PolicySet) -> str:
    """A human-readable summary, one block per policy, in the order they are tried."""
    if not policies.policies:
        return "No SLA policies: no targets are measured."
    blocks = []
    for number, policy in enumerate(policies.policies, 1):
        lines = [f"{number}. {policy.name} - applies to {_describe_when(policy.when)}"]
        lines.append(f"   calendar: {policy.calendar.describe()}")
        for target in _TARGETS:
            value = policy.target_s(target)
            shown = format_duration(value) if value is not None else "not measured"
            lines.append(f"   {target.replace('_', ' ')}: {shown}")
        if policy.warn_at is not None:
            lines.append(f"   warning at {policy.warn_at:.0%} of each target")
        elif policy.warn_before_s is not None:
            lines.append(f"   warning {format_duration(policy.warn_before_s)} before each deadline")
        blocks.append("\n".join(lines))
    return "\n".join(blocks)


def _describe_when(when: PolicyCondition) -> str:
    parts = []
    if when.channels is not None:
        parts.append("channel " + " or ".join(sorted(when.channels)))
    if when.priorities is not None:
        parts.append("priority " + " or ".join(sorted(when.priorities)))
    if when.tags is not None:
        parts.append("tag " + " or ".join(sorted(when.tags)))
    if when.vip is not None:
        parts.append("VIP customers" if when.vip else "non-VIP customers")
    return ", ".join(parts) if parts else "every conversation"


class _Bad(Exception):
    """A validation problem; becomes an InputError naming the file."""


def _read(data: Mapping[str, Any], country_holidays: CountryHolidays | None) -> PolicySet:
    for key in data:
        if key not in ("calendar", "policy"):
            raise _Bad(f"unknown key {key!r} (expected [[calendar]] or [[policy]])")
    calendars: dict[str, BusinessCalendar] = {ALWAYS: BusinessCalendar.always(ALWAYS)}
    for index, raw in enumerate(_tables(data.get("calendar", []), "calendar"), 1):
        calendar = _read_calendar(raw, index, country_holidays)
        if calendar.name in calendars:
            raise _Bad(f"calendar {calendar.name!r} is defined twice")
        calendars[calendar.name] = calendar
    policies: list[SlaPolicy] = []
    for index, raw in enumerate(_tables(data.get("policy", []), "policy"), 1):
        policy = _read_policy(raw, index, calendars)
        if any(p.name == policy.name for p in policies):
            raise _Bad(f"policy {policy.name!r} is defined twice")
        policies.append(policy)
    return PolicySet(tuple(policies))


def _tables(value: Any, what: str) -> list[Mapping[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise _Bad(f"{what} must be written as [[{what}]] tables")
    return value


def _name(raw: Mapping[str, Any], what: str, index: int) -> str:
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise _Bad(f"{what} #{index}: name is missing or empty")
    return name.strip()


def _read_calendar(
    raw: Mapping[str, Any], index: int, country_holidays: CountryHolidays | None
) -> BusinessCalendar:
    name = _name(raw, "calendar", index)
    label = f"calendar {name!r}"
    if name == ALWAYS:
        raise _Bad(f"{label}: the name {ALWAYS!r} is reserved for round-the-clock time")
    for key in raw:
        if key not in _CALENDAR_KEYS:
            raise _Bad(f"{label}: unknown key {key!r}")
    zone = raw.get("timezone")
    if not isinstance(zone, str):
        raise _Bad(f"{label}: timezone is missing (an IANA name such as 'Europe/Paris')")
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise _Bad(f"{label}: timezone {zone!r} is not a known IANA time zone") from None
    week = _read_hours(raw.get("hours"), label)
    holidays = _read_holidays(raw.get("holidays", []), label)
    country = raw.get("country")
    source = None
    if country is not None:
        if not isinstance(country, str) or not country.strip():
            raise _Bad(f"{label}: country must be a country code such as 'FR'")
        source = _country_source(country.strip().upper(), label, country_holidays)
        country = country.strip().upper()
    try:
        return BusinessCalendar(name, tz, week, holidays, country, source)
    except ValueError as exc:
        raise _Bad(f"{label}: hours: {exc}") from None


def _read_hours(value: Any, label: str) -> tuple[tuple[Range, ...], ...]:
    if value == ALWAYS:
        return (FULL_DAY,) * 7
    if not isinstance(value, dict):
        raise _Bad(f"{label}: hours must be {ALWAYS!r} or a table such as mon = ['09:00-18:00']")
    week: dict[str, tuple[Range, ...]] = {}
    for day, ranges in value.items():
        if day not in WEEKDAYS:
            raise _Bad(f"{label}: hours: {day!r} is not a weekday (mon, tue, ... sun)")
        if isinstance(ranges, str):
            ranges = [ranges]
        if not isinstance(ranges, list) or not all(isinstance(r, str) for r in ranges):
            raise _Bad(f"{label}: hours.{day} must be a list of ranges like '09:00-12:30'")
        try:
            parsed = tuple(sorted(parse_range(r) for r in ranges))
        except ValueError as exc:
            raise _Bad(f"{label}: hours.{day}: {exc}") from None
        if any(a[1] > b[0] for a, b in pairwise(parsed)):
            raise _Bad(f"{label}: hours.{day}: ranges overlap")
        week[day] = parsed
    if not any(week.values()):
        raise _Bad(f"{label}: hours has no opening range on any day")
    return tuple(week.get(day, ()) for day in WEEKDAYS)


def _read_holidays(value: Any, label: str) -> frozenset[date]:
    if not isinstance(value, list):
        raise _Bad(f"{label}: holidays must be a list of dates like '2026-12-25'")
    days: set[date] = set()
    for item in value:
        if isinstance(item, date):
            days.add(item)
            continue
        try:
            days.add(date.fromisoformat(str(item)))
        except ValueError:
            raise _Bad(f"{label}: holidays: {item!r} is not a date like 2026-12-25") from None
    return frozenset(days)


def _country_source(
    country: str, label: str, country_holidays: CountryHolidays | None
) -> Callable[[int], set[date]]:
    if country_holidays is None:
        raise _Bad(f"{label}: country {country!r} given but no public-holiday source is available")
    try:  # validate the code once, on a fixed year (no clock read here)
        country_holidays(country, range(2020, 2021))
    except (KeyError, ValueError, NotImplementedError):
        raise _Bad(f"{label}: country {country!r} is not a known country code") from None

    def source(year: int) -> set[date]:
        return country_holidays(country, range(year, year + 1))

    return source


def _read_policy(
    raw: Mapping[str, Any], index: int, calendars: Mapping[str, BusinessCalendar]
) -> SlaPolicy:
    name = _name(raw, "policy", index)
    label = f"policy {name!r}"
    for key in raw:
        if key not in _POLICY_KEYS:
            raise _Bad(f"{label}: unknown key {key!r}")
    calendar_name = raw.get("calendar", ALWAYS)
    if not isinstance(calendar_name, str) or calendar_name not in calendars:
        raise _Bad(f"{label}: calendar {calendar_name!r} is not defined")
    targets: dict[str, float | None] = {}
    for target in _TARGETS:
        targets[target] = _duration(raw.get(target), f"{label}: {target}")
    if all(v is None for v in targets.values()):
        raise _Bad(f"{label}: sets none of first_reply, next_reply, resolution")
    warn_at = raw.get("warn_at")
    if "warn_at" in raw and "warn_before" in raw:
        raise _Bad(f"{label}: give warn_at or warn_before, not both")
    if warn_at is not None:
        if isinstance(warn_at, bool) or not isinstance(warn_at, int | float):
            raise _Bad(f"{label}: warn_at must be a fraction such as 0.75")
        if not 0 < warn_at <= 1:
            raise _Bad(f"{label}: warn_at {warn_at} must be above 0 and at most 1")
        warn_at = float(warn_at)
    return SlaPolicy(
        name=name,
        calendar=calendars[calendar_name],
        first_reply_s=targets["first_reply"],
        next_reply_s=targets["next_reply"],
        resolution_s=targets["resolution"],
        warn_at=warn_at,
        warn_before_s=_duration(raw.get("warn_before"), f"{label}: warn_before"),
        when=_read_when(raw.get("when"), label),
    )


def _duration(value: Any, label: str) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Bad(f"{label} must be a duration string such as '4h'")
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise _Bad(f"{label}: {exc}") from None


def _read_when(value: Any, label: str) -> PolicyCondition:
    if value is None:
        return PolicyCondition()
    if not isinstance(value, dict):
        raise _Bad(f"{label}: when must be a table such as {{ channel = ['email'] }}")
    for key in value:
        if key not in _WHEN_KEYS:
            raise _Bad(f"{label}: when.{key} is not a condition (channel, priority, tags, vip)")
    vip = value.get("vip")
    if vip is not None and not isinstance(vip, bool):
        raise _Bad(f"{label}: when.vip must be true or false")
    return PolicyCondition(
        channels=_names(value.get("channel"), f"{label}: when.channel", {c.value for c in Channel}),
        priorities=_names(
            value.get("priority"), f"{label}: when.priority", {p.value for p in Priority}
        ),
        tags=_names(value.get("tags"), f"{label}: when.tags", None),
        vip=vip,
    )


def _names(value: Any, label: str, allowed: set[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Bad(f"{label} must be a list of names")
    names = frozenset(v.strip().lower() for v in value)
    if allowed is not None:
        for item in sorted(names - allowed):
            raise _Bad(f"{label}: {item!r} is not one of {', '.join(sorted(allowed))}")
    return names
