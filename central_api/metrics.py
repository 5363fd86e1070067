"""Reading the facts behind the follow-up figures, aggregated in SQL, per practice and period.

Each query returns one row per missed call, task, appointment or escalation of
the period (or, for attempts and SLA, one count per local day or opening segment,
joined on an index range), never one row per
attempt, so a year of a large practice stays a few round trips; the figures
themselves are the pure functions of `followup_core.metrics`. Indexes that keep
these queries on index ranges come with revision 0007_metrics.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from itertools import pairwise
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Integer,
    and_,
    case,
    cast,
    column,
    exists,
    extract,
    func,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import type_coerce

from central_api import models
from central_api.work import calendar_for
from followup_core import metrics as m
from followup_core.business_time import zone
from followup_core.enums import TERMINAL_STATUSES, Role, TaskStatus, WorkflowId
from followup_core.workflow_types import OutcomeEffect
from followup_core.workflows import WORKFLOWS, workflow

# Task statuses still needing work: listed (not "not terminal") so the (practice, status)
# index answers with one range per status instead of a scan of the practice's tasks.
OPEN_STATUSES = [s.value for s in TaskStatus if s not in TERMINAL_STATUSES]

# Figures that are for the whole practice: the workflow and assistant filters do not apply.
PRACTICE_WIDE = frozenset({"confirmation-rate", "no-show-trend", "referral-aging"})

_REACHED = frozenset({OutcomeEffect.COMPLETE, OutcomeEffect.RESCHEDULE})


def reached_outcomes(wid: WorkflowId) -> list[str]:
    """Outcome codes of a workflow that mean the patient was reached (complete or reschedule)."""
    return [o.code for o in workflow(wid).outcomes if o.effect in _REACHED]


@dataclass(frozen=True)
class Filters:
    """The optional workflow and assistant a figure is narrowed to."""

    workflow: str | None = None
    assistant_id: str | None = None


_STORED = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy's DateTime stores an instant on SQLite


def _segments_table(session: Session, segments: Sequence[m.Segment]) -> Any:
    """The segments as a table (i, lo, hi) to join on: json_each on SQLite, unnest on
    PostgreSQL. Joined on an indexed timestamp, each segment is one index range."""
    if session.get_bind().dialect.name == "postgresql":
        sql = text(
            "SELECT CAST(u.ord - 1 AS INTEGER) AS i, u.lo AS lo, u.hi AS hi FROM "
            "unnest(CAST(:los AS timestamptz[]), CAST(:his AS timestamptz[])) "
            "WITH ORDINALITY AS u(lo, hi, ord)"
        ).bindparams(los=[g.starts for g in segments], his=[g.ends for g in segments])
    else:
        payload = json.dumps(
            [
                [
                    g.starts.astimezone(UTC).strftime(_STORED),
                    g.ends.astimezone(UTC).strftime(_STORED),
                ]
                for g in segments
            ]
        )
        sql = text(
            "SELECT CAST(key AS INTEGER) AS i, json_extract(value, '$[0]') AS lo, "
            "json_extract(value, '$[1]') AS hi FROM json_each(:segs)"
        ).bindparams(segs=payload)
    return sql.columns(column("i", Integer), column("lo"), column("hi")).subquery("seg")


def _offsets(period: m.Period) -> list[tuple[datetime, int]]:
    """The practice's UTC offsets over the period: [(from this UTC instant, seconds)], the
    first from the period's start; a new entry at each DST change (found to the hour)."""
    tz = zone(period.timezone)
    start = period.starts_at.astimezone(UTC) - timedelta(days=1)
    end = period.ends_at.astimezone(UTC) + timedelta(days=1)

    def off(at: datetime) -> int:
        delta = at.astimezone(tz).utcoffset()
        return int(delta.total_seconds()) if delta is not None else 0

    out = [(start, off(start))]
    day = start
    while day < end:
        nxt = day + timedelta(days=1)
        if off(nxt) != out[-1][1]:
            hour = day
            while off(hour) == out[-1][1]:
                hour += timedelta(hours=1)
            out.append((hour, off(hour)))
        day = nxt
    return out


