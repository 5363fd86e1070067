"""Each follow-up figure on a hand-built history; the right value is worked out in the comments.

The practice: America/New_York, Monday to Friday 09:00-17:00, closed on
Thanksgiving (2026-11-26). US daylight saving time ended on Sunday 2026-11-01
(EDT, UTC-4, before; EST, UTC-5, after).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from followup_core import metrics as m
from tests.core.calendars import new_york

TZ = "America/New_York"
PERIOD = m.Period(date(2026, 10, 26), date(2026, 11, 30), TZ)
AS_OF = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def z(text: str) -> datetime:
    """A UTC instant from 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def test_callback_time_in_wall_and_business_minutes_across_a_weekend_and_dst() -> None:
    calls = [
        # Fri 2026-11-27 16:30 EST (21:30Z) -> Mon 11-30 09:45 EST (14:45Z):
        # wall 2 d 17 h 15 min = 3915 min; business 30 (Fri) + 45 (Mon) = 75 min.
        m.MissedCallFact(z("2026-11-27 21:30"), "matched", first_attempt_at=z("2026-11-30 14:45")),
        # Fri 2026-10-30 16:00 EDT (20:00Z) -> Mon 11-02 10:00 EST (15:00Z), across the
        # change: wall 67 h = 4020 min; business 60 (Fri) + 60 (Mon) = 120 min.
        m.MissedCallFact(
            z("2026-10-30 20:00"), "unmatched", first_attempt_at=z("2026-11-02 15:00")
        ),
        # Tue 11-24 10:00 -> 10:20 EST: 20 and 20.
        m.MissedCallFact(z("2026-11-24 15:00"), "matched", first_attempt_at=z("2026-11-24 15:20")),
        m.MissedCallFact(z("2026-11-25 15:00"), "matched"),  # not attempted yet: pending
        m.MissedCallFact(z("2026-11-25 16:00"), "withheld"),  # never called back: excluded
        m.MissedCallFact(z("2026-10-01 15:00"), "matched", first_attempt_at=z("2026-10-01 15:01")),
    ]  # the last one is before the period
    fig = m.callback_time(calls, new_york(), PERIOD)
    assert fig.status is m.FigureStatus.OK
    # wall [20, 3915, 4020]: median 3915; p90 = ceil(0.9*3) = 3rd = 4020
    assert fig.value == 3915
    assert fig.values["p90_wall_minutes"] == 4020
    # business [20, 75, 120]: median 75, p90 120
    assert fig.values["median_business_minutes"] == 75
    assert fig.values["p90_business_minutes"] == 120
    assert fig.values["called_back"] == 3
    assert fig.values["pending"] == 1
    assert fig.definition == m.DEFINITIONS["callback-time"][2]
    by_day = {p.start: p.value for p in fig.series}
    assert by_day[date(2026, 11, 27)] == 3915
    assert by_day[date(2026, 10, 30)] == 4020
    assert by_day[date(2026, 11, 28)] is None
    assert len(fig.series) == 36  # Oct 26 .. Nov 30


def test_missed_call_recovery_counts_only_calls_past_their_target() -> None:
    due = z("2026-11-24 17:00")
    calls = [
        m.MissedCallFact(
            z("2026-11-24 15:00"), "matched", due, z("2026-11-24 15:10"), z("2026-11-24 15:10")
        ),
        m.MissedCallFact(
            z("2026-11-24 15:00"), "matched", due, z("2026-11-24 15:10"), z("2026-11-24 18:00")
        ),
        m.MissedCallFact(z("2026-11-24 15:00"), "unmatched", due, z("2026-11-24 16:00")),
        # due after as_of and not reached: pending, not in the denominator
        m.MissedCallFact(z("2026-11-30 15:00"), "matched", z("2026-12-01 14:00")),
        m.MissedCallFact(z("2026-11-24 15:00"), "withheld"),
        m.MissedCallFact(z("2026-11-24 15:00"), "invalid"),
    ]
    fig = m.missed_call_recovery(calls, PERIOD, AS_OF)
    # recovered 1 of 3 due (reached late and never reached both miss)
    assert fig.value == pytest.approx(1 / 3)
    assert fig.values == {
        "recovered": 1.0,
        "calls": 3.0,
        "pending": 1.0,
        "withheld": 1.0,
        "invalid": 1.0,
    }


