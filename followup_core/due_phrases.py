"""Natural-language due times ("tomorrow 10am", "tonight at 8", "the 3rd").

A small, explicit grammar on pendulum rather than a general date parser: it
runs in the client on every keystroke of the outcome form, must stay light to
import, and should refuse what it cannot read unambiguously instead of
guessing. Phrases are read on the practice's wall clock; results are UTC, and
the outcome form echoes the result (with its zone) before it is saved.

Why not dateparser (or parsedatetime / chrono): their public trackers hold
exactly the phrases assistants type for callbacks, unread or misread —
"tonight" is not parsed at all (scrapinghub/dateparser#895), "tonight at 7"
lands on 8 pm (joestelmach/natty#87), "tomorrow end of day" becomes 9 am
(bear/parsedatetime#189), "tomorrow afternoon" drops the afternoon
(wanasit/chrono#126), a bare "the 11th" is refused (natty-parser/natty#139),
"today" is read at the server's clock instead of the given zone
(scrapinghub/dateparser#460). Each of those is a row in our test table.
A general parser also guesses where we must refuse ("tomorrow at 5": 5 am or
5 pm?), and importing one costs more than this module on each start.

Grammar (case-insensitive; the parts may come in any order, each once):
    now | asap | right away | this time tomorrow | same time tomorrow
    in <n> <unit> [and <n> <unit>]... | <n> <unit> from now
        n: 1, 1.5, a, an, half an, a couple (of) (= 2), "... and a half"
        units: min(s)/minute(s)/m, h/hr(s)/hour(s), d/day(s), w/wk(s)/week(s)
    day:  today | tomorrow | the day after tomorrow | [this|next] <weekday>
          | next week (its Monday) | end of (the) week (Friday 17:00)
          | 2026-12-01 | 12/3[/2026] (US month/day) | dec 3[rd][, 2026]
          | 3[rd] [of] dec [2026] | [the] 3rd (this month's, else the next month's)
    part of the day (sets the half of the day for a bare hour):
          morning 09:00 | first thing 09:00 | lunch 12:00 | after lunch 13:00
          | afternoon 13:00 | evening / night 18:00; "tonight", "this evening",
          "this afternoon", "this morning" are today's.
    time: 10am | 10:30 pm | 14:00 | [at] 9 | noon | midnight (the end of the day
          named) | eod / end of day / cob 17:00
    fillers: at, @, on, by, around, about, in the, of, commas.

Rules (the source of each is the test table in tests/core/test_due_phrases.py):
- A bare weekday or "next <weekday>" is the next such day after today; "this
  <weekday>" may be today.
- A day without a time means 09:00; with a part of the day, the part's start.
- A time alone is its next occurrence; a part alone is today's if it has not
  ended (now, when it has begun), else tomorrow's. "This afternoon" after 17:00
  is refused rather than moved to tomorrow.
- A bare hour needs "at", a day or a part of the day ("at 9", "tomorrow 10",
  "8 tonight"). With an evening/afternoon part, 1-11 are pm ("tonight at 8" is
  20:00); with a morning part, am. Without a part, hours 1-7 without am/pm are
  refused as ambiguous. An am/pm that contradicts the part is refused.
- Never in the past, never more than two years ahead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pendulum
from pendulum import DateTime

from followup_core.errors import DuePhraseError

MAX_AHEAD = timedelta(days=2 * 366)
DEFAULT_HOUR = 9
END_OF_DAY = (17, 0)

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
    "noon": (12, 0), "midday": (12, 0), "midnight": (0, 0), "eod": END_OF_DAY,
    "end of day": END_OF_DAY, "end of the day": END_OF_DAY, "end of business": END_OF_DAY,
    "cob": END_OF_DAY, "close of business": END_OF_DAY,
}  # fmt: skip


@dataclass(frozen=True)
class _Part:
    """A part of the day: where it starts, when it is over, and which half a bare hour is in."""

    start: tuple[int, int]
    ends: int  # hour (local) after which the part is over
    half: str  # "am" or "pm"


_PARTS = {
    "morning": _Part((9, 0), 12, "am"),
    "first thing": _Part((9, 0), 9, "am"),
    "lunch": _Part((12, 0), 13, "pm"),
    "lunchtime": _Part((12, 0), 13, "pm"),
    "lunch time": _Part((12, 0), 13, "pm"),
    "after lunch": _Part((13, 0), 14, "pm"),
    "afternoon": _Part((13, 0), 17, "pm"),
    "evening": _Part((18, 0), 22, "pm"),
    "night": _Part((18, 0), 22, "pm"),
}
# Words naming today's part of the day outright.
_TODAY_PARTS = {"tonight": "night", "tonite": "night"}

_UNITS = {
    **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), "minutes"),
    **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), "hours"),
    **dict.fromkeys(("d", "day", "days"), "days"),
    **dict.fromkeys(("w", "wk", "wks", "week", "weeks"), "weeks"),
}


def _alternation(words: Iterable[str]) -> str:
    return "|".join(sorted((re.escape(w) for w in words), key=len, reverse=True))


_WD = _alternation(_WEEKDAYS)
_MO = _alternation(_MONTHS)
_NT = _alternation(_NAMED_TIMES)
_PT = _alternation(_PARTS)
_END = r"(?=$|[\s,])"
_ORD = r"(?:st|nd|rd|th)"
_YEAR = r"(?:,?\s+(?P<y>\d{4}))?"

_FILLER_RE = re.compile(r"^(?:,|at\b|@|on\b|by\b|around\b|about\b|in the\b|the\b|of\b|\s)+")
_TIME_RE = re.compile(
    rf"^(?:(?P<named>{_NT})|(?P<h>\d{{1,2}})(?::(?P<m>\d{{2}}))?\s*"
    rf"(?P<ampm>a\.?m\.?|p\.?m\.?|a|p)?){_END}"
)
_PART_RE = re.compile(rf"^(?:(?P<this>this)\s+)?(?P<part>{_PT}){_END}")
_TODAY_PART_RE = re.compile(rf"^(?P<word>{_alternation(_TODAY_PARTS)}){_END}")
_DAY_RES = [
    (
        "word",
        re.compile(
            r"^(?P<word>today|tomorrow|tmrw|tmr|tomorow|next week|(?:the\s+)?day after tomorrow"
            rf"|end of (?:the )?week|eow){_END}"
        ),
    ),
    ("weekday", re.compile(rf"^(?:(?P<which>this|next)\s+)?(?P<wd>{_WD}){_END}")),
    ("iso", re.compile(rf"^(?P<y>\d{{4}})-(?P<mo>\d{{1,2}})-(?P<d>\d{{1,2}})(?:t|{_END})")),
    ("us", re.compile(rf"^(?P<mo>\d{{1,2}})/(?P<d>\d{{1,2}})(?:/(?P<y>\d{{4}}|\d{{2}}))?{_END}")),
    (
        "month_day",
        re.compile(rf"^(?P<mon>{_MO})\.?\s+(?:the\s+)?(?P<d>\d{{1,2}}){_ORD}?{_YEAR}{_END}"),
    ),
    (
        "day_month",
        re.compile(rf"^(?P<d>\d{{1,2}}){_ORD}?\s+(?:of\s+)?(?P<mon>{_MO})\.?{_YEAR}{_END}"),
    ),
    ("ordinal", re.compile(rf"^(?P<d>\d{{1,2}}){_ORD}{_END}")),
]
_REL_RE = re.compile(r"(?P<n>\d+(?:\.\d+)?|an?|half an?)\s*(?P<unit>[a-z]+)")
_SAME_TIME_TOMORROW = frozenset(
    {"this time tomorrow", "same time tomorrow", "tomorrow same time", "tomorrow this time"}
)
_VAGUE = frozenset({"later", "later today", "soon", "sometime", "whenever", "eventually"})
_HINT = "try 'tomorrow 10am', 'in 2 hours', 'mon 9:30' or '2026-12-01 14:00'"


def parse_due(text: str, *, now: datetime, tz: str) -> DateTime:
    """The moment `text` names, read on the wall clock of `tz`, as UTC.

    `now` must be timezone-aware. Raises DuePhraseError (one line: what was not
    understood, or why it is refused) for anything unreadable, ambiguous, past
    or more than two years ahead; ValueError for a naive `now`.
    """
    if now.tzinfo is None:
        raise ValueError("parse_due needs a timezone-aware now")
    phrase = " ".join(text.lower().replace("\u2019", "'").split()).rstrip(".!")
    if not phrase:
        raise DuePhraseError(text, "it is empty")
    if len(phrase) > 60:
        raise DuePhraseError(text, "it is too long")
    local_now = pendulum.instance(now).in_timezone(tz)
    phrase = _rewrite(text, phrase)
    if phrase in ("now", "asap", "right now", "right away", "immediately"):
        result = local_now
    elif phrase in _SAME_TIME_TOMORROW:
        result = local_now.add(days=1)
    elif phrase in _VAGUE:
        raise DuePhraseError(text, "say when: try 'in 2 hours' or 'today 3pm'")
    elif phrase.startswith("in ") and not phrase.startswith("in the "):
        result = _relative(text, phrase[3:], local_now)
    else:
        result = _absolute(text, phrase, local_now, tz)
    if result < local_now:
        raise DuePhraseError(text, "that time has already passed")
    if result - local_now > MAX_AHEAD:
        raise DuePhraseError(text, "that is more than two years ahead")
    return result.in_timezone(pendulum.UTC)


def _rewrite(text: str, phrase: str) -> str:
    """Spoken amounts to the grammar's: 'a couple of hours from now' -> 'in 2 hours'."""
    if phrase.endswith(" from now"):
        phrase = "in " + phrase[: -len(" from now")]
    if re.search(r"\b(?:a )?few\b|\bseveral\b", phrase):
        raise DuePhraseError(text, "say how many, e.g. 'in 3 hours'")
    phrase = re.sub(r"\b(?:a )?couple(?: of)?\b", "2", phrase)
    # "an hour and a half" / "2 hours and a half" -> "1.5 hours" / "2.5 hours".
    return re.sub(
        r"\b(an?|\d+) ([a-z]+) and a half\b",
        lambda m: f"{1 if m.group(1) in ('a', 'an') else int(m.group(1))}.5 {m.group(2)}",
        phrase,
    )


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