def _local_clock(session: Session, col: Any, period: m.Period) -> tuple[Any, Any]:
    """SQL for the practice's local date and local hour of the instant `col`.

    PostgreSQL converts with the zone itself (`timezone(zone, ts)`); SQLite, which
    stores naive UTC text and knows no zones, adds the offset in force, one CASE branch
    per DST change of the period (`_offsets`). The date comes back as a `date` from
    PostgreSQL and as 'YYYY-MM-DD' text from SQLite (`_as_date`)."""
    if session.get_bind().dialect.name == "postgresql":
        local = func.timezone(period.timezone, col)
        return cast(local, Date), cast(extract("hour", local), Integer)
    offsets = _offsets(period)
    shifted: Any = func.datetime(col, f"{offsets[-1][1]:+d} seconds")
    if len(offsets) > 1:
        whens = [
            (col < nxt, func.datetime(col, f"{o:+d} seconds"))
            for (_at, o), (nxt, _o) in pairwise(offsets)
        ]
        shifted = case(*whens, else_=shifted)
    return func.date(shifted), cast(func.strftime("%H", shifted), Integer)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def _materialized(stmt: Any, name: str) -> Any:
    """`stmt` as a CTE computed once (its correlated subqueries run once per row, not once
    per use in the sums above it): `AS MATERIALIZED` on SQLite 3.35+ and PostgreSQL 12+."""
    return stmt.cte(name).prefix_with("MATERIALIZED")


def _task_filters(f: Filters) -> list[ColumnElement[bool]]:
    T = models.Task
    out: list[ColumnElement[bool]] = []
    if f.workflow:
        out.append(T.workflow == f.workflow)
    if f.assistant_id:
        out.append(T.owner_id == f.assistant_id)
    return out


def callback_calls(
    session: Session, practice_id: str, start: datetime, end: datetime, f: Filters
) -> list[m.MissedCallFact]:
    """Missed calls in [start, end) from a number that can be called back, with the first
    attempt on their callback task (callback time needs each one: medians, business time)."""
    MC, T = models.MissedCall, models.Task
    stmt = (
        select(MC.called_at, MC.caller_kind, T.first_attempt_at)
        .select_from(MC)
        .outerjoin(T, T.id == MC.task_id)
        .where(
            MC.practice_id == practice_id,
            MC.called_at >= start,
            MC.called_at < end,
            MC.caller_kind.in_(sorted(m.CALLABLE_KINDS)),
        )
    )
    if f.workflow or f.assistant_id:
        stmt = stmt.where(*_task_filters(f))
    return [
        m.MissedCallFact(called_at=row[0], caller_kind=row[1], first_attempt_at=row[2])
        for row in session.execute(stmt)
    ]


def recovery_per_day(
    session: Session, practice_id: str, period: m.Period, f: Filters, as_of: datetime
) -> dict[date, m.RecoveryCounts]:
    """Per local day of the call: the counts of `m.missed_call_recovery`, in SQL."""
    MC, T, A = models.MissedCall, models.Task, models.Attempt
    reached = (
        select(type_coerce(func.min(A.started_at), A.started_at.type))
        .where(A.task_id == T.id, A.outcome.in_(reached_outcomes(WorkflowId.MISSED_CALL_RECOVERY)))
        .scalar_subquery()
    )
    day, _hour = _local_clock(session, MC.called_at, period)
    inner = (
        select(
            day.label("day"),
            MC.caller_kind.label("kind"),
            T.due_at.label("due_at"),
            case((and_(T.due_at.is_not(None), reached <= T.due_at), 1), else_=0).label("ok"),
        )
        .select_from(MC)
        .outerjoin(T, T.id == MC.task_id)
        .where(
            MC.practice_id == practice_id,
            MC.called_at >= period.starts_at,
            MC.called_at < period.ends_at,
        )
    )
    if f.workflow or f.assistant_id:
        inner = inner.where(*_task_filters(f))
    c = _materialized(inner, "calls").c
    callable_ = c.kind.in_(sorted(m.CALLABLE_KINDS))
    judged = and_(callable_, or_(c.ok == 1, c.due_at <= as_of))
    stmt = select(
        c.day,
        func.sum(case((and_(callable_, c.ok == 1), 1), else_=0)),
        func.sum(case((judged, 1), else_=0)),
        func.sum(case((and_(callable_, ~judged), 1), else_=0)),
        func.sum(case((c.kind == "withheld", 1), else_=0)),
        func.sum(case((c.kind == "invalid", 1), else_=0)),
    ).group_by(c.day)
    return {
        _as_date(d): m.RecoveryCounts(int(ok), int(due), int(pending), int(wh), int(inv))
        for d, ok, due, pending, wh, inv in session.execute(stmt)
    }


