"""The follow-up figures: their written definitions and the pure functions that compute them.

No vendor publishes formulas for callback time, missed-call recovery or referral
aging (see REFERENCES.md "Follow-up metrics"), so each figure's definition is
written here, next to the function that computes it; the same text is served in
the `/v1/metrics` answer (`Figure.definition`), shown in the metrics mode and
printed in the README and the weekly report.

Inputs are plain facts (`MissedCallFact`, `TaskFact`, …) that the server reads
from its tables; every function is pure, so each figure can be tested on a
hand-built history. Times are timezone-aware (stored UTC); days and weeks are
the practice's local calendar days and ISO weeks (Monday to Sunday). Minutes
are wall-clock minutes unless a name says "business" (open time of the
practice, see `followup_core.business_time`).

A figure has a `status`: `ok`, `no-data` (the product receives this kind of
fact but none fell in the period: the value is null, never a made-up zero) or
`no-data-source` (the product does not receive the facts this figure needs for
this practice, e.g. appointment outcomes before any arrive through interop).
"""

from __future__ import annotations

import math
import statistics
from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cached_property
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from followup_core.business_time import PracticeCalendar, zone
from followup_core.enums import TERMINAL_STATUSES, EscalationRoute, TaskStatus

# --- wire models of GET /v1/metrics -----------------------------------------------


