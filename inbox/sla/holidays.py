"""Public holidays of a country, for business calendars (the one module that uses ``holidays``).

Pass :func:`country_holidays` to ``inbox.sla.policy.load_policies`` so that a calendar with
``country = "FR"`` closes on French public holidays. ``"DE-BY"`` names a subdivision.
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache


def country_holidays(country: str, years: range) -> set[date]:
    """The public holidays of ``country`` (ISO 3166 code, optionally ``-SUBDIV``) in ``years``.

    Raises ValueError for a code the holidays package does not know.
    """
    found: set[date] = set()
    for year in years:
        found |= _one_year(country.strip().upper(), year)
    return found


@lru_cache(maxsize=512)
def _one_year(country: str, year: int) -> frozenset[date]:
    import holidays  # 45 ms of imports, paid by the first calendar that names a country, not at start-up

    code, _, subdiv = country.partition("-")
    try:
        table = holidays.country_holidays(code, subdiv=subdiv or None, years=year)
    except NotImplementedError:
        raise ValueError(f"{country!r} is not a country code the holidays package knows") from None
    return frozenset(table.keys())