def sla_per_day(
    session: Session,
    practice_id: str,
    period: m.Period,
    f: Filters,
    as_of: datetime,
) -> dict[date, tuple[int, int]]:
    """Per local day of creation: (met, judged) of `m.sla_met`, counted in SQL."""
    T = models.Task
    days = m.day_spans(period)
    seg = _segments_table(session, days)
    attempted = T.first_attempt_at.is_not(None)
    live = T.status != TaskStatus.ENTERED_IN_ERROR.value
    judged = case((and_(live, or_(attempted, T.due_at <= as_of)), 1), else_=0)
    met = case((and_(live, attempted, T.first_attempt_at <= T.due_at), 1), else_=0)
    stmt = (
        select(seg.c.i, func.sum(met), func.sum(judged))
        .select_from(seg)
        .join(
            T,
            and_(
                T.practice_id == practice_id,
                T.created_at >= seg.c.lo,
                T.created_at < seg.c.hi,
            ),
        )
        .where(*_task_filters(f))
        .group_by(seg.c.i)
    )
    return {
        days[int(i)].day: (int(n_met or 0), int(n_judged or 0))
        for i, n_met, n_judged in session.execute(stmt)
    }


def resolved_attempts(
    session: Session, practice_id: str, start: datetime, end: datetime, f: Filters
) -> tuple[int, int]:
    """(tasks created in [start, end) now completed, their attempts), counted in SQL."""
    T = models.Task
    stmt = select(func.count(), func.coalesce(func.sum(T.attempts), 0)).where(
        T.practice_id == practice_id,
        T.created_at >= start,
        T.created_at < end,
        T.status == TaskStatus.COMPLETED.value,
        *_task_filters(f),
    )
    row = session.execute(stmt).one()
    return int(row[0]), int(row[1])


def intake_per_band(
    session: Session, practice_id: str, period: m.Period, f: Filters
) -> dict[str, tuple[int, int]]:
    """Intake-completion tasks whose appointment starts in the period, per visit band of
    the visit's local hour: (completed before the visit, tasks), counted in SQL."""
    T, Ap = models.Task, models.Appointment
    if f.workflow and f.workflow != WorkflowId.INTAKE_COMPLETION:
        return {}
    _day, hour = _local_clock(session, Ap.start_at, period)
    band = case((hour < 12, "morning"), (hour < 17, "afternoon"), else_="evening")
    done = and_(T.status == TaskStatus.COMPLETED.value, T.updated_at <= Ap.start_at)
    stmt = (
        select(band, func.sum(case((done, 1), else_=0)), func.count())
        .select_from(Ap)
        .join(T, and_(T.focus_id == Ap.id, T.focus_kind == "appointment"))
        .where(
            Ap.practice_id == practice_id,
            Ap.start_at >= period.starts_at,
            Ap.start_at < period.ends_at,
            T.workflow == WorkflowId.INTAKE_COMPLETION.value,
        )
        .group_by(band)
    )
    if f.assistant_id:
        stmt = stmt.where(T.owner_id == f.assistant_id)
    return {str(name): (int(n or 0), int(total)) for name, n, total in session.execute(stmt)}


