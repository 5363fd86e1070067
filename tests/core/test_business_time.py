"""Business-hours arithmetic: examples, DST days, and properties."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup_core.business_time import PracticeCalendar, next_in_calling_window
from followup_core.schemas import BusinessHours, PracticeOut
from tests.core.calendars import HOLIDAYS, SPLIT_HOURS, WEEKDAYS_9_TO_5, denver_split, new_york

NY = "America/New_York"


def ny(*args: int) -> pendulum.DateTime:
    return pendulum.datetime(*args, tz=NY)


def test_open_closed_weekend_and_holiday() -> None:
    cal = new_york()
    assert cal.is_open(ny(2026, 11, 24, 9, 0))  # Tuesday
    assert not cal.is_open(ny(2026, 11, 24, 17, 0))  # closing time is closed
    assert not cal.is_open(ny(2026, 11, 24, 8, 59))
    assert not cal.is_open(ny(2026, 11, 28, 12, 0))  # Saturday
    assert not cal.is_open(ny(2026, 11, 26, 12, 0))  # Thanksgiving (holiday)
    # The same instant expressed in UTC gives the same answer.
    assert cal.is_open(ny(2026, 11, 24, 10, 0).in_timezone("UTC"))


def test_after_hours_trigger_rolls_to_next_opening() -> None:
    cal = new_york()
    # Wednesday 18:00 before Thanksgiving → Friday 09:00, then 2 h → 11:00.
    due = cal.due_for(ny(2026, 11, 25, 18, 0), timedelta(hours=2))
    assert due == ny(2026, 11, 27, 11, 0)
    assert due.timezone_name == "UTC"
    # Friday 16:00 + 2 h → Monday 10:00.
    assert cal.add_business_time(ny(2026, 11, 27, 16, 0), timedelta(hours=2)) == ny(
        2026, 11, 30, 10, 0
    )
    # Exactly using up the day ends at close of business, not next morning.
    assert cal.add_business_time(ny(2026, 11, 24, 9, 0), timedelta(hours=8)) == ny(
        2026, 11, 24, 17, 0
    )
    assert cal.next_open(ny(2026, 11, 28, 3, 0)) == ny(2026, 11, 30, 9, 0)
    assert cal.next_open(ny(2026, 11, 24, 10, 0)) == ny(2026, 11, 24, 10, 0)


def test_lunch_break_and_saturday_morning() -> None:
    cal = denver_split()
    den = "America/Denver"
    start = pendulum.datetime(2026, 11, 24, 11, 30, tz=den)
    assert cal.add_business_time(start, timedelta(hours=1)) == pendulum.datetime(
        2026, 11, 24, 13, 30, tz=den
    )
    fri = pendulum.datetime(2026, 11, 27, 18, 0, tz=den)
    assert cal.add_business_time(fri, timedelta(hours=1)) == pendulum.datetime(
        2026, 11, 28, 9, 30, tz=den
    )


def test_dst_days_keep_wall_clock_hours() -> None:
    cal = new_york()
    # Sunday 8 March 2026 is the spring-forward day; Monday opens 09:00 EDT (13:00 UTC).
    monday = cal.next_open(datetime(2026, 3, 7, 20, 0, tzinfo=UTC))
    assert monday == datetime(2026, 3, 9, 13, 0, tzinfo=UTC)
    # The Friday before opened at 09:00 EST (14:00 UTC).
    assert cal.next_open(datetime(2026, 3, 6, 0, 0, tzinfo=UTC)) == datetime(
        2026, 3, 6, 14, 0, tzinfo=UTC
    )
    # Fall back: Monday 2 November 2026 opens 09:00 EST.
    assert cal.next_open(datetime(2026, 10, 31, 12, 0, tzinfo=UTC)) == datetime(
        2026, 11, 2, 14, 0, tzinfo=UTC
    )
    # A 24-hour practice loses an hour on spring-forward Sunday.
    always = PracticeCalendar(
        NY, [BusinessHours(weekday=d, opens="00:00", closes="24:00") for d in range(1, 8)]
    )
    day = always.business_time_between(ny(2026, 3, 8, 0, 0), ny(2026, 3, 9, 0, 0))
    assert day == timedelta(hours=23)


def test_business_time_between_counts_only_open_time() -> None:
    cal = new_york()
    assert cal.business_time_between(ny(2026, 11, 27, 16, 0), ny(2026, 11, 30, 10, 0)) == (
        timedelta(hours=2)
    )
    assert cal.business_time_between(ny(2026, 11, 30, 10, 0), ny(2026, 11, 27, 16, 0)) == (
        -timedelta(hours=2)
    )


def test_from_practice_and_bad_calendars() -> None:
    practice = PracticeOut(
        id="p1",
        name="Synthetic Family Medicine",
        timezone="America/Denver",
        phone="555-0100",
        business_hours=WEEKDAYS_9_TO_5,
        holidays=["2026-12-25"],
        escalation_contacts=[],
        emergency_instruction="Call 911.",
    )
    cal = PracticeCalendar.from_practice(practice)
    assert cal.timezone == "America/Denver"
    assert date(2026, 12, 25) in cal.holidays
    with pytest.raises(ValueError):
        PracticeCalendar("Mars/Olympus_Mons", WEEKDAYS_9_TO_5)
    with pytest.raises(ValueError):
        PracticeCalendar(NY, [])
    with pytest.raises(ValueError):
        PracticeCalendar(NY, [BusinessHours(weekday=1, opens="09:00", closes="09:00")])
    with pytest.raises(ValueError):
        new_york().is_open(datetime(2026, 11, 24, 10, 0))  # naive
    with pytest.raises(ValueError):
        new_york().add_business_time(ny(2026, 11, 24, 10, 0), timedelta(hours=-1))


def test_calling_window_in_patient_zone() -> None:
    start, end = time(9), time(19)
    la = "America/Los_Angeles"
    # 11:00 in New York is 08:00 in Los Angeles: wait until 09:00 Pacific.
    at = ny(2026, 11, 24, 11, 0)
    assert next_in_calling_window(at, la, start, end) == pendulum.datetime(
        2026, 11, 24, 9, 0, tz=la
    )
    # 23:00 New York is 20:00 Pacific: next morning.
    assert next_in_calling_window(ny(2026, 11, 24, 23, 0), la, start, end) == pendulum.datetime(
        2026, 11, 25, 9, 0, tz=la
    )
    inside = ny(2026, 11, 24, 14, 0)
    assert next_in_calling_window(inside, la, start, end) == inside
    # Practice open and patient window must both hold: Honolulu patient, NY practice.
    hnl = "Pacific/Honolulu"
    got = new_york().next_contact_time(ny(2026, 11, 24, 9, 0), hnl, start, end)
    assert got == pendulum.datetime(2026, 11, 24, 9, 0, tz=hnl)  # 14:00 New York
    assert new_york().is_open(got)


# --- properties ---------------------------------------------------------------

ZONES = ["America/New_York", "America/Denver", "America/Phoenix", "Europe/London"]
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
deltas = st.integers(0, 60 * 60).map(lambda m: timedelta(minutes=m))
calendars = st.sampled_from(
    [PracticeCalendar(z, h, HOLIDAYS) for z in ZONES for h in (WEEKDAYS_9_TO_5, SPLIT_HOURS)]
)


def _inside_hours(cal: PracticeCalendar, at: pendulum.DateTime) -> bool:
    """Open, or exactly at a closing time (a due time 'by close of business')."""
    local = cal.local(at)
    spans = cal.openings_on(local.date())
    return any(opens <= at <= closes for opens, closes in spans)


@settings(max_examples=300, deadline=None)
@given(cal=calendars, at=instants, delta=deltas)
def test_due_is_inside_business_hours_on_a_working_day(cal, at, delta) -> None:
    due = cal.add_business_time(at, delta)
    local = cal.local(due)
    assert local.isoweekday() != 7  # no practice here opens on Sunday
    assert local.date() not in cal.holidays
    assert cal.openings_on(local.date())
    assert _inside_hours(cal, due)
    assert due >= at
    # Exactly `delta` of open time lies between the next opening and the due time.
    assert cal.business_time_between(at, due) == delta


@settings(max_examples=200, deadline=None)
@given(cal=calendars, a=instants, b=instants, d1=deltas, d2=deltas)
def test_due_is_monotonic(cal, a, b, d1, d2) -> None:
    a, b = min(a, b), max(a, b)
    d1, d2 = min(d1, d2), max(d1, d2)
    assert cal.add_business_time(a, d1) <= cal.add_business_time(b, d1)
    assert cal.add_business_time(a, d1) <= cal.add_business_time(a, d2)
    assert cal.next_open(a) <= cal.next_open(b)


dst_days = st.sampled_from(
    [date(2026, 3, 6), date(2026, 3, 7), date(2026, 3, 8), date(2026, 10, 31), date(2026, 11, 1)]
)


@settings(max_examples=200, deadline=None)
@given(
    zone=st.sampled_from(["America/New_York", "America/Denver"]),
    day=dst_days,
    minute=st.integers(0, 24 * 60 * 3),
    delta=deltas,
)
def test_dst_weekends_keep_local_opening_hours(zone, day, minute, delta) -> None:
    cal = PracticeCalendar(zone, WEEKDAYS_9_TO_5, HOLIDAYS)
    at = pendulum.datetime(day.year, day.month, day.day, tz=zone).add(minutes=minute)
    due = cal.add_business_time(at, delta)
    local = cal.local(due)
    assert local.isoweekday() <= 5
    # On the wall clock the due time is between 09:00 and 17:00, whatever the offset.
    assert time(9) <= local.time() <= time(17)
    assert cal.business_time_between(at, due) == delta


@settings(max_examples=200, deadline=None)
@given(
    at=instants,
    zone=st.sampled_from(["America/New_York", "America/Denver", "America/Los_Angeles"]),
    start=st.integers(7, 11),
    length=st.integers(2, 12),
)
def test_calling_window_result_is_inside_the_window(at, zone, start, length) -> None:
    w_start, w_end = time(start), time(start + length)
    got = next_in_calling_window(at, zone, w_start, w_end)
    assert got >= at
    assert w_start <= got.in_timezone(zone).time() < w_end
    assert got - at < timedelta(days=1, hours=2)


def test_opening_inside_a_dst_gap_moves_after_the_gap() -> None:
    night = PracticeCalendar(NY, [BusinessHours(weekday=7, opens="02:30", closes="06:00")])
    # 02:30 does not exist on 8 March 2026 in New York: the opening is 03:30 EDT.
    assert night.next_open(datetime(2026, 3, 8, 0, 0, tzinfo=UTC)) == datetime(
        2026, 3, 8, 7, 30, tzinfo=UTC
    )
    assert night.business_time_between(
        datetime(2026, 3, 8, 0, 0, tzinfo=UTC), datetime(2026, 3, 9, 0, 0, tzinfo=UTC)
    ) == timedelta(hours=2, minutes=30)
    with pytest.raises(ValueError, match="time zone"):
        next_in_calling_window(datetime(2026, 3, 8, tzinfo=UTC), "Nowhere/Town", time(9), time(17))


def test_contact_time_falls_back_to_practice_hours_when_windows_never_meet() -> None:
    # 09:00-17:00 New York never overlaps 09:00-12:00 in Tokyo (19:00-22:00 New York):
    # the patient's window wins, never a call at night.
    got = new_york().next_contact_time(ny(2026, 11, 24, 18, 0), "Asia/Tokyo", time(9), time(12))
    assert got == pendulum.datetime(2026, 11, 25, 9, 0, tz="Asia/Tokyo")
    assert got == ny(2026, 11, 24, 19, 0)


@settings(max_examples=200, deadline=None)
@given(
    cal=calendars,
    at=instants,
    patient_tz=st.sampled_from(
        ["America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"]
    ),
)
def test_contact_time_is_inside_the_patient_window_and_open_when_they_meet(
    cal, at, patient_tz
) -> None:
    start, end = time(9), time(19)
    got = cal.next_contact_time(at, patient_tz, start, end)
    assert got >= at
    assert next_in_calling_window(got, patient_tz, start, end) == got
    if not cal.timezone.startswith("Europe/"):  # US practices always overlap US patients
        assert cal.is_open(got)


# --- hours past midnight (issue 12.6) ---------------------------------------------------

EVENING = [
    *WEEKDAYS_9_TO_5,
    *(BusinessHours(weekday=d, opens="21:00", closes="02:00") for d in (1, 2, 3, 4, 5)),
]


def evening_line(zone: str = NY, holidays: tuple[date, ...] = ()) -> PracticeCalendar:
    return PracticeCalendar(zone, EVENING, holidays)


def test_an_evening_line_stays_open_past_midnight() -> None:
    cal = evening_line()
    assert cal.is_open(ny(2026, 11, 24, 23, 30))  # Tuesday night
    assert cal.is_open(ny(2026, 11, 25, 1, 59))  # Wednesday 01:59, Tuesday's line
    assert not cal.is_open(ny(2026, 11, 25, 2, 0))
    assert cal.is_open(ny(2026, 11, 28, 1, 0))  # Saturday 01:00: Friday's line
    assert not cal.is_open(ny(2026, 11, 29, 1, 0))  # Sunday 01:00: Saturday has no line
    # 30 minutes from 01:45 Wednesday: 15 on the night line, 15 after 09:00.
    assert cal.add_business_time(ny(2026, 11, 25, 1, 45), timedelta(minutes=30)) == ny(
        2026, 11, 25, 9, 15
    )
    # Friday 16:00 + 3 h: one hour to 17:00, then 21:00-23:00.
    assert cal.add_business_time(ny(2026, 11, 27, 16, 0), timedelta(hours=3)) == ny(
        2026, 11, 27, 23, 0
    )
    assert cal.business_time_between(ny(2026, 11, 24, 20, 0), ny(2026, 11, 25, 10, 0)) == (
        timedelta(hours=6)
    )


def test_a_holiday_closes_the_line_that_opens_on_it() -> None:
    cal = evening_line(holidays=(date(2026, 12, 24),))  # Thursday
    assert not cal.is_open(ny(2026, 12, 24, 22, 0))
    assert not cal.is_open(ny(2026, 12, 25, 1, 0))
    assert cal.is_open(ny(2026, 12, 24 - 1, 23, 0))  # Wednesday's line still runs


def test_the_night_line_keeps_wall_clock_hours_across_dst() -> None:
    # 2026-11-01 is the fall-back Sunday: Saturday's line closes at 02:00 wall time.
    cal = PracticeCalendar(NY, [BusinessHours(weekday=6, opens="22:00", closes="02:00")])
    spans = cal.openings_on(date(2026, 10, 31))
    assert len(spans) == 1
    opens, closes = spans[0]
    assert opens == ny(2026, 10, 31, 22, 0)
    assert closes.in_timezone(NY).hour == 2
    assert closes - opens == timedelta(hours=5)  # the repeated hour counts once more
    spring = PracticeCalendar(NY, [BusinessHours(weekday=6, opens="22:00", closes="03:00")])
    ((o, c),) = spring.openings_on(date(2026, 3, 7))
    assert c - o == timedelta(hours=4)  # 02:00-03:00 does not exist that night


def test_hours_running_into_the_next_opening_are_refused() -> None:
    with pytest.raises(ValueError, match="past midnight"):
        PracticeCalendar(
            NY,
            [
                BusinessHours(weekday=5, opens="21:00", closes="06:00"),
                BusinessHours(weekday=6, opens="05:00", closes="09:00"),
            ],
        )
    with pytest.raises(ValueError, match="opens and closes"):
        PracticeCalendar(NY, [BusinessHours(weekday=1, opens="09:00", closes="09:00")])


night_calendars = st.sampled_from(
    [evening_line(z, tuple(HOLIDAYS)) for z in ZONES]
    + [
        PracticeCalendar(
            z, [BusinessHours(weekday=d, opens="21:00", closes="02:00") for d in (5, 6)]
        )
        for z in ZONES
    ]
)
night_instants = st.datetimes(
    min_value=datetime(2026, 2, 20), max_value=datetime(2026, 11, 20), timezones=st.just(UTC)
)


def _open_or_closing(cal: PracticeCalendar, at: pendulum.DateTime) -> bool:
    day = cal.local(at).date()
    return any(
        opens <= at <= closes
        for d in (day - timedelta(days=1), day)
        for opens, closes in cal.openings_on(d)
    )


@settings(max_examples=300, deadline=None)
@given(cal=night_calendars, at=night_instants, delta=deltas)
def test_overnight_due_is_inside_hours_and_counts_exactly(cal, at, delta) -> None:
    due = cal.add_business_time(at, delta)
    assert due >= at
    assert _open_or_closing(cal, due)
    assert cal.business_time_between(at, due) == delta
    opens = cal.next_open(at)
    assert cal.is_open(opens) and opens >= at


@settings(max_examples=200, deadline=None)
@given(cal=night_calendars, a=night_instants, b=night_instants, d1=deltas, d2=deltas)
def test_overnight_due_is_monotonic(cal, a, b, d1, d2) -> None:
    a, b = min(a, b), max(a, b)
    d1, d2 = min(d1, d2), max(d1, d2)
    assert cal.add_business_time(a, d1) <= cal.add_business_time(b, d1)
    assert cal.add_business_time(a, d1) <= cal.add_business_time(a, d2)
