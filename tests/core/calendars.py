"""Practice calendars shared by the core tests."""

from __future__ import annotations

from datetime import date

from followup_core.business_time import PracticeCalendar
from followup_core.schemas import BusinessHours

WEEKDAYS_9_TO_5 = [BusinessHours(weekday=d, opens="09:00", closes="17:00") for d in range(1, 6)]
# A clinic with a lunch break and a Saturday morning.
SPLIT_HOURS = [
    *(BusinessHours(weekday=d, opens="08:00", closes="12:00") for d in range(1, 6)),
    *(BusinessHours(weekday=d, opens="13:00", closes="18:30") for d in range(1, 6)),
    BusinessHours(weekday=6, opens="09:00", closes="12:00"),
]
HOLIDAYS = [date(2026, 11, 26), date(2026, 12, 25), date(2027, 1, 1), date(2026, 7, 3)]


def new_york() -> PracticeCalendar:
    return PracticeCalendar("America/New_York", WEEKDAYS_9_TO_5, HOLIDAYS)


def denver_split() -> PracticeCalendar:
    return PracticeCalendar("America/Denver", SPLIT_HOURS, HOLIDAYS)