def appointments_per_day(
    session: Session, practice_id: str, period: m.Period
) -> tuple[dict[date, tuple[int, int, int]], dict[date, tuple[int, int]]]:
    """Per local day of the appointment's start, counted in SQL: (staff-confirmed,
    patient-confirmed, not cancelled) for `m.confirmation_rate` and (noshow, with an
    outcome) for `m.no_show_trend`."""
    Ap, T, A, SC = models.Appointment, models.Task, models.Attempt, models.AppointmentStatusChange
    staff = (
        select(type_coerce(func.min(A.started_at), A.started_at.type))
        .select_from(A)
        .join(T, T.id == A.task_id)
        .where(
            T.focus_id == Ap.id,
            T.focus_kind == "appointment",
            T.workflow == WorkflowId.APPOINTMENT_CONFIRMATION.value,
            A.outcome == "confirmed",
        )
        .scalar_subquery()
    )
    patient = (
        select(type_coerce(func.min(SC.recorded_at), SC.recorded_at.type))
        .where(SC.appointment_id == Ap.id, SC.status == "confirmed")
        .scalar_subquery()
    )
    day, _hour = _local_clock(session, Ap.start_at, period)
    inner = select(
        day.label("day"),
        Ap.status.label("status"),
        staff.label("staff"),
        patient.label("patient"),
    ).where(
        Ap.practice_id == practice_id,
        Ap.start_at >= period.starts_at,
        Ap.start_at < period.ends_at,
    )
    c = _materialized(inner, "appts").c
    counted = c.status != "cancelled"
    by_staff = and_(counted, c.staff.is_not(None), or_(c.patient.is_(None), c.staff <= c.patient))
    by_patient = and_(counted, c.patient.is_not(None), ~by_staff)
    stmt = select(
        c.day,
        func.sum(case((by_staff, 1), else_=0)),
        func.sum(case((by_patient, 1), else_=0)),
        func.sum(case((counted, 1), else_=0)),
        func.sum(case((c.status == "noshow", 1), else_=0)),
        func.sum(case((c.status.in_(["noshow", "fulfilled"]), 1), else_=0)),
    ).group_by(c.day)
    confirmations: dict[date, tuple[int, int, int]] = {}
    outcomes: dict[date, tuple[int, int]] = {}
    for d, st, pa, n, miss, known in session.execute(stmt):
        confirmations[_as_date(d)] = (int(st), int(pa), int(n))
        outcomes[_as_date(d)] = (int(miss), int(known))
    return confirmations, outcomes


def has_status_source(session: Session, practice_id: str, statuses: Sequence[str]) -> bool:
    """Whether interop has ever reported one of `statuses` for this practice's appointments."""
    SC = models.AppointmentStatusChange
    return bool(
        session.scalar(
            select(exists().where(SC.practice_id == practice_id, SC.status.in_(list(statuses))))
        )
    )


def open_task_ages(session: Session, practice_id: str, at: datetime, f: Filters) -> dict[str, int]:
    """Open tasks created at or before `at`, counted per age bucket in SQL."""
    T = models.Task
    sums = []
    for _name, lo, hi in m.UNRESOLVED_BUCKETS:
        # age in [lo, hi) days  <=>  created in (at - hi, at - lo]
        cond = [T.created_at <= at - timedelta(days=lo)]
        if hi != math.inf:
            cond.append(T.created_at > at - timedelta(days=hi))
        sums.append(func.coalesce(func.sum(case((and_(*cond), 1), else_=0)), 0))
    stmt = select(*sums).where(
        T.practice_id == practice_id,
        T.status.in_(OPEN_STATUSES),
        T.created_at <= at,
        *_task_filters(f),
    )
    row = session.execute(stmt).one()
    return {name: int(n) for (name, _, _), n in zip(m.UNRESOLVED_BUCKETS, row, strict=True)}


def open_referrals(session: Session, practice_id: str, at: datetime) -> list[datetime]:
    R = models.Referral
    stmt = select(R.referred_at).where(
        R.practice_id == practice_id, R.status.in_(["sent", "received"]), R.referred_at <= at
    )
    return list(session.scalars(stmt))


def escalations(
    session: Session, practice_id: str, start: datetime, end: datetime, f: Filters
) -> list[m.EscalationFact]:
    E, T = models.Escalation, models.Task
    stmt = select(E.route, E.raised_at, E.ack_due_at, E.acknowledged_at, E.reason).where(
        E.practice_id == practice_id, E.raised_at >= start, E.raised_at < end
    )
    if f.workflow:
        stmt = stmt.join(T, T.id == E.task_id).where(T.workflow == f.workflow)
    if f.assistant_id:
        stmt = stmt.where(E.raised_by == f.assistant_id)
    return [
        m.EscalationFact(
            route=row[0], raised_at=row[1], ack_due_at=row[2], acknowledged_at=row[3], reason=row[4]
        )
        for row in session.execute(stmt)
    ]


def _attempt_filters(f: Filters) -> list[ColumnElement[bool]]:
    A, T = models.Attempt, models.Task
    conds: list[ColumnElement[bool]] = []
    if f.workflow:
        conds.append(A.task_id.in_(select(T.id).where(T.workflow == f.workflow)))
    if f.assistant_id:
        conds.append(A.assistant_id == f.assistant_id)
    return conds


def _attempts_in(
    practice_id: str, start: datetime, end: datetime, f: Filters
) -> list[ColumnElement[bool]]:
    A = models.Attempt
    return [
        A.practice_id == practice_id,
        A.started_at >= start,
        A.started_at < end,
        *_attempt_filters(f),
    ]


