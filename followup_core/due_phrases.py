"""Natural-language due times ("tomorrow 10am", "in 2 hours", "mon 9:30").

A small, explicit grammar on pendulum rather than a general date parser: it
runs in the client on every keystroke of the outcome form, must stay light to
import, and should refuse what it cannot read unambiguously instead of
guessing. Phrases are read on the practice's wall clock; results are UTC.

Grammar (case-insensitive):
    now | asap
    in <n> <unit> [and <n> <unit>]...    units: min(s)/minute(s)/m, h/hr(s)/hour(s),
                                          d/day(s), w/wk(s)/week(s); "an hour", "half an hour"
    <day> [[at|@|,] <time>]  |  <time> [on] <day>  |  [at] <time>
    day:  today | tonight | tomorrow | [this|next] <weekday> | next week
          | 2026-12-01 | 12/01[/2026] | dec 1[st][, 2026] | 1 dec [2026]
    time: 10am | 10:30 pm | 14:00 | 9 (8-23 only) | noon | midnight | eod | morning
          | afternoon | evening
A bare weekday or "next <weekday>" is the next such day after today; "this
<weekday>" may be today. A day without a time means 09:00 (tonight: 18:00; next
week: Monday 09:00). A time alone is its next occurrence. Hours 1-7 without
am/pm are refused as ambiguous.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pendulum
from pendulum import DateTime

from followup_core.errors import DuePhraseError

MAX_AHEAD = timedelta(days=2 * 366)
DEFAULT_HOUR = 9

_WEEKDAYS = {
    "mon": 1, "monday": 1, "tue": 2, "tues": 2, "tuesday": 2, "wed": 3, "weds": 3,
    "wednesday": 3, "thu": 4, "thur": 4, "thurs": 4, "thursday": 4, "fri": 5, "friday": 5,
    "sat": 6, "saturday": 6, "sun": 7, "sunday": 7,
}  # fmt: skip
_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"), ("feb", "february"), ("mar", "march"), ("apr", "april"),
            ("may",), ("jun", "june"), ("jul", "july"), ("aug", "august"),
            ("sep", "sept", "september"), ("oct", "october"), ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}  # fmt: skip
_NAMED_TIMES = {
    "noon": (12, 0), "midday": (12, 0), "midnight": (0, 0), "eod": (17, 0),
    "end of day": (17, 0), "cob": (17, 0), "close of business": (17, 0),
    "morning": (9, 0), "afternoon": (13, 0), "evening": (18, 0),
}  # fmt: skip
_UNITS = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "minutes"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hours"),
    **dict.fromkeys(("d", "day", "days"), "days"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "weeks"),
}

_WD = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_MO = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NT = "|".join(sorted(_NAMED_TIMES, key=len, reverse=True))
_END = r"(?=$|[\s,])"
_TIME_RE = re.compile(
    rf"^(?:(?:at|@)\s*)?(?:(?P<named>{_NT})|(?P<h>\d{{1,2}})(?::(?P<m>\d{{2}}))?\s*"
    rf"(?P<ampm>a\.?m\.?|p\.?m\.?|a|p)?){_END}"
)
_DAY_RES = [
    ("word", re.compile(rf"^(?P<word>today|tonight|tomorrow|tmrw|tmr|next week){_END}")),
    ("weekday", re.compile(rf"^(?:(?P<which>this|next)\s+)?(?P<wd>{_WD}){_END}")),
    ("iso", re.compile(rf"^(?P<y>\d{{4}})-(?P<mo>\d{{1,2}})-(?P<d>\d{{1,2}})(?:t|{_END})")),
    ("us", re.compile(rf"^(?P<mo>\d{{1,2}})/(?P<d>\d{{1,2}})(?:/(?P<y>\d{{4}}))?{_END}")),
    (
        "month_day",
        re.compile(
            rf"^(?P<mon>{_MO})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(?P<y>\d{{4}}))?{_END}"
        ),
    ),
    (
        "day_month",
        re.compile(
            rf"^(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon>{_MO})\.?(?:,?\s+(?P<y>\d{{4}}))?{_END}"
        ),
    ),
]
_REL_RE = re.compile(r"(?P<n>\d+(?:\.\d+)?|an?|half an?)\s*(?P<unit>[a-z]+)")


def parse_due(text: str, *, now: datetime, tz: str) -> DateTime:
    """The moment `text` names, read on the wall clock of `tz`, as UTC.

    Raises DuePhraseError for anything unreadable, ambiguous, past or too far ahead.
    """
    if now.tzinfo is None:
        raise ValueError("parse_due needs a timezone-aware now")
    phrase = " ".join(text.lower().replace("\u2019", "'").split()).rstrip(".!")
    if not phrase:
        raise DuePhraseError(text, "it is empty")
    if len(phrase) > 60:
        raise DuePhraseError(text, "it is too long")
    local_now = pendulum.instance(now).in_timezone(tz)
    if phrase in ("now", "asap", "right now"):
        result = local_now
    elif phrase.startswith("in "):
        result = _relative(text, phrase[3:], local_now)
    else:
        result = _absolute(text, phrase, local_now, tz)
    if result < local_now:
        raise DuePhraseError(text, "that time has already passed")
    if result - local_now > MAX_AHEAD:
        raise DuePhraseError(text, "that is more than two years ahead")
    return result.in_timezone(pendulum.UTC)


def _relative(text: str, rest: str, local_now: DateTime) -> DateTime:
    parts = [p for p in re.split(r"\s*(?:,|\band\b)\s*", rest) if p]
    amounts: dict[str, float] = {}
    for part in parts:
        # "1h30m" holds two amounts in one part.
        matches = list(_REL_RE.finditer(part))
        if not matches or "".join(m.group(0) for m in matches).replace(" ", "") != part.replace(
            " ", ""
        ):
            raise DuePhraseError(text, "say e.g. 'in 2 hours' or 'in 3 days'")
        for m in matches:
            unit = _UNITS.get(m.group("unit"))
            if unit is None:
                raise DuePhraseError(text, f"unknown unit {m.group('unit')!r}")
            n = m.group("n")
            value = 0.5 if n.startswith("half") else 1.0 if n in ("a", "an") else float(n)
            amounts[unit] = amounts.get(unit, 0.0) + value
    if any(v != int(v) for k, v in amounts.items() if k in ("days", "weeks")):
        raise DuePhraseError(text, "use whole days or weeks")
    total_days = (
        amounts.get("weeks", 0.0) * 7
        + amounts.get("days", 0.0)
        + amounts.get("hours", 0.0) / 24
        + amounts.get("minutes", 0.0) / 1440
    )
    if total_days > MAX_AHEAD.days:  # checked before any arithmetic can overflow
        raise DuePhraseError(text, "that is more than two years ahead")
    # Days and weeks keep the wall-clock time across DST; minutes and hours are elapsed time.
    result = local_now.add(days=int(amounts.get("days", 0)), weeks=int(amounts.get("weeks", 0)))
    return result + timedelta(hours=amounts.get("hours", 0.0), minutes=amounts.get("minutes", 0.0))


def _absolute(text: str, phrase: str, local_now: DateTime, tz: str) -> DateTime:
    day_match = _match_day(text, phrase, local_now)
    if day_match is not None:
        day, default, rest = day_match
        rest = rest.lstrip(" ,")
        if not rest:
            return _at(day, default, tz)
        hm, after = _match_time(text, rest, allow_bare=True)
        if hm is None or after.strip():
            raise DuePhraseError(text, f"cannot read the time {rest!r}")
        return _at(day, hm, tz)
    hm, rest = _match_time(text, phrase, allow_bare=phrase.startswith(("at", "@")))
    if hm is None:
        raise DuePhraseError(
            text, "try 'tomorrow 10am', 'in 2 hours', 'mon 9:30' or '2026-12-01 14:00'"
        )
    rest = rest.strip()
    if rest.startswith("on "):
        rest = rest[3:]
    if rest:
        later = _match_day(text, rest, local_now)
        if later is None or later[2].strip():
            raise DuePhraseError(text, f"cannot read the day {rest!r}")
        return _at(later[0], hm, tz)
    # A time alone: its next occurrence.
    today = _at(local_now.date(), hm, tz)
    return today if today >= local_now else _at(local_now.date() + timedelta(days=1), hm, tz)


def _match_day(
    text: str, phrase: str, local_now: DateTime
) -> tuple[date, tuple[int, int], str] | None:
    today = local_now.date()
    default = (DEFAULT_HOUR, 0)
    for kind, regex in _DAY_RES:
        m = regex.match(phrase)
        if m is None:
            continue
        rest = phrase[m.end() :]
        if kind == "word":
            word = m.group("word")
            if word == "today":
                return today, default, rest
            if word == "tonight":
                return today, (18, 0), rest
            if word == "next week":
                return today + timedelta(days=8 - today.isoweekday()), default, rest
            return today + timedelta(days=1), default, rest
        if kind == "weekday":
            ahead = (_WEEKDAYS[m.group("wd")] - today.isoweekday()) % 7
            if ahead == 0 and m.group("which") != "this":
                ahead = 7
            return today + timedelta(days=ahead), default, rest
        month = int(m.group("mo")) if "mo" in m.groupdict() else _MONTHS[m.group("mon")]
        year = m.group("y")
        if year is not None and int(year) > today.year + 2:
            raise DuePhraseError(text, "that is more than two years ahead")
        day = _date(text, int(year) if year else today.year, month, int(m.group("d")))
        if year is None and day < today:
            day = _date(text, today.year + 1, month, day.day)
        return day, default, rest
    return None


def _match_time(text: str, phrase: str, *, allow_bare: bool) -> tuple[tuple[int, int] | None, str]:
    m = _TIME_RE.match(phrase)
    if m is None:
        return None, phrase
    rest = phrase[m.end() :]
    if m.group("named"):
        return _NAMED_TIMES[m.group("named")], rest
    hour, minute, ampm = int(m.group("h")), int(m.group("m") or 0), m.group("ampm")
    if minute > 59:
        raise DuePhraseError(text, "minutes go up to 59")
    if ampm:
        if not 1 <= hour <= 12:
            raise DuePhraseError(text, "with am/pm the hour is 1 to 12")
        hour = hour % 12 + (12 if ampm.startswith("p") else 0)
        return (hour, minute), rest
    if m.group("m") is None and not allow_bare:
        return None, phrase
    if hour > 23:
        raise DuePhraseError(text, "hours go up to 23")
    if 1 <= hour <= 7 and not m.group("h").startswith("0"):
        raise DuePhraseError(text, f"say {hour}am or {hour}pm")
    return (hour, minute), rest


def _date(text: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DuePhraseError(text, "there is no such date") from None


def _at(day: date, hm: tuple[int, int], tz: str) -> DateTime:
    return pendulum.datetime(day.year, day.month, day.day, hm[0], hm[1], tz=tz)