def test_confirmation_rate_keeps_staff_and_patient_initiated_apart() -> None:
    day = z("2026-11-20 15:00")
    appts = [
        m.AppointmentFact(day, "confirmed", staff_confirmed_at=z("2026-11-18 15:00")),
        m.AppointmentFact(day, "confirmed", patient_confirmed_at=z("2026-11-18 15:00")),
        # both: the patient's confirmation came first, so it is patient-initiated
        m.AppointmentFact(
            day,
            "confirmed",
            staff_confirmed_at=z("2026-11-19 15:00"),
            patient_confirmed_at=z("2026-11-18 15:00"),
        ),
        m.AppointmentFact(day, "booked"),
        m.AppointmentFact(day, "cancelled", staff_confirmed_at=z("2026-11-18 15:00")),  # excluded
    ]
    fig = m.confirmation_rate(appts, PERIOD, patient_source=True)
    assert fig.value == 0.75  # 3 of 4 not cancelled
    assert fig.values["staff_rate"] == 0.25
    assert fig.values["patient_rate"] == 0.5
    assert fig.values["patient_initiated"] == 2
    no_source = m.confirmation_rate(appts[:1] + appts[3:], PERIOD, patient_source=False)
    assert no_source.values["patient_rate"] is None
    assert no_source.values["staff_rate"] == 0.5  # 1 of the 2 not cancelled


def test_no_show_trend_by_week_and_without_a_data_source() -> None:
    appts = [
        m.AppointmentFact(z("2026-11-02 15:00"), "noshow", outcome="noshow"),  # week of Nov 2
        m.AppointmentFact(z("2026-11-04 15:00"), "fulfilled", outcome="fulfilled"),
        m.AppointmentFact(z("2026-11-10 15:00"), "fulfilled", outcome="fulfilled"),  # Nov 9
        m.AppointmentFact(z("2026-11-11 15:00"), "booked"),  # no outcome: not counted
    ]
    fig = m.no_show_trend(appts, PERIOD, outcome_source=True)
    assert fig.value == pytest.approx(1 / 3)
    weeks = {p.start: p.value for p in fig.series}
    assert weeks[date(2026, 11, 2)] == 0.5
    assert weeks[date(2026, 11, 9)] == 0.0
    assert weeks[date(2026, 11, 16)] is None
    assert min(weeks) == date(2026, 10, 26) and max(weeks) == date(2026, 11, 30)
    none = m.no_show_trend(appts, PERIOD, outcome_source=False)
    assert none.status is m.FigureStatus.NO_DATA_SOURCE
    assert none.value is None and none.series == []


def test_intake_completion_by_visit_time() -> None:
    def intake(visit: str, status: str, closed: str | None) -> m.TaskFact:
        return m.TaskFact(
            "intake-completion",
            status,
            z("2026-11-01 15:00"),
            z("2026-11-02 15:00"),
            closed_at=z(closed) if closed else None,
            visit_at=z(visit),
        )

    tasks = [
        intake("2026-11-20 14:00", "completed", "2026-11-19 15:00"),  # 09:00 EST, done before
        intake("2026-11-20 19:00", "completed", "2026-11-20 20:00"),  # 14:00, done after
        intake("2026-11-20 23:00", "in-progress", None),  # 18:00, not done
    ]
    fig = m.intake_completion(tasks, PERIOD)
    assert fig.value == pytest.approx(1 / 3)
    bands = {row.key: row.values["rate"] for row in fig.breakdown}
    assert bands == {"morning": 1.0, "afternoon": 0.0, "evening": 0.0}