class _Wire(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Granularity(StrEnum):
    DAY = "day"
    WEEK = "week"


class FigureStatus(StrEnum):
    OK = "ok"
    NO_DATA = "no-data"
    NO_DATA_SOURCE = "no-data-source"


class SeriesPoint(_Wire):
    """One bucket of a time series: `start` is the local day, or the Monday of the ISO week."""

    start: date
    value: float | None


class BreakdownRow(_Wire):
    """One row of a figure's breakdown (a route, an age bucket, a visit-time band)."""

    key: str
    values: dict[str, float | None]


class Figure(_Wire):
    """One figure with its definition. `value` is the headline number (null unless `ok`);
    `values` holds the figure's other numbers (p90, business minutes, counts)."""

    id: str
    title: str
    definition: str
    unit: Annotated[str, Field(description="minutes, ratio (0-1), count or days")]
    status: FigureStatus
    value: float | None = None
    values: dict[str, float | None] = {}
    breakdown: list[BreakdownRow] = []
    series: list[SeriesPoint] = []
    practice_wide: Annotated[
        bool, Field(description="true when the workflow and assistant filters do not apply")
    ] = False


class StaffRef(_Wire):
    """An assistant of the practice, for the dashboard's assistant filter (staff, not
    patients: an id and the name the team knows them by)."""

    id: str
    display_name: str


class MetricsReport(_Wire):
    """The answer of `GET /v1/metrics`: the period is [start 00:00, end + 1 day 00:00)
    on the practice's wall clock; `as_of` (UTC) is when it was computed; `today` is the
    practice's local date at `as_of` (what "today" means for this practice);
    `assistants` are the practice's active assistants, the values of the assistant filter."""

    practice_id: str
    timezone: str
    period_start: date
    period_end: date
    granularity: Granularity
    workflow: str | None
    assistant_id: str | None
    as_of: datetime
    figures: list[Figure]
    today: date | None = None
    assistants: list[StaffRef] = []


class ExceptionGroup(_Wire):
    """One line of the exceptions review and the tasks it opens (ids only, never names).

    A time in `label` is the practice's local wall clock with its zone's abbreviation
    ("due 2026-11-24 22:30 EST"), never UTC.
    """

    key: str
    label: str
    count: int
    task_ids: list[str]


class ExceptionsReport(_Wire):
    """The answer of `GET /v1/metrics/exceptions`: recurring escalation reasons (same route
    and reason, twice or more in the period), patients with three or more failed-contact
    attempts in the period, tasks flagged for review after a conflict, and open tasks past
    their due time (at most 200 lines each)."""

    practice_id: str
    period_start: date
    period_end: date
    as_of: datetime
    recurring_reasons: list[ExceptionGroup]
    repeated_failed_contact: list[ExceptionGroup]
    conflicts: list[ExceptionGroup]
    past_target: list[ExceptionGroup]


# --- definitions ------------------------------------------------------------------

DEFINITIONS: dict[str, tuple[str, str, str]] = {
    # id: (title, unit, definition)
    "callback-time": (
        "Callback time",
        "minutes",
        "For each missed call in the period from a number that can be called back (a "
        "patient's or an unmatched caller's; withheld and invalid numbers are excluded), "
        "the time from the call to the start of the first attempt on its callback task. "
        "Median (the middle value; the mean of the two middle ones for an even count) and "
        "p90 (nearest rank: the ceil(0.9 n)-th smallest), in wall-clock minutes and in "
        "business minutes (only the practice's open time counts). Calls not yet attempted "
        "are counted as `pending`, not in the distribution.",
    ),
    "missed-call-recovery": (
        "Missed-call recovery rate",
        "ratio",
        "Missed calls in the period from a number that can be called back, whose caller was "
        "reached (an attempt whose outcome completes or reschedules the callback task) no "
        "later than the task's due time (the call plus the missed-call workflow's response "
        "target, 2 business hours), divided by those calls whose due time has passed. Calls "
        "still inside their target are `pending`; withheld and invalid numbers are counted "
        "apart and excluded.",
    ),
    "confirmation-rate": (
        "Appointment confirmation rate",
        "ratio",
        "Appointments starting in the period (not cancelled) that were confirmed, divided by "
        "all of them. Staff-initiated: an assistant documented the outcome `confirmed` on "
        "its confirmation task. Patient-initiated: the practice system reported the status "
        "`confirmed` (interop) and no staff confirmation came first. Only a recognised "
        "answer counts (HealthEngine, Artera); the two are kept apart.",
    ),
    "no-show-trend": (
        "No-show trend",
        "ratio",
        "Per ISO week of the appointment's start: appointments whose last reported status "
        "is `noshow`, divided by those reported `noshow` or `fulfilled`. Appointment "
        "outcomes arrive only through interop (FHIR or CSV); a practice that has never sent "
        "one has no data source for this figure.",
    ),
    "intake-completion": (
        "Intake completion rate",
        "ratio",
        "Intake-completion tasks whose visit starts in the period and that were completed "
        "before the visit started, divided by all such tasks; by visit time (the visit's "
        "local start: morning before 12:00, afternoon 12:00-17:00, evening from 17:00).",
    ),
    "unresolved-by-age": (
        "Unresolved tasks by age",
        "count",
        "Tasks not completed, failed, cancelled or entered in error at the time of "
        "computing (`as_of`, or the period's end if earlier) and created before it, by age "
        "since creation: under 1 day, 1-3 days, 3-7 days, 7-14 days, 14 days or more.",
    ),
    "referral-aging": (
        "Referral aging",
        "days",
        "Open referrals (status sent or received: the specialist visit is not scheduled) "
        "referred before the period's end or `as_of`, whichever is earlier, by whole days "
        "since the referral: 0-7, 8-14, 15-30, 31-60, over 60. The value is the median age "
        "in days.",
    ),
    "reschedule-volume": (
        "Reschedule volume",
        "count",
        "Attempts started in the period whose documented outcome is `rescheduled` (an "
        "appointment moved on a confirmation call).",
    ),
    "access-complaints": (
        "Access-related complaints",
        "count",
        "Escalations raised in the period on the `access-barrier` route (the patient could "
        "not get care: transport, phone access, scheduling), with `complaint` escalations "
        "shown beside them.",
    ),
    "escalations": (
        "Escalations by route",
        "minutes",
        "Escalations raised in the period, per route: how many, how many acknowledged, the "
        "median wall-clock minutes from raised to acknowledged, and the share acknowledged "
        "by the route's acknowledgement target (the practice's contact list). Unacknowledged "
        "escalations past their target count as missed. The value is the overall median "
        "acknowledgement time.",
    ),
    "sla-met": (
        "SLA met",
        "ratio",
        "Tasks created in the period whose due time has passed or that have been attempted: "
        "the share whose first attempt started at or before the due time (the trigger time "
        "plus the workflow's response target in business hours).",
    ),
    "attempts-per-resolved-task": (
        "Attempts per resolved task",
        "count",
        "Tasks created in the period that are now completed: the mean number of attempts "
        "recorded on them.",
    ),
    "work-outside-hours": (
        "Work outside practice hours",
        "ratio",
        "Attempts started in the period while the practice was closed (outside its hours, "
        "on a closed weekday or a holiday), divided by all attempts started in the period.",
    ),
}

FIGURE_IDS: tuple[str, ...] = tuple(DEFINITIONS)

CALLABLE_KINDS = frozenset({"matched", "unmatched"})
UNRESOLVED_BUCKETS: tuple[tuple[str, float, float], ...] = (
    ("<1d", 0, 1),
    ("1-3d", 1, 3),
    ("3-7d", 3, 7),
    ("7-14d", 7, 14),
    (">=14d", 14, math.inf),
)
REFERRAL_BUCKETS: tuple[tuple[str, int, int | None], ...] = (
    ("0-7", 0, 7),
    ("8-14", 8, 14),
    ("15-30", 15, 30),
    ("31-60", 31, 60),
    (">60", 61, None),
)


def _figure(
    fid: str,
    status: FigureStatus,
    value: float | None = None,
    values: Mapping[str, float | None] | None = None,
    breakdown: Sequence[BreakdownRow] = (),
    series: Sequence[SeriesPoint] = (),
) -> Figure:
    title, unit, definition = DEFINITIONS[fid]
    return Figure(
        id=fid,
        title=title,
        definition=definition,
        unit=unit,
        status=status,
        value=value if status is FigureStatus.OK else None,
        values=dict(values or {}),
        breakdown=list(breakdown),
        series=list(series),
    )


# --- facts --------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start, end] local days of the practice, inclusive, and the series granularity."""

    start: date
    end: date
    timezone: str
    granularity: Granularity = Granularity.DAY

    @cached_property
    def starts_at(self) -> datetime:
        """The period's first instant (local midnight of `start`), aware."""
        return datetime(
            self.start.year, self.start.month, self.start.day, tzinfo=zone(self.timezone)
        )

    @cached_property
    def ends_at(self) -> datetime:
        """The instant after the period (local midnight after `end`), aware."""
        after = self.end + timedelta(days=1)
        return datetime(after.year, after.month, after.day, tzinfo=zone(self.timezone))

    def local_day(self, at: datetime) -> date:
        return at.astimezone(zone(self.timezone)).date()

    def bucket(self, day: date) -> date:
        """The series bucket a local day falls in (the day, or its ISO week's Monday)."""
        if self.granularity is Granularity.WEEK:
            return day - timedelta(days=day.weekday())
        return day

    def buckets(self) -> list[date]:
        """Every bucket of the period, in order (a week bucket may start before `start`)."""
        out: list[date] = []
        day = self.start
        while day <= self.end:
            b = self.bucket(day)
            if not out or out[-1] != b:
                out.append(b)
            day += timedelta(days=1)
        return out


@dataclass(frozen=True)
class MissedCallFact:
    called_at: datetime
    caller_kind: str  # matched | unmatched | withheld | invalid
    due_at: datetime | None = None  # the callback task's due time
    first_attempt_at: datetime | None = None
    reached_at: datetime | None = None  # first attempt that completed or rescheduled the task


@dataclass(frozen=True)
class TaskFact:
    workflow: str
    status: str
    created_at: datetime
    due_at: datetime
    attempts: int = 0
    first_attempt_at: datetime | None = None
    closed_at: datetime | None = None  # last change of a terminal task
    visit_at: datetime | None = None  # the focus appointment's start (intake tasks)


@dataclass(frozen=True)
class AppointmentFact:
    start_at: datetime
    status: str
    staff_confirmed_at: datetime | None = None
    patient_confirmed_at: datetime | None = None  # reported `confirmed` by interop
    outcome: str | None = None  # last reported noshow | fulfilled


@dataclass(frozen=True)
class EscalationFact:
    route: str
    raised_at: datetime
    ack_due_at: datetime
    acknowledged_at: datetime | None = None
    reason: str = ""


# --- helpers ------------------------------------------------------------------------


def minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


def median(values: Sequence[float]) -> float | None:
    """The middle value (mean of the two middle ones for an even count); None when empty."""
    return float(statistics.median(values)) if values else None


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The nearest-rank percentile: the ceil(q * n)-th smallest value; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return float(ordered[rank - 1])


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


def _series(
    period: Period, per_bucket: Mapping[date, tuple[int, int]] | Mapping[date, int], ratio: bool
) -> list[SeriesPoint]:
    points = []
    for b in period.buckets():
        got = per_bucket.get(b)
        if ratio:
            num, den = got if isinstance(got, tuple) else (0, 0)
            points.append(SeriesPoint(start=b, value=_ratio(num, den)))
        else:
            points.append(SeriesPoint(start=b, value=float(got if isinstance(got, int) else 0)))
    return points


def _in(period: Period, at: datetime) -> bool:
    return period.starts_at <= at < period.ends_at


# --- figures ------------------------------------------------------------------------


def callback_time(
    calls: Iterable[MissedCallFact], calendar: PracticeCalendar, period: Period
) -> Figure:
    """Median and p90 minutes from a missed call to its first callback attempt (see DEFINITIONS)."""
    wall: list[float] = []
    business: list[float] = []
    pending = 0
    by_bucket: dict[date, list[float]] = defaultdict(list)
    for call in calls:
        if call.caller_kind not in CALLABLE_KINDS or not _in(period, call.called_at):
            continue
        if call.first_attempt_at is None:
            pending += 1
            continue
        w = max(0.0, minutes(call.first_attempt_at - call.called_at))
        wall.append(w)
        business.append(
            max(0.0, minutes(calendar.business_time_between(call.called_at, call.first_attempt_at)))
        )
        by_bucket[period.bucket(period.local_day(call.called_at))].append(w)
    values = {
        "median_wall_minutes": median(wall),
        "p90_wall_minutes": nearest_rank(wall, 0.9),
        "median_business_minutes": median(business),
        "p90_business_minutes": nearest_rank(business, 0.9),
        "called_back": float(len(wall)),
        "pending": float(pending),
    }
    series = [SeriesPoint(start=b, value=median(by_bucket.get(b, []))) for b in period.buckets()]
    status = FigureStatus.OK if wall else FigureStatus.NO_DATA
    return _figure("callback-time", status, median(wall), values, series=series)


def missed_call_recovery(
    calls: Iterable[MissedCallFact], period: Period, as_of: datetime
) -> Figure:
    """Share of callable missed calls whose caller was reached by the task's due time."""
    per_day: dict[date, RecoveryCounts] = {}
    for call in calls:
        if not _in(period, call.called_at):
            continue
        day = period.local_day(call.called_at)
        c = per_day.setdefault(day, RecoveryCounts())
        if call.caller_kind not in CALLABLE_KINDS:
            if call.caller_kind == "withheld":
                c.withheld += 1
            elif call.caller_kind == "invalid":
                c.invalid += 1
            continue
        ok = (
            call.reached_at is not None
            and call.due_at is not None
            and call.reached_at <= call.due_at
        )
        if not ok and (call.due_at is None or call.due_at > as_of):
            c.pending += 1
            continue
        c.due += 1
        c.recovered += ok
    return missed_call_recovery_counts(per_day, period)


@dataclass
class RecoveryCounts:
    """One local day's missed calls for `missed_call_recovery` (as SQL counts them)."""

    recovered: int = 0
    due: int = 0
    pending: int = 0
    withheld: int = 0
    invalid: int = 0


def missed_call_recovery_counts(per_day: Mapping[date, RecoveryCounts], period: Period) -> Figure:
    """`missed_call_recovery` from counts per local day of the call."""
    total = RecoveryCounts()
    per_bucket: dict[date, tuple[int, int]] = {}
    for day, c in per_day.items():
        total.recovered += c.recovered
        total.due += c.due
        total.pending += c.pending
        total.withheld += c.withheld
        total.invalid += c.invalid
        if c.due:
            b = period.bucket(day)
            n, d = per_bucket.get(b, (0, 0))
            per_bucket[b] = (n + c.recovered, d + c.due)
    values = {
        "recovered": float(total.recovered),
        "calls": float(total.due),
        "pending": float(total.pending),
        "withheld": float(total.withheld),
        "invalid": float(total.invalid),
    }
    status = FigureStatus.OK if total.due else FigureStatus.NO_DATA
    return _figure(
        "missed-call-recovery",
        status,
        _ratio(total.recovered, total.due),
        values,
        series=_series(period, per_bucket, ratio=True),
    )


def confirmation_rate(
    appointments: Iterable[AppointmentFact], period: Period, *, patient_source: bool
) -> Figure:
    """Confirmed share of appointments starting in the period, staff and patient apart.

    `patient_source` says whether the practice has ever reported a `confirmed`
    status through interop; without it, the patient-initiated share is null.
    """
    per_day: dict[date, tuple[int, int, int]] = {}
    for appt in appointments:
        if not _in(period, appt.start_at) or appt.status == "cancelled":
            continue
        by_staff = appt.staff_confirmed_at is not None and (
            appt.patient_confirmed_at is None
            or appt.staff_confirmed_at <= appt.patient_confirmed_at
        )
        by_patient = appt.patient_confirmed_at is not None and not by_staff
        day = period.local_day(appt.start_at)
        st, pa, n = per_day.get(day, (0, 0, 0))
        per_day[day] = (st + by_staff, pa + by_patient, n + 1)
    return confirmation_rate_counts(per_day, period, patient_source=patient_source)


def confirmation_rate_counts(
    per_day: Mapping[date, tuple[int, int, int]], period: Period, *, patient_source: bool
) -> Figure:
    """`confirmation_rate` from (staff, patient, appointments) per local day of the start."""
    staff = patient = total = 0
    per_bucket: dict[date, tuple[int, int]] = {}
    for day, (st, pa, n) in per_day.items():
        staff += st
        patient += pa
        total += n
        b = period.bucket(day)
        num, den = per_bucket.get(b, (0, 0))
        per_bucket[b] = (num + st + pa, den + n)
    values: dict[str, float | None] = {
        "appointments": float(total),
        "staff_initiated": float(staff),
        "patient_initiated": float(patient) if patient_source else None,
        "staff_rate": _ratio(staff, total),
        "patient_rate": _ratio(patient, total) if patient_source else None,
    }
    status = FigureStatus.OK if total else FigureStatus.NO_DATA
    return _figure(
        "confirmation-rate",
        status,
        _ratio(staff + patient, total),
        values,
        series=_series(period, per_bucket, ratio=True),
    )


def no_show_trend(
    appointments: Iterable[AppointmentFact], period: Period, *, outcome_source: bool
) -> Figure:
    """Weekly no-show share among appointments with a reported outcome."""
    per_day: dict[date, tuple[int, int]] = {}
    for appt in appointments:
        if appt.outcome not in ("noshow", "fulfilled") or not _in(period, appt.start_at):
            continue
        day = period.local_day(appt.start_at)
        n, d = per_day.get(day, (0, 0))
        per_day[day] = (n + (appt.outcome == "noshow"), d + 1)
    return no_show_trend_counts(per_day, period, outcome_source=outcome_source)


def no_show_trend_counts(
    per_day: Mapping[date, tuple[int, int]], period: Period, *, outcome_source: bool
) -> Figure:
    """`no_show_trend` from (noshow, with an outcome) per local day of the start."""
    if not outcome_source:
        return _figure("no-show-trend", FigureStatus.NO_DATA_SOURCE)
    weekly = Period(period.start, period.end, period.timezone, Granularity.WEEK)
    noshow = known = 0
    per_week: dict[date, tuple[int, int]] = {}
    for day, (miss, k) in per_day.items():
        if not k:
            continue
        noshow += miss
        known += k
        w = weekly.bucket(day)
        n, d = per_week.get(w, (0, 0))
        per_week[w] = (n + miss, d + k)
    values = {"noshow": float(noshow), "with_outcome": float(known)}
    status = FigureStatus.OK if known else FigureStatus.NO_DATA
    return _figure(
        "no-show-trend",
        status,
        _ratio(noshow, known),
        values,
        series=_series(weekly, per_week, ratio=True),
    )


def visit_band(at: datetime, timezone: str) -> str:
    """morning (before 12:00), afternoon (12:00-17:00) or evening, on the practice's clock."""
    hour = at.astimezone(zone(timezone)).hour
    return "morning" if hour < 12 else "afternoon" if hour < 17 else "evening"


def intake_completion(tasks: Iterable[TaskFact], period: Period) -> Figure:
    """Intake tasks completed before their visit, over all intake tasks with a visit in the period."""
    bands: dict[str, tuple[int, int]] = {b: (0, 0) for b in ("morning", "afternoon", "evening")}
    for t in tasks:
        if t.workflow != "intake-completion" or t.visit_at is None or not _in(period, t.visit_at):
            continue
        done = (
            t.status == TaskStatus.COMPLETED
            and t.closed_at is not None
            and t.closed_at <= t.visit_at
        )
        band = visit_band(t.visit_at, period.timezone)
        n, d = bands[band]
        bands[band] = (n + done, d + 1)
    return intake_completion_counts(bands)


VISIT_BANDS = ("morning", "afternoon", "evening")


def intake_completion_counts(bands: Mapping[str, tuple[int, int]]) -> Figure:
    """`intake_completion` from (completed before the visit, tasks) per visit band."""
    bands = {b: bands.get(b, (0, 0)) for b in VISIT_BANDS}
    num = sum(n for n, _ in bands.values())
    den = sum(d for _, d in bands.values())
    breakdown = [
        BreakdownRow(
            key=band, values={"rate": _ratio(n, d), "completed": float(n), "tasks": float(d)}
        )
        for band, (n, d) in bands.items()
    ]
    status = FigureStatus.OK if den else FigureStatus.NO_DATA
    return _figure(
        "intake-completion",
        status,
        _ratio(num, den),
        {"completed": float(num), "tasks": float(den)},
        breakdown,
    )


def unresolved_by_age(open_created: Iterable[datetime], at: datetime) -> Figure:
    """Open tasks created before `at`, by age bucket (days since creation)."""
    counts = dict.fromkeys((name for name, _, _ in UNRESOLVED_BUCKETS), 0)
    for created in open_created:
        if created > at:
            continue
        age = (at - created).total_seconds() / 86400
        for name, lo, hi in UNRESOLVED_BUCKETS:
            if lo <= age < hi:
                counts[name] += 1
                break
    return unresolved_by_age_counts(counts)


def unresolved_by_age_counts(counts: Mapping[str, int]) -> Figure:
    """`unresolved_by_age` from counts per bucket name of `UNRESOLVED_BUCKETS`."""
    ordered = {name: int(counts.get(name, 0)) for name, _, _ in UNRESOLVED_BUCKETS}
    total = sum(ordered.values())
    breakdown = [BreakdownRow(key=k, values={"count": float(v)}) for k, v in ordered.items()]
    return _figure(
        "unresolved-by-age", FigureStatus.OK, float(total), {"open": float(total)}, breakdown
    )


def referral_aging(referred: Iterable[datetime], at: datetime, timezone: str) -> Figure:
    """Open referrals by whole local days since referral, and the median age in days."""
    tz = zone(timezone)
    today = at.astimezone(tz).date()
    ages = [(today - r.astimezone(tz).date()).days for r in referred if r <= at]
    counts = dict.fromkeys((name for name, _, _ in REFERRAL_BUCKETS), 0)
    for age in ages:
        for name, lo, hi in REFERRAL_BUCKETS:
            if age >= lo and (hi is None or age <= hi):
                counts[name] += 1
                break
    breakdown = [BreakdownRow(key=k, values={"count": float(v)}) for k, v in counts.items()]
    status = FigureStatus.OK if ages else FigureStatus.NO_DATA
    return _figure(
        "referral-aging",
        status,
        median([float(a) for a in ages]),
        {"open": float(len(ages))},
        breakdown,
    )


def reschedule_volume(rescheduled_at: Iterable[datetime], period: Period) -> Figure:
    """Attempts with the outcome `rescheduled` started in the period, with a series."""
    per_bucket: Counter[date] = Counter()
    for at in rescheduled_at:
        if _in(period, at):
            per_bucket[period.bucket(period.local_day(at))] += 1
    total = sum(per_bucket.values())
    return _figure(
        "reschedule-volume",
        FigureStatus.OK,
        float(total),
        series=_series(period, dict(per_bucket), ratio=False),
    )


def access_complaints(escalations: Iterable[EscalationFact], period: Period) -> Figure:
    """Escalations on the access-barrier route raised in the period (complaints beside them)."""
    access = complaint = 0
    per_bucket: Counter[date] = Counter()
    for e in escalations:
        if not _in(period, e.raised_at):
            continue
        if e.route == EscalationRoute.ACCESS_BARRIER:
            access += 1
            per_bucket[period.bucket(period.local_day(e.raised_at))] += 1
        elif e.route == EscalationRoute.COMPLAINT:
            complaint += 1
    return _figure(
        "access-complaints",
        FigureStatus.OK,
        float(access),
        {"access_barrier": float(access), "complaint": float(complaint)},
        series=_series(period, dict(per_bucket), ratio=False),
    )


def escalations_by_route(
    escalations: Iterable[EscalationFact], period: Period, as_of: datetime
) -> Figure:
    """Per route: count, acknowledged, median acknowledgement minutes, share within target."""
    rows: dict[str, list[EscalationFact]] = defaultdict(list)
    for e in escalations:
        if _in(period, e.raised_at):
            rows[e.route].append(e)
    breakdown = []
    all_ack: list[float] = []
    met_all = judged_all = 0
    for route in EscalationRoute:
        items = rows.get(route.value, [])
        if not items:
            continue
        acks = [
            minutes(e.acknowledged_at - e.raised_at) for e in items if e.acknowledged_at is not None
        ]
        met = sum(
            1 for e in items if e.acknowledged_at is not None and e.acknowledged_at <= e.ack_due_at
        )
        judged = sum(1 for e in items if e.acknowledged_at is not None or e.ack_due_at <= as_of)
        all_ack += acks
        met_all += met
        judged_all += judged
        breakdown.append(
            BreakdownRow(
                key=route.value,
                values={
                    "raised": float(len(items)),
                    "acknowledged": float(len(acks)),
                    "median_ack_minutes": median(acks),
                    "within_target": _ratio(met, judged),
                },
            )
        )
    total = sum(len(v) for v in rows.values())
    status = FigureStatus.OK if all_ack else FigureStatus.NO_DATA
    return _figure(
        "escalations",
        status,
        median(all_ack),
        {
            "raised": float(total),
            "acknowledged": float(len(all_ack)),
            "within_target": _ratio(met_all, judged_all),
        },
        breakdown,
    )


def sla_met(tasks: Iterable[TaskFact], period: Period, as_of: datetime) -> Figure:
    """Share of tasks (created in the period, due or attempted) first attempted by their due time."""
    per_day: dict[date, tuple[int, int]] = {}
    for t in tasks:
        if not _in(period, t.created_at) or t.status == TaskStatus.ENTERED_IN_ERROR:
            continue
        if t.first_attempt_at is None and t.due_at > as_of:
            continue
        ok = t.first_attempt_at is not None and t.first_attempt_at <= t.due_at
        day = period.local_day(t.created_at)
        n, d = per_day.get(day, (0, 0))
        per_day[day] = (n + ok, d + 1)
    return sla_met_counts(per_day, period)


def sla_met_counts(per_day: Mapping[date, tuple[int, int]], period: Period) -> Figure:
    """`sla_met` from (met, judged) counts per local day of creation (as SQL counts them)."""
    met = judged = 0
    per_bucket: dict[date, tuple[int, int]] = {}
    for day, (n_met, n_judged) in per_day.items():
        met += n_met
        judged += n_judged
        b = period.bucket(day)
        n, d = per_bucket.get(b, (0, 0))
        per_bucket[b] = (n + n_met, d + n_judged)
    status = FigureStatus.OK if judged else FigureStatus.NO_DATA
    return _figure(
        "sla-met",
        status,
        _ratio(met, judged),
        {"met": float(met), "tasks": float(judged)},
        series=_series(period, per_bucket, ratio=True),
    )


def attempts_per_resolved_task(tasks: Iterable[TaskFact], period: Period) -> Figure:
    """Mean attempts on tasks created in the period that are now completed."""
    counts = [
        t.attempts for t in tasks if _in(period, t.created_at) and t.status == TaskStatus.COMPLETED
    ]
    return attempts_per_resolved_counts(len(counts), sum(counts))


def attempts_per_resolved_counts(resolved: int, attempts: int) -> Figure:
    """`attempts_per_resolved_task` from the two counts."""
    status = FigureStatus.OK if resolved else FigureStatus.NO_DATA
    return _figure(
        "attempts-per-resolved-task",
        status,
        attempts / resolved if resolved else None,
        {"resolved": float(resolved), "attempts": float(attempts)},
    )


@dataclass(frozen=True)
class Segment:
    """A stretch [starts, ends) of one local day of the period, open or closed."""

    day: date
    open: bool
    starts: datetime
    ends: datetime


def day_segments(calendar: PracticeCalendar, period: Period) -> list[Segment]:
    """Every local day of the period cut at its openings and closings, in order.

    The server counts attempts per segment (one index range each), so `work outside
    hours` is exact to the second whatever the opening times."""
    out: list[Segment] = []
    tz = zone(period.timezone)
    day = period.start
    while day <= period.end:
        nxt = day + timedelta(days=1)
        at = datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)
        end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=tz).astimezone(UTC)
        for opens, closes in calendar.openings_on(day):
            if opens > at:
                out.append(Segment(day, False, at, opens))
            out.append(Segment(day, True, opens, closes))
            at = closes
        if at < end:
            out.append(Segment(day, False, at, end))
        day = nxt
    return out


