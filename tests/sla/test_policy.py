"""Reading SLA policy files: selection order, durations, calendars and validation messages."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from inbox.errors import InputError
from inbox.sla.calendar import parse_duration
from inbox.sla.holidays import country_holidays
from inbox.sla.policy import default_policies, describe, load_policies

PARIS_HOURS = (
    'hours = { mon = ["09:00-12:30", "13:30-18:00"], tue = ["09:00-12:30", "13:30-18:00"], '
    'wed = ["09:00-12:30", "13:30-18:00"], thu = ["09:00-12:30", "13:30-18:00"], '
    'fri = ["09:00-12:30", "13:30-18:00"] }'
)
EXAMPLE = f"""
[[calendar]]
name = "paris"
timezone = "Europe/Paris"
{PARIS_HOURS}
holidays = ["2026-12-25", "2027-01-01"]
country = "FR"

[[policy]]
name = "vip"
when = {{ vip = true, priority = ["high", "urgent"] }}
first_reply = "15m"
resolution = "1d"
warn_before = "5m"

[[policy]]
name = "social"
when = {{ channel = ["twitter", "facebook"] }}
calendar = "24x7"
first_reply = "30m"
next_reply = "1h"
resolution = "24h"
warn_at = 0.75

[[policy]]
name = "email"
when = {{ channel = ["email", "webform"] }}
calendar = "paris"
first_reply = "4h"
next_reply = "8h"
resolution = "16h"
warn_at = 0.75

[[policy]]
name = "billing"
when = {{ tags = ["billing", "refund"] }}
calendar = "paris"
first_reply = "1h30m"