@dataclass
class _Read:
    """What the words of a phrase named, before it is placed on the calendar."""

    day: date | None = None
    day_time: tuple[int, int] | None = None  # the day's own time ("end of week": 17:00)
    part: str | None = None
    part_today: bool = False  # "tonight", "this afternoon": today's, never tomorrow's
    hour: int | None = None
    minute: int = 0
    ampm: str | None = None  # "am" / "pm" as written
    bare: bool = False  # an hour with neither minutes nor am/pm ("at 8")
    padded: bool = False  # written with a leading zero ("02:30"): a 24-hour time
    named: str | None = None
    after_at: bool = False  # the time followed "at" or "@"


def _absolute(text: str, phrase: str, local_now: DateTime, tz: str) -> DateTime:
    read = _read(text, phrase, local_now)
    today = local_now.date()
    hm = _time_of(text, read)
    if read.day is None:
        if hm is not None:
            day = today
            if _at(today, hm, tz) < local_now and not read.part_today:
                day = today + timedelta(days=1)  # a time alone is its next occurrence
            return _at(day, hm, tz)
        assert read.part is not None  # _read refuses a phrase naming nothing
        part = _PARTS[read.part]
        start = _at(today, part.start, tz)
        if start >= local_now:
            return start
        if local_now.hour < part.ends:
            return local_now  # already in that part of the day: due now
        return _at(today + timedelta(days=1), part.start, tz)
    if hm is None:
        if read.part is not None:
            hm = _PARTS[read.part].start
            start = _at(read.day, hm, tz)
            if read.day == today and start < local_now <= _at(
                today, (_PARTS[read.part].ends, 0), tz
            ):
                return local_now
        else:
            hm = read.day_time or (DEFAULT_HOUR, 0)
    return _at(read.day, hm, tz, midnight=read.named == "midnight")


