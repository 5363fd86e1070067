"""Business-hours arithmetic in the practice's zone, calling windows in the patient's.

Every function takes timezone-aware datetimes (any zone) and returns pendulum
DateTimes in UTC: stored times are UTC and shown in a local zone. Opening and
closing times are wall-clock times in the practice's zone, rebuilt per day, so
daylight-saving changes move them correctly.

Hours may cross midnight: `opens="21:00", closes="02:00"` on a Friday is an
evening line open from Friday 21:00 to Saturday 02:00 (local). Such a span
belongs to the day it opens: a holiday on Friday closes it, a holiday on
Saturday does not.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC as STD_UTC
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pendulum
from pendulum import DateTime

from followup_core.schemas import BusinessHours, PracticeOut

UTC = pendulum.UTC
_DAY_MINUTES = 24 * 60


def _minutes(hhmm: str) -> int:
    hours, minutes = (int(part) for part in hhmm.split(":"))
    total = hours * 60 + minutes
    if minutes > 59 or total > _DAY_MINUTES:
        raise ValueError(f"{hhmm!r} is not a time of day")
    return total


def to_utc(at: datetime) -> DateTime:
    """An aware datetime as a pendulum DateTime in UTC (naive datetimes are a bug)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business time needs a timezone-aware datetime")
    return pendulum.instance(at).in_timezone(UTC)


