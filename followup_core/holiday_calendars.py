"""Holiday calendars by name, with observed dates, from the `holidays` library.

A practice names a calendar (`"US"`, or a country with a subdivision, `"US-NY"`,
`"CA-ON"`) and may keep only some of its holidays (`only = ["Memorial Day", …]`,
matched on the holiday's name, its "(observed)" day included). Observed dates
follow the calendar's own rule; for the US federal calendar (5 U.S.C. 6103(b))
a holiday on a Saturday is observed on the Friday before and one on a Sunday on
the Monday after, so July 4 2026 (a Saturday) closes Friday July 3 as well.

Pure computation (no I/O); results are cached per (calendar, only, year).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from functools import lru_cache

import holidays as holidays_lib

OBSERVED_SUFFIX = " (observed)"


class UnknownCalendar(ValueError):
    """The calendar name is not a country (or country-subdivision) the library knows."""


def _split(name: str) -> tuple[str, str | None]:
    country, _, subdivision = name.strip().partition("-")
    return country.upper(), (subdivision.upper() or None)


def check_calendar(name: str) -> None:
    """Raise UnknownCalendar when `name` is not a supported `COUNTRY` or `COUNTRY-SUBDIV`."""
    country, subdivision = _split(name)
    supported = holidays_lib.list_supported_countries()
    if country not in supported:
        raise UnknownCalendar(f"unknown holiday calendar {name!r} (use a country code like 'US')")
    if subdivision is not None and subdivision not in supported[country]:
        raise UnknownCalendar(f"{country} has no subdivision {subdivision!r}")


@lru_cache(maxsize=256)
def _year(name: str, year: int) -> tuple[tuple[date, str], ...]:
    country, subdivision = _split(name)
    found = holidays_lib.country_holidays(country, subdiv=subdivision, years=year, observed=True)
    return tuple(sorted(found.items()))


def holiday_names(name: str, year: int) -> list[str]:
    """The holiday names of calendar `name` in `year`, "(observed)" stripped, in date order."""
    check_calendar(name)
    out: dict[str, None] = {}
    for _, label in _year(name, year):
        for part in label.split("; "):
            out[part.removesuffix(OBSERVED_SUFFIX)] = None
    return list(out)


def holiday_dates(
    name: str, years: Iterable[int], only: Iterable[str] | None = None
) -> dict[date, str]:
    """Closed days of calendar `name` in `years`: each holiday and its observed day.

    `only` keeps the holidays whose name is listed (case-insensitive); None keeps
    all of them. Raises UnknownCalendar for a calendar the library does not know.
    """
    check_calendar(name)
    wanted = None if only is None else {n.strip().lower() for n in only}
    out: dict[date, str] = {}
    for year in years:
        for day, label in _year(name, year):
            parts = [
                p
                for p in label.split("; ")
                if wanted is None or p.removesuffix(OBSERVED_SUFFIX).lower() in wanted
            ]
            if parts:
                out[day] = "; ".join(parts)
    return dict(sorted(out.items()))


def practice_holidays(config: dict[str, object], today: date) -> list[str]:
    """A practice's closed days as ISO dates: its calendar's holidays (observed days
    included) from last year to two years ahead, plus its own days.

    `config` is the stored practice config: `holiday_calendar` = {"name", "only"}
    (or absent) and `holidays` = the practice's own ISO dates.
    """
    own = config.get("holidays") or []
    days = {str(d) for d in own} if isinstance(own, list) else set()
    spec = config.get("holiday_calendar")
    if isinstance(spec, dict) and isinstance(spec.get("name"), str):
        only = spec.get("only")
        years = range(today.year - 1, today.year + 3)
        found = holiday_dates(spec["name"], years, only if isinstance(only, list) else None)
        days |= {d.isoformat() for d in found}
    return sorted(days)