def test_unresolved_by_age_and_referral_aging() -> None:
    at = z("2026-11-30 17:00")  # 12:00 EST
    created = [at - timedelta(hours=2), at - timedelta(days=2), at - timedelta(days=10)]
    created += [at - timedelta(days=20), at + timedelta(hours=1)]  # the last: after `at`
    fig = m.unresolved_by_age(created, at)
    assert fig.value == 4
    assert {r.key: r.values["count"] for r in fig.breakdown} == {
        "<1d": 1,
        "1-3d": 1,
        "3-7d": 0,
        "7-14d": 1,
        ">=14d": 1,
    }
    referred = [z("2026-11-30 14:00"), z("2026-11-20 15:00"), z("2026-10-01 15:00")]
    referred += [z("2026-09-01 15:00")]  # ages in local days: 0, 10, 60, 90
    aging = m.referral_aging(referred, at, TZ)
    assert aging.value == 35  # median of 0, 10, 60, 90
    assert {r.key: r.values["count"] for r in aging.breakdown} == {
        "0-7": 1,
        "8-14": 1,
        "15-30": 0,
        "31-60": 1,
        ">60": 1,
    }


def test_escalations_by_route_against_their_target_and_access_complaints() -> None:
    escs = [
        m.EscalationFact(
            "clinical", z("2026-11-24 15:00"), z("2026-11-24 15:15"), z("2026-11-24 15:10")
        ),
        m.EscalationFact(
            "clinical", z("2026-11-24 16:00"), z("2026-11-24 16:15"), z("2026-11-24 16:30")
        ),
        m.EscalationFact("complaint", z("2026-11-24 16:00"), z("2026-11-24 20:00")),  # missed
        m.EscalationFact("access-barrier", z("2026-11-30 16:00"), z("2026-12-02 16:00")),  # not due
    ]
    fig = m.escalations_by_route(escs, PERIOD, AS_OF)
    assert fig.value == 20  # median of 10 and 30 minutes
    assert fig.values["within_target"] == pytest.approx(1 / 3)  # access-barrier not yet judged
    routes = {r.key: r.values for r in fig.breakdown}
    assert routes["clinical"]["within_target"] == 0.5
    assert routes["clinical"]["median_ack_minutes"] == 20
    assert routes["complaint"]["within_target"] == 0.0
    assert routes["access-barrier"]["within_target"] is None
    access = m.access_complaints(escs, PERIOD)
    assert access.value == 1 and access.values["complaint"] == 1


def test_sla_met_and_attempts_per_resolved_task() -> None:
    created = z("2026-11-24 15:00")
    due = z("2026-11-24 17:00")
    tasks = [
        m.TaskFact("appointment-confirmation", "completed", created, due, 1, z("2026-11-24 16:00")),
        m.TaskFact("appointment-confirmation", "completed", created, due, 2, z("2026-11-24 18:00")),
        m.TaskFact("appointment-confirmation", "ready", created, due, 0),  # due passed: missed
        m.TaskFact("appointment-confirmation", "ready", created, z("2026-12-02 15:00"), 0),
        m.TaskFact("appointment-confirmation", "entered-in-error", created, due, 0),
        m.TaskFact("intake-completion", "completed", created, due, 4, z("2026-11-24 16:30")),
        m.TaskFact("intake-completion", "failed", created, due, 3, z("2026-11-24 16:30")),
    ]
    sla = m.sla_met(tasks, PERIOD, AS_OF)
    # judged: the two completed confirmations, the missed one, both intake tasks = 5; met 3
    assert sla.values == {"met": 3.0, "tasks": 5.0}
    assert sla.value == 0.6
    apr = m.attempts_per_resolved_task(tasks, PERIOD)
    assert apr.value == pytest.approx(7 / 3)  # 1 + 2 + 4 over three completed tasks