def attempts_per_segment(
    session: Session, practice_id: str, segments: Sequence[m.Segment], f: Filters
) -> list[int]:
    """How many attempts started in each segment (`m.day_segments`), counted in SQL."""
    A = models.Attempt
    seg = _segments_table(session, segments)
    # Only the segment's own range on started_at: a constant range for the whole
    # period beside it may lead the planner to scan the period once per segment.
    conds = _attempt_filters(f)
    stmt = (
        select(seg.c.i, func.count())  # count(*): the index alone answers it
        .select_from(seg)
        .join(
            A,
            and_(
                A.practice_id == practice_id,
                A.started_at >= seg.c.lo,
                A.started_at < seg.c.hi,
                *conds,
            ),
        )
        .group_by(seg.c.i)
    )
    counts = [0] * len(segments)
    for i, n in session.execute(stmt):
        counts[int(i)] = int(n)
    return counts


def rescheduled(
    session: Session, practice_id: str, start: datetime, end: datetime, f: Filters
) -> list[datetime]:
    A = models.Attempt
    stmt = select(A.started_at).where(
        *_attempts_in(practice_id, start, end, f), A.outcome == "rescheduled"
    )
    return list(session.scalars(stmt))


def assistants(session: Session, practice_id: str) -> list[m.StaffRef]:
    """The practice's active assistants (ids and display names), by display name."""
    U, UP = models.User, models.UserPractice
    stmt = (
        select(U.id, U.display_name)
        .join(UP, UP.user_id == U.id)
        .where(UP.practice_id == practice_id, U.role == Role.ASSISTANT.value, U.active.is_(True))
        .order_by(U.display_name, U.id)
    )
    return [m.StaffRef(id=uid, display_name=name) for uid, name in session.execute(stmt)]


def compute(
    session: Session,
    practice: models.Practice,
    period: m.Period,
    filters: Filters,
    as_of: datetime,
) -> list[m.Figure]:
    """Every figure of `m.FIGURE_IDS` for one practice and period, in that order."""
    pid = practice.id
    start, end = period.starts_at, period.ends_at
    at = min(end, as_of)
    calendar = calendar_for(practice)
    segments = m.day_segments(calendar, period)
    calls = callback_calls(session, pid, start, end, filters)
    confirmations, outcomes = appointments_per_day(session, pid, period)
    escs = escalations(session, pid, start, end, filters)
    figures = [
        m.callback_time(calls, calendar, period),
        m.missed_call_recovery_counts(
            recovery_per_day(session, pid, period, filters, as_of), period
        ),
        m.confirmation_rate_counts(
            confirmations, period, patient_source=has_status_source(session, pid, ["confirmed"])
        ),
        m.no_show_trend_counts(
            outcomes,
            period,
            outcome_source=has_status_source(session, pid, ["noshow", "fulfilled"]),
        ),
        m.intake_completion_counts(intake_per_band(session, pid, period, filters)),
        m.unresolved_by_age_counts(open_task_ages(session, pid, at, filters)),
        m.referral_aging(open_referrals(session, pid, at), at, practice.timezone),
        m.reschedule_volume(rescheduled(session, pid, start, end, filters), period),
        m.access_complaints(escs, period),
        m.escalations_by_route(escs, period, as_of),
        m.sla_met_counts(sla_per_day(session, pid, period, filters, as_of), period),
        m.attempts_per_resolved_counts(*resolved_attempts(session, pid, start, end, filters)),
        m.work_outside_hours_counts(
            segments, attempts_per_segment(session, pid, segments, filters), period
        ),
    ]
    return [
        f.model_copy(update={"practice_wide": True}) if f.id in PRACTICE_WIDE else f
        for f in figures
    ]


# --- the exceptions review ------------------------------------------------------------

FAILED_CONTACT = sorted(
    {o.code for w in WORKFLOWS.values() for o in w.outcomes if o.effect.is_failed_contact}
)
REPEATED_FAILED_CONTACT = 3  # failed-contact attempts on one patient in the period
EXCEPTION_LIMIT = 200  # items per list; `count` fields still count all


def _norm_reason(reason: str) -> str:
    return " ".join(reason.lower().split())[:80]


def _local_label(at: datetime, tz: tzinfo) -> str:
    """`at` (aware, or naive UTC as SQLite returns it) as "YYYY-MM-DD HH:MM ZONE" in `tz`."""
    aware = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return aware.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")