def _read(text: str, phrase: str, local_now: DateTime) -> _Read:
    read = _Read()
    rest = phrase
    seen: set[str] = set()

    def once(kind: str) -> None:
        if kind in seen:
            raise DuePhraseError(text, f"it names two {kind}s")
        seen.add(kind)

    while True:
        filler = _FILLER_RE.match(rest)
        said_at = False
        if filler is not None:
            said_at = re.search(r"\bat\b|@", filler.group(0)) is not None
            rest = rest[filler.end() :]
        if not rest:
            break
        m = _TODAY_PART_RE.match(rest)
        if m is not None:
            once("day")
            once("part of the day")
            read.day, read.part, read.part_today = local_now.date(), _TODAY_PARTS[m["word"]], True
            rest = rest[m.end() :]
            continue
        m = _PART_RE.match(rest)
        if m is not None:
            once("part of the day")
            read.part = m["part"]
            if m["this"]:
                once("day")
                read.day, read.part_today = local_now.date(), True
            rest = rest[m.end() :]
            continue
        day = _match_day(text, rest, local_now)
        if day is not None:
            once("day")
            read.day, read.day_time, rest = day
            continue
        m = _TIME_RE.match(rest)
        if m is not None:
            once("time")
            if m["named"]:
                read.named = m["named"]
                read.hour, read.minute = _NAMED_TIMES[m["named"]]
            else:
                read.hour, read.minute = int(m["h"]), int(m["m"] or 0)
                read.ampm = (m["ampm"] or "")[:1] + "m" if m["ampm"] else None
                read.bare = m["m"] is None and m["ampm"] is None
                read.padded = m["h"].startswith("0")
                read.after_at = said_at
                if m["m"] is not None and read.minute > 59:
                    raise DuePhraseError(text, "minutes go up to 59")
            rest = rest[m.end() :]
            continue
        if not seen:
            raise DuePhraseError(text, _HINT)
        raise DuePhraseError(text, f"cannot read {rest.strip(' ,')!r}")
    if not seen:
        raise DuePhraseError(text, _HINT)
    if read.bare and not (read.after_at or read.day or read.part):
        raise DuePhraseError(text, _HINT)
    return read