def day_spans(period: Period) -> list[Segment]:
    """One segment per local day of the period (for counts per day in SQL)."""
    return [Segment(s.day, False, s.starts, s.ends) for s in day_segments(_ALWAYS_CLOSED, period)]


class _NeverOpen:
    def openings_on(self, day: date) -> list[tuple[datetime, datetime]]:
        return []


_ALWAYS_CLOSED: Any = _NeverOpen()


def work_outside_hours(
    attempt_starts: Iterable[datetime], calendar: PracticeCalendar, period: Period
) -> Figure:
    """Share of attempts started while the practice was closed (from start times)."""
    segments = day_segments(calendar, period)
    starts = [s.starts for s in segments]
    counts = [0] * len(segments)
    for at in attempt_starts:
        i = bisect_right(starts, at) - 1
        if i >= 0 and at < segments[i].ends:
            counts[i] += 1
    return work_outside_hours_counts(segments, counts, period)


def work_outside_hours_counts(
    segments: Sequence[Segment], counts: Sequence[int], period: Period
) -> Figure:
    """`work_outside_hours` from attempt counts per segment of `day_segments`."""
    outside = total = 0
    per_bucket: dict[date, tuple[int, int]] = {}
    for seg, count in zip(segments, counts, strict=True):
        closed = count if not seg.open else 0
        total += count
        outside += closed
        b = period.bucket(seg.day)
        n, d = per_bucket.get(b, (0, 0))
        per_bucket[b] = (n + closed, d + count)
    status = FigureStatus.OK if total else FigureStatus.NO_DATA
    return _figure(
        "work-outside-hours",
        status,
        _ratio(outside, total),
        {"outside": float(outside), "attempts": float(total)},
        series=_series(period, per_bucket, ratio=True),
    )


def is_open_status(status: str) -> bool:
    """A task still needing work (not completed, failed, cancelled or entered in error)."""
    return status not in {s.value for s in TERMINAL_STATUSES}