def exceptions(
    session: Session,
    practice_id: str,
    start: datetime,
    end: datetime,
    f: Filters,
    as_of: datetime,
    timezone: str = "UTC",
) -> dict[str, list[m.ExceptionGroup]]:
    """The four lists of the exceptions review (see `m.ExceptionsReport`): ids, never names.

    `start`/`end` bound the period (aware, end exclusive); `as_of` (aware) is "now"
    for "past their target". Times in labels are the practice's local wall clock in
    its IANA `timezone` with the zone's abbreviation ("due 2026-11-24 22:30 EST"), as
    every day of the dashboard is the practice's (DESIGN.md "Metrics and reports").
    """
    E, T, A = models.Escalation, models.Task, models.Attempt
    # Recurring escalation reasons: the same route and reason text (case and spacing
    # folded) raised twice or more in the period.
    esc_stmt = select(E.route, E.reason, E.task_id).where(
        E.practice_id == practice_id, E.raised_at >= start, E.raised_at < end
    )
    if f.workflow:
        esc_stmt = esc_stmt.join(T, T.id == E.task_id).where(T.workflow == f.workflow)
    if f.assistant_id:
        esc_stmt = esc_stmt.where(E.raised_by == f.assistant_id)
    groups: dict[tuple[str, str], list[str]] = {}
    for route, reason, task_id in session.execute(esc_stmt):
        groups.setdefault((route, _norm_reason(reason or "")), []).append(task_id)
    recurring = sorted(
        (
            m.ExceptionGroup(
                key=f"{route}:{reason}",
                label=f"{route}: {reason or '(no reason given)'}",
                count=len(ids),
                task_ids=sorted(set(ids))[:EXCEPTION_LIMIT],
            )
            for (route, reason), ids in groups.items()
            if len(ids) >= 2
        ),
        key=lambda g: (-g.count, g.key),
    )
    # Patients with repeated failed contact in the period.
    # Per task first, on the (practice, outcome, started_at, task) index alone; then one
    # task lookup per task, not per attempt.
    per_task = (
        select(A.task_id.label("task_id"), func.count().label("n"))
        .where(*_attempts_in(practice_id, start, end, f), A.outcome.in_(FAILED_CONTACT))
        .group_by(A.task_id)
        .subquery("per_task")
    )
    total = func.sum(per_task.c.n)
    failed_stmt = (
        select(T.patient_id, total, func.min(T.id), func.max(T.id))
        .select_from(per_task)
        .join(T, T.id == per_task.c.task_id)
        .where(T.patient_id.is_not(None))
        .group_by(T.patient_id)
        .having(total >= REPEATED_FAILED_CONTACT)
        .order_by(total.desc(), T.patient_id)
        .limit(EXCEPTION_LIMIT)
    )
    repeated = [
        m.ExceptionGroup(
            key=str(patient_id),
            label=f"patient {str(patient_id)[:8]}: {n} failed contacts",
            count=int(n),
            task_ids=sorted({lo, hi}),
        )
        for patient_id, n, lo, hi in session.execute(failed_stmt)
    ]
    # Conflicts needing attention: tasks flagged for review (an attempt arrived stale).
    conflict_stmt = (
        select(T.id, T.workflow)
        .where(T.practice_id == practice_id, T.needs_review.is_(True), *_task_filters(f))
        .order_by(T.updated_at.desc())
        .limit(EXCEPTION_LIMIT)
    )
    conflicts = [
        m.ExceptionGroup(key=tid, label=f"{wf} needs review", count=1, task_ids=[tid])
        for tid, wf in session.execute(conflict_stmt)
    ]
    # Tasks past their target: open and due before now.
    past_stmt = (
        select(T.id, T.workflow, T.due_at, T.priority)
        .where(
            T.practice_id == practice_id,
            T.status.in_(OPEN_STATUSES),
            T.due_at < as_of,
            *_task_filters(f),
        )
        .order_by(T.due_at)
        .limit(EXCEPTION_LIMIT)
    )
    tz = zone(timezone)
    past = [
        m.ExceptionGroup(
            key=tid,
            label=f"{wf} ({prio}) due {_local_label(due, tz)}",
            count=1,
            task_ids=[tid],
        )
        for tid, wf, due, prio in session.execute(past_stmt)
    ]
    return {
        "recurring_reasons": recurring,
        "repeated_failed_contact": repeated,
        "conflicts": conflicts,
        "past_target": past,
    }