def _plain_utc(at: datetime) -> datetime:
    """A stdlib UTC datetime: internal arithmetic avoids pendulum's costly Interval objects."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("business time needs a timezone-aware datetime")
    u = at.astimezone(STD_UTC)
    return datetime(
        u.year, u.month, u.day, u.hour, u.minute, u.second, u.microsecond, tzinfo=STD_UTC
    )


def _out(at: datetime) -> DateTime:
    return pendulum.instance(at).in_timezone(UTC)


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """A time zone by IANA name; ValueError (not KeyError) for an unknown one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def _wall(day: date, minutes: int, tz: str) -> datetime:
    """`minutes` after midnight of `day` on the wall clock of `tz`, as a stdlib UTC datetime.

    A wall time skipped by a spring-forward change (02:30) lands after the gap
    (03:30), as pendulum does; fold=0 picks the earlier of a repeated hour.
    """
    if minutes >= _DAY_MINUTES:  # past midnight: the wall clock of a later day
        day, minutes = day + timedelta(days=minutes // _DAY_MINUTES), minutes % _DAY_MINUTES
    local = datetime(day.year, day.month, day.day, minutes // 60, minutes % 60, tzinfo=zone(tz))
    return local.astimezone(STD_UTC)


class PracticeCalendar:
    """A practice's opening hours per ISO weekday, its holidays and its zone."""

    def __init__(
        self, timezone: str, hours: Sequence[BusinessHours], holidays: Iterable[date] = ()
    ) -> None:
        zone(timezone)  # ValueError for a bad name
        self.timezone = timezone
        self.holidays = frozenset(holidays)
        week: dict[int, list[tuple[int, int]]] = {}
        for h in hours:
            opens, closes = span_minutes(h.opens, h.closes)
            week.setdefault(h.weekday, []).append((opens, closes))
        if not week:
            raise ValueError("a practice calendar needs at least one opening")
        self._week = {day: _merge(spans) for day, spans in week.items()}
        _check_overnight(self._week)
        # Longest possible run of closed days: a week per holiday, plus one.
        self._max_gap_days = 7 * (len(self.holidays) + 2)
        # Spans per local day, memoised: the periodic job and the cache ask about
        # the same few days for thousands of tasks, and building zoned datetimes
        # dominates the cost. The calendar is immutable, so entries never go stale.
        self._day_cache: dict[date, list[tuple[datetime, datetime]]] = {}

    @classmethod
    def from_practice(cls, practice: PracticeOut) -> PracticeCalendar:
        return cls(
            practice.timezone,
            practice.business_hours,
            [date.fromisoformat(d) for d in practice.holidays],
        )

    def local(self, at: datetime) -> DateTime:
        """`at` on the practice's wall clock."""
        return to_utc(at).in_timezone(self.timezone)

    def is_working_day(self, day: date) -> bool:
        return day not in self.holidays and day.isoweekday() in self._week

    def openings_on(self, day: date) -> list[tuple[DateTime, DateTime]]:
        """The (opens, closes) spans of a local calendar day, in UTC; empty when closed."""
        return [(_out(opens), _out(closes)) for opens, closes in self._spans(day)]

    def _spans(self, day: date) -> list[tuple[datetime, datetime]]:
        cached = self._day_cache.get(day)
        if cached is not None:
            return cached
        spans: list[tuple[datetime, datetime]] = []
        if self.is_working_day(day):
            spans = [
                (_wall(day, o, self.timezone), _wall(day, c, self.timezone))
                for o, c in self._week[day.isoweekday()]
            ]
        if len(self._day_cache) >= 4096:
            self._day_cache.clear()
        self._day_cache[day] = spans
        return spans

    def _local_date(self, at: datetime) -> date:
        return at.astimezone(zone(self.timezone)).date()

    def _openings_from(self, at: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Opening spans that end after `at`, in order, for ever.

        The search starts the day before `at`'s local date, where a span that
        crosses midnight may still be open.
        """
        day = self._local_date(at) - timedelta(days=1)
        closed_run = 0
        while True:
            spans = [span for span in self._spans(day) if span[1] > at]
            if spans:
                closed_run = 0
                yield from spans
            else:
                closed_run += 1
                if closed_run > self._max_gap_days:
                    raise ValueError("the practice calendar never opens again")
            day = day + timedelta(days=1)

    def is_open(self, at: datetime) -> bool:
        utc = _plain_utc(at)
        day = self._local_date(utc)
        return any(
            opens <= utc < closes
            for d in (day - timedelta(days=1), day)
            for opens, closes in self._spans(d)
        )

    def next_open(self, at: datetime) -> DateTime:
        """`at` itself when open, otherwise the next opening."""
        return _out(self._next_open(_plain_utc(at)))

    def _next_open(self, utc: datetime) -> datetime:
        opens, _ = next(self._openings_from(utc))
        return max(opens, utc)

    def add_business_time(self, at: datetime, delta: timedelta) -> DateTime:
        """`at` plus `delta` of open time; after-hours starts roll to the next opening.

        A result that uses up a span exactly is that span's closing time ("by close
        of business"), never the next morning.
        """
        if delta < timedelta(0):
            raise ValueError("business time only moves forward")
        utc = _plain_utc(at)
        remaining = delta
        for opens, closes in self._openings_from(utc):
            start = max(opens, utc)
            available = closes - start
            if remaining <= available:
                return _out(start + remaining)
            remaining -= available
        raise AssertionError("unreachable: _openings_from never ends")

    def business_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Open time from `start` to `end` (negative when `end` is earlier): SLA countdowns."""
        a, b = _plain_utc(start), _plain_utc(end)
        if b < a:
            return -self.business_time_between(b, a)
        total = timedelta(0)
        for opens, closes in self._openings_from(a):
            if opens >= b:
                break
            total += min(closes, b) - max(opens, a)
        return total

    def due_for(self, triggered_at: datetime, response_target: timedelta) -> DateTime:
        """When a task triggered at `triggered_at` is due, in business time."""
        return self.add_business_time(triggered_at, response_target)

    def next_contact_time(
        self, at: datetime, patient_tz: str | None, window_start: time, window_end: time
    ) -> DateTime:
        """The first moment at or after `at` when the practice is open *and* the patient's
        calling window is open.

        If the two never meet (a patient many zones away), the patient's window
        wins: calling someone at night is never acceptable, while (virtual)
        assistants can work outside the practice's hours.
        """
        if not window_start < window_end:
            raise ValueError("the calling window must start before it ends")
        start = _plain_utc(at)
        t = self._next_open(start)
        tz = patient_tz or self.timezone
        for _ in range(64):
            in_window = _in_window(t, tz, window_start, window_end)
            if in_window == t:
                return _out(t)
            t = self._next_open(in_window)
        return _out(_in_window(start, tz, window_start, window_end))


def next_in_calling_window(
    at: datetime, patient_tz: str, window_start: time, window_end: time
) -> DateTime:
    """`at` if it falls in the patient's daily calling window, else the window's next start."""
    if not window_start < window_end:
        raise ValueError("the calling window must start before it ends")
    return _out(_in_window(_plain_utc(at), patient_tz, window_start, window_end))


def _in_window(utc: datetime, patient_tz: str, window_start: time, window_end: time) -> datetime:
    day = utc.astimezone(zone(patient_tz)).date()
    start_min = window_start.hour * 60 + window_start.minute
    end_min = window_end.hour * 60 + window_end.minute
    opens, closes = _wall(day, start_min, patient_tz), _wall(day, end_min, patient_tz)
    if utc < opens:
        return opens
    if utc < closes:
        return utc
    return _wall(day + timedelta(days=1), start_min, patient_tz)


def span_minutes(opens: str, closes: str) -> tuple[int, int]:
    """An opening as minutes after the opening day's midnight: ("21:00", "02:00") is
    (1260, 1560), a span that closes at 02:00 the next day.

    Raises ValueError for a malformed time or an empty span (opens == closes).
    """
    start, end = _minutes(opens), _minutes(closes)
    if start >= _DAY_MINUTES:
        raise ValueError(f"{opens!r} is not an opening time (24:00 only closes)")
    if end == start:
        raise ValueError(f"opens and closes are both {opens}: an opening needs a length")
    if end < start:
        end += _DAY_MINUTES  # closes after midnight
    return start, end


def _check_overnight(week: Mapping[int, tuple[tuple[int, int], ...]]) -> None:
    """A span past midnight must close before the next weekday's first opening."""
    for day, spans in week.items():
        late = max(closes for _, closes in spans) - _DAY_MINUTES
        following = week.get(day % 7 + 1, ())
        if late > 0 and following and following[0][0] < late:
            raise ValueError(
                f"weekday {day}'s hours run past midnight into weekday {day % 7 + 1}'s opening"
            )


def _merge(spans: list[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    """Overlapping or touching spans of one weekday become one."""
    merged: list[tuple[int, int]] = []
    for opens, closes in sorted(spans):
        if merged and opens <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], closes))
        else:
            merged.append((opens, closes))
    return tuple(merged)