[[policy]]
name = "fallback"
calendar = "paris"
resolution = "2d"
"""


def test_first_matching_policy_applies() -> None:
    policies = load_policies(EXAMPLE, "team.toml", country_holidays)
    none: frozenset[str] = frozenset()

    def chosen(channel: str, priority: str, tags: frozenset[str], vip: bool) -> str | None:
        policy = policies.select(channel, priority, tags, vip)
        return policy.name if policy else None

    assert chosen("twitter", "normal", none, False) == "social"
    assert chosen("email", "normal", none, False) == "email"
    assert chosen("email", "urgent", none, True) == "vip"
    assert chosen("email", "normal", none, True) == "email"  # vip needs high or urgent too
    assert chosen("webform", "low", frozenset({"Refund"}), False) == "email"
    assert chosen("unknown", "low", frozenset({"Refund"}), False) == "billing"
    assert chosen("unknown", "low", none, False) == "fallback"


def test_durations_calendars_and_warnings_are_read() -> None:
    policies = load_policies(EXAMPLE, "team.toml", country_holidays)
    vip, social, email, billing, fallback = policies.policies
    assert (vip.first_reply_s, vip.next_reply_s, vip.resolution_s) == (900.0, None, 86400.0)
    assert vip.warn_before_s == 300.0 and vip.warn_at is None
    assert vip.calendar.is_always  # no calendar means round the clock
    assert social.calendar.is_always and social.warn_at == 0.75
    assert email.calendar.name == "paris" and email.resolution_s == 16 * 3600.0
    assert billing.first_reply_s == 5400.0
    assert fallback.resolution_s == 2 * 86400.0  # a d is 24 business hours
    # The FR public holidays apply: Easter Monday 2027 is closed.
    start = datetime(2027, 3, 26, 15, 30, tzinfo=UTC)
    assert email.calendar.add(start, 4 * 3600) == datetime(2027, 3, 30, 9, 30, tzinfo=UTC)


def test_default_policies_load_and_describe() -> None:
    policies = default_policies()
    assert [p.name for p in policies.policies] == ["urgent", "social", "vip", "email"]
    text = describe(policies)
    assert "social - applies to channel facebook or twitter" in text
    assert "mon-fri 09:00-12:30, 13:30-18:00" in text
    assert "first reply: 30m" in text


@pytest.mark.parametrize(
    ("text", "hours"), [("30m", 0.5), ("4h", 4), ("1d", 24), ("1h30m", 1.5), ("1.5h", 1.5)]
)
def test_parse_duration(text: str, hours: float) -> None:
    assert parse_duration(text) == hours * 3600


def _policy(extra: str, calendar: str = "") -> str:
    return f'{calendar}\n[[policy]]\nname = "email"\n{extra}\n'


PARIS = f'[[calendar]]\nname = "paris"\ntimezone = "Europe/Paris"\n{PARIS_HOURS}\n'


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (
            _policy('calendar = "pariss"\nfirst_reply = "4h"', PARIS),
            "policy 'email': calendar 'pariss' is not defined",
        ),
        (_policy('first_reply = "4x"'), "policy 'email': first_reply: '4x' is not a duration"),
        (_policy('first_reply = "0m"'), "policy 'email': first_reply: '0m' must be longer"),
        (_policy("first_reply = 4"), "policy 'email': first_reply must be a duration string"),
        (_policy('frist_reply = "4h"'), "policy 'email': unknown key 'frist_reply'"),
        (_policy('warn_at = 0.5\nwarn_before = "5m"\nfirst_reply = "4h"'), "not both"),
        (_policy('warn_at = 1.5\nfirst_reply = "4h"'), "policy 'email': warn_at 1.5 must be"),
        (_policy('when = { channel = ["fax"] }\nfirst_reply = "4h"'), "when.channel: 'fax'"),
        (_policy('when = { prio = ["high"] }\nfirst_reply = "4h"'), "when.prio is not a condition"),
        (_policy('when = { vip = "yes" }\nfirst_reply = "4h"'), "when.vip must be true or false"),
        (_policy('calendar = "24x7"'), "policy 'email': sets none of first_reply"),
        (
            '[[calendar]]\nname = "x"\ntimezone = "Europe/Pari"\nhours = "24x7"\n',
            "calendar 'x': timezone 'Europe/Pari' is not a known IANA time zone",
        ),
        (
            '[[calendar]]\nname = "x"\ntimezone = "UTC"\nhours = { mon = ["09:00-18:00", "12:00-13:00"] }',
            "calendar 'x': hours.mon: ranges overlap",
        ),
        (
            '[[calendar]]\nname = "x"\ntimezone = "UTC"\nhours = { mon = ["18:00-09:00"] }',
            "calendar 'x': hours.mon: '18:00-09:00' ends before it starts",
        ),
        (
            '[[calendar]]\nname = "x"\ntimezone = "UTC"\nhours = { lundi = ["09:00-18:00"] }',
            "calendar 'x': hours: 'lundi' is not a weekday",
        ),
        (
            '[[calendar]]\nname = "x"\ntimezone = "UTC"\nhours = "24x7"\nholidays = ["2026-13-01"]',
            "calendar 'x': holidays: '2026-13-01' is not a date",
        ),
        (
            '[[calendar]]\nname = "x"\ntimezone = "UTC"\nhours = "24x7"\ncountry = "XX"',
            "calendar 'x': country 'XX' is not a known country code",
        ),
        ("[[policy]]\nfirst_reply = '1h'", "policy #1: name is missing"),
        ("[policies]\nx = 1", "unknown key 'policies'"),
        ("[[policy]\n", "not valid TOML"),
    ],
)
def test_validation_errors_name_the_file_and_field(text: str, reason: str) -> None:
    with pytest.raises(InputError) as caught:
        load_policies(text, "team.toml", country_holidays)
    assert caught.value.source == "policy file team.toml"
    assert reason in caught.value.reason


def test_country_without_a_holiday_source_is_an_error_not_silence() -> None:
    text = '[[calendar]]\nname = "x"\ntimezone = "UTC"\nhours = "24x7"\ncountry = "FR"'
    with pytest.raises(InputError, match="no public-holiday source"):
        load_policies(text, "team.toml")


def test_duplicate_names_are_refused() -> None:
    text = _policy('first_reply = "1h"') + _policy('first_reply = "2h"')
    with pytest.raises(InputError, match="policy 'email' is defined twice"):
        load_policies(text, "team.toml")