def _time_of(text: str, read: _Read) -> tuple[int, int] | None:
    """The (hour, minute) the phrase names, its half of the day settled; None if no time."""
    if read.hour is None:
        return None
    hour, minute = read.hour, read.minute
    part = _PARTS[read.part] if read.part else None
    if read.named:
        if part is not None and read.named != "midnight":
            raise DuePhraseError(text, f"{read.named} is not a time in the {read.part}")
        return hour, minute
    if read.ampm:
        if not 1 <= hour <= 12:
            raise DuePhraseError(text, "with am/pm the hour is 1 to 12")
        hour = hour % 12 + (12 if read.ampm == "pm" else 0)
        if part is not None and (hour >= 12) != (part.half == "pm"):
            raise DuePhraseError(text, f"{read.hour}{read.ampm} is not in the {read.part}")
        return hour, minute
    if hour > 23:
        raise DuePhraseError(text, "hours go up to 23")
    if part is not None:
        if hour == 12 and part.half == "pm" and part.start[0] <= 13:
            return 12, minute  # "this afternoon at 12:30"
        if hour == 12 or hour == 0:
            raise DuePhraseError(text, "say noon or midnight")
        if part.half == "pm" and hour < 12:
            hour += 12
        if (hour >= 12) != (part.half == "pm"):
            raise DuePhraseError(text, f"{read.hour}:{minute:02d} is not in the {read.part}")
        return hour, minute
    if 1 <= hour <= 7 and not read.padded:
        raise DuePhraseError(text, f"say {hour}am or {hour}pm")
    return hour, minute


def _match_day(
    text: str, phrase: str, local_now: DateTime
) -> tuple[date, tuple[int, int] | None, str] | None:
    today = local_now.date()
    for kind, regex in _DAY_RES:
        m = regex.match(phrase)
        if m is None:
            continue
        rest = phrase[m.end() :]
        if kind == "word":
            word = m.group("word")
            if word == "today":
                return today, None, rest
            if word == "next week":
                return today + timedelta(days=8 - today.isoweekday()), None, rest
            if word.endswith("after tomorrow"):
                return today + timedelta(days=2), None, rest
            if word in ("eow", "end of week", "end of the week"):
                # This week's Friday; at the weekend, the coming one.
                return today + timedelta(days=(5 - today.isoweekday()) % 7), END_OF_DAY, rest
            return today + timedelta(days=1), None, rest
        if kind == "weekday":
            ahead = (_WEEKDAYS[m.group("wd")] - today.isoweekday()) % 7
            if ahead == 0 and m.group("which") != "this":
                ahead = 7
            return today + timedelta(days=ahead), None, rest
        if kind == "ordinal":
            return _next_day_of_month(text, today, int(m.group("d"))), None, rest
        month = int(m.group("mo")) if "mo" in m.groupdict() else _MONTHS[m.group("mon")]
        year = m.group("y")
        if year is not None and len(year) == 2:
            year = str(2000 + int(year))
        if year is not None and int(year) > today.year + 2:
            raise DuePhraseError(text, "that is more than two years ahead")
        day = _date(text, int(year) if year else today.year, month, int(m.group("d")))
        if year is None and day < today:
            day = _date(text, today.year + 1, month, day.day)
        return day, None, rest
    return None


def _next_day_of_month(text: str, today: date, day: int) -> date:
    """'The 3rd': this month's if it is today or later, else the next month that has one."""
    if not 1 <= day <= 31:
        raise DuePhraseError(text, "there is no such date")
    year, month = today.year, today.month
    for _ in range(13):
        try:
            candidate = date(year, month, day)
        except ValueError:
            candidate = None
        if candidate is not None and candidate >= today:
            return candidate
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    raise DuePhraseError(text, "there is no such date")  # pragma: no cover - 13 months hold one


def _date(text: str, year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise DuePhraseError(text, "there is no such date") from None


def _at(day: date, hm: tuple[int, int], tz: str, *, midnight: bool = False) -> DateTime:
    """`day` at `hm` on the wall clock of `tz`; midnight=True: the midnight that ends `day`."""
    if midnight:
        day = day + timedelta(days=1)
    return pendulum.datetime(day.year, day.month, day.day, hm[0], hm[1], tz=tz)