def test_work_outside_hours_with_a_holiday_weekend_and_dst() -> None:
    starts = (
        [z("2026-11-23 15:00")] * 5  # Mon 10:00 EST: open
        + [z("2026-11-23 22:00")]  # Mon 17:00 EST: closing time, so closed
        + [z("2026-11-23 21:59")]  # Mon 16:59: open
        + [z("2026-11-28 16:00")] * 3  # Sat: closed
        + [z("2026-11-26 15:00")]  # Thanksgiving 10:00: closed
        + [z("2026-10-30 13:30")] * 4  # Fri 09:30 EDT: open
        + [z("2026-11-02 13:30")] * 2  # Mon 08:30 EST (same UTC time, after the change)
        + [z("2026-10-26 03:59")]  # Sun 23:59 EDT 10-25: before the period
    )
    fig = m.work_outside_hours(starts, new_york(), PERIOD)
    # outside: 1 + 3 + 1 + 2 = 7 of 17 in the period
    assert fig.values == {"outside": 7.0, "attempts": 17.0}
    assert fig.value == pytest.approx(7 / 17)
    by_day = {p.start: p.value for p in fig.series}
    assert by_day[date(2026, 11, 23)] == pytest.approx(1 / 7)
    assert by_day[date(2026, 11, 2)] == 1.0
    assert by_day[date(2026, 10, 30)] == 0.0


def test_day_segments_cut_each_local_day_at_its_hours() -> None:
    week = m.Period(date(2026, 10, 30), date(2026, 11, 2), TZ)
    segs = m.day_segments(new_york(), week)
    # Fri: closed, open, closed; Sat; Sun (25 hours long: the clocks went back); Mon: 3
    assert [(s.day.day, s.open) for s in segs] == [
        (30, False), (30, True), (30, False), (31, False), (1, False),
        (2, False), (2, True), (2, False),
    ]  # fmt: skip
    assert segs[4].ends - segs[4].starts == timedelta(hours=25)
    assert all(a.ends == b.starts for a, b in itertools.pairwise(segs))


def test_an_empty_period_says_no_data_never_a_made_up_zero() -> None:
    cal = new_york()
    figs = [
        m.callback_time([], cal, PERIOD),
        m.missed_call_recovery([], PERIOD, AS_OF),
        m.confirmation_rate([], PERIOD, patient_source=True),
        m.no_show_trend([], PERIOD, outcome_source=True),
        m.intake_completion([], PERIOD),
        m.referral_aging([], AS_OF, TZ),
        m.escalations_by_route([], PERIOD, AS_OF),
        m.sla_met([], PERIOD, AS_OF),
        m.attempts_per_resolved_task([], PERIOD),
        m.work_outside_hours([], cal, PERIOD),
    ]
    for fig in figs:
        assert fig.status is m.FigureStatus.NO_DATA, fig.id
        assert fig.value is None, fig.id
    # Counts are true zeros: nothing was rescheduled, nothing is open.
    assert m.reschedule_volume([], PERIOD).value == 0
    assert m.unresolved_by_age([], AS_OF).value == 0


def test_week_buckets_start_on_monday_and_cover_the_period() -> None:
    weekly = m.Period(date(2026, 11, 4), date(2026, 11, 17), TZ, m.Granularity.WEEK)
    assert weekly.buckets() == [date(2026, 11, 2), date(2026, 11, 9), date(2026, 11, 16)]
    fig = m.reschedule_volume([z("2026-11-04 15:00"), z("2026-11-17 15:00")], weekly)
    assert [p.value for p in fig.series] == [1.0, 0.0, 1.0]


def test_every_figure_has_a_definition() -> None:
    assert len(m.FIGURE_IDS) == 13
    for title, unit, definition in m.DEFINITIONS.values():
        assert title and unit in ("minutes", "ratio", "count", "days") and len(definition) > 80


def test_the_readme_carries_the_same_definitions() -> None:
    from pathlib import Path

    readme = Path(__file__).resolve().parents[2].joinpath("README.md").read_text()
    for _title, _unit, definition in m.DEFINITIONS.values():
        assert definition in readme
