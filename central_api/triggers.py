"""Where new work comes from: the periodic job and the missed-call webhook.

`run_once(session)` opens what is due and nobody has opened yet:

- appointment-confirmation tasks for booked appointments in the next 48 hours;
- intake-completion tasks for appointments in the next 7 days whose patient's
  intake is not complete;
- referral-follow-up tasks for referrals still `sent`/`received` after 7 days;
- re-opens (on-hold → ready) tasks whose `next_attempt_at` has come, unless an
  escalation is still open on them;
- raises `repeated-failed-contact` for tasks that reached their workflow's
  maximum attempts without one.

It is idempotent (a second run finds nothing to do) and runs in one
transaction; with several API processes on one PostgreSQL a transaction-scoped
advisory lock lets only one of them run it at a time (the others skip).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, and_, or_, select, text
from sqlalchemy.orm import Session

from central_api import audit, models
from central_api.assignment import Assigner, announce_task
from central_api.core.security import token_digest
from central_api.errors import ApiError
from central_api.feed import lock_for_write, log_task
from central_api.practices.state import enabled_workflows, practice_workflow, workflow_setting
from central_api.serialize import practice_out
from central_api.work import hold, raise_escalation, touch
from followup_core.business_time import PracticeCalendar
from followup_core.enums import (
    TERMINAL_STATUSES,
    AppointmentStatus,
    EscalationRoute,
    EscalationStatus,
    FocusKind,
    IntakeStatus,
    Priority,
    ReferralStatus,
    TaskStatus,
    WorkflowId,
)
from followup_core.task_state import MAX_ATTEMPTS_STATUS
from followup_core.workflows import WORKFLOWS

log = logging.getLogger(__name__)

CONFIRM_AHEAD = timedelta(hours=48)
INTAKE_AHEAD = timedelta(days=7)
REFERRAL_AGE = timedelta(days=7)
DEFAULT_INTERVAL_SECONDS = 60.0
# pg_try_advisory_xact_lock key of the periodic job ("trigger" in ASCII).
JOB_LOCK_KEY = 0x74726967676572
SYSTEM_ACTOR = "system"
# Changes committed together by the job (one transaction, one audit row each).
BATCH_SIZE = 500
_TERMINAL = [str(s) for s in TERMINAL_STATUSES]


@dataclass
class RunSummary:
    confirmations: int = 0
    intakes: int = 0
    referrals: int = 0
    reopened: int = 0
    escalated: int = 0
    skipped: bool = False  # another process holds the job lock
    task_ids: list[str] = field(default_factory=list)

    @property
    def created(self) -> int:
        return self.confirmations + self.intakes + self.referrals


class _Practices:
    """Per-practice calendars, assigners and current scripts, built on first use."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._calendars: dict[str, PracticeCalendar] = {}
        self._assigners: dict[str, Assigner] = {}
        self._scripts: dict[tuple[str, str], str | None] = {}
        self._configs: dict[str, dict[str, Any]] = {}

    def calendar(self, practice_id: str) -> PracticeCalendar:
        if practice_id not in self._calendars:
            practice = self.session.get(models.Practice, practice_id)
            assert practice is not None
            self._calendars[practice_id] = PracticeCalendar.from_practice(practice_out(practice))
        return self._calendars[practice_id]

    def assignee(self, practice_id: str) -> str | None:
        if practice_id not in self._assigners:
            self._assigners[practice_id] = Assigner(self.session, practice_id)
        return self._assigners[practice_id].pick()

    def config(self, practice_id: str) -> dict[str, Any]:
        if practice_id not in self._configs:
            practice = self.session.get(models.Practice, practice_id)
            self._configs[practice_id] = dict(practice.config or {}) if practice else {}
        return self._configs[practice_id]

    def runs(self, practice_id: str, workflow: WorkflowId) -> bool:
        """Whether the practice runs `workflow` (its file lists it; issue 13)."""
        return str(workflow) in enabled_workflows(self.config(practice_id))

    def response_target(self, practice_id: str, workflow: WorkflowId) -> timedelta:
        """The practice's response target for `workflow`, else the product's default."""
        setting = workflow_setting(self.config(practice_id), str(workflow))
        if setting is None:
            return WORKFLOWS[workflow].response_target
        return timedelta(minutes=int(setting["response_target_minutes"]))

    def script(self, practice_id: str, workflow: WorkflowId) -> str | None:
        key = (practice_id, str(workflow))
        if key not in self._scripts:
            self._scripts[key] = self.session.scalars(
                select(models.Script.id)
                .where(
                    models.Script.practice_id == practice_id,
                    models.Script.workflow == str(workflow),
                    models.Script.active.is_(True),
                )
                .order_by(models.Script.version.desc())
                .limit(1)
            ).first()
        return self._scripts[key]


def open_task(
    session: Session,
    practices: _Practices,
    *,
    practice_id: str,
    workflow: WorkflowId,
    triggered_at: datetime,
    patient_id: str | None,
    focus: tuple[FocusKind, str] | None = None,
    priority: Priority = Priority.ROUTINE,
    caller_phone: str | None = None,
    next_action: str | None = None,
) -> models.Task:
    """A new task, due within the workflow's response target in business time, assigned."""
    now = models.utcnow()
    owner = practices.assignee(practice_id)
    due = practices.calendar(practice_id).due_for(
        triggered_at, practices.response_target(practice_id, workflow)
    )
    task = models.Task(
        id=models.new_id(),
        practice_id=practice_id,
        workflow=str(workflow),
        status=str(TaskStatus.READY if owner else TaskStatus.REQUESTED),
        business_status=None,
        priority=str(priority),
        owner_id=owner,
        patient_id=patient_id,
        caller_phone=caller_phone,
        focus_kind=str(focus[0]) if focus else None,
        focus_id=focus[1] if focus else None,
        due_at=due,
        attempts=0,
        next_attempt_at=None,
        next_action=next_action or WORKFLOWS[workflow].title,
        version=1,
        script_id=practices.script(practice_id, workflow),
        needs_review=False,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    announce_task(session, task)
    return task


def _preload_patients(session: Session, patient_ids: list[str]) -> list[models.Patient]:
    """Load the patients about to be announced, in chunks; the caller keeps the list
    alive, because the identity map only holds weak references."""
    wanted = sorted(set(patient_ids))
    loaded: list[models.Patient] = []
    for start in range(0, len(wanted), 900):
        loaded.extend(
            session.scalars(
                select(models.Patient).where(models.Patient.id.in_(wanted[start : start + 900]))
            ).all()
        )
    return loaded


def _focused_by(workflow: WorkflowId) -> Select[str | None]:
    """The focus ids of every task of `workflow`, any status (so a run is idempotent)."""
    return select(models.Task.focus_id).where(
        models.Task.workflow == str(workflow), models.Task.focus_id.is_not(None)
    )


def _open_confirmations(
    session: Session, practices: _Practices, now: datetime, out: _Progress
) -> None:
    rows = session.scalars(
        select(models.Appointment)
        .where(
            models.Appointment.start_at > now,
            models.Appointment.start_at <= now + CONFIRM_AHEAD,
            models.Appointment.status == str(AppointmentStatus.BOOKED),
            models.Appointment.id.not_in(_focused_by(WorkflowId.APPOINTMENT_CONFIRMATION)),
        )
        .order_by(models.Appointment.start_at, models.Appointment.id)
    ).all()
    _loaded = _preload_patients(session, [appt.patient_id for appt in rows])
    for appt in rows:
        if not practices.runs(appt.practice_id, WorkflowId.APPOINTMENT_CONFIRMATION):
            continue
        task = open_task(
            session,
            practices,
            practice_id=appt.practice_id,
            workflow=WorkflowId.APPOINTMENT_CONFIRMATION,
            triggered_at=now,
            patient_id=appt.patient_id,
            focus=(FocusKind.APPOINTMENT, appt.id),
            # Confirmation must land before the visit, whatever the response target says.
            priority=Priority.URGENT
            if appt.start_at - now < timedelta(hours=24)
            else Priority.ROUTINE,
        )
        if task.due_at > appt.start_at:
            task.due_at = appt.start_at
        out.add("confirmations")
        out.summary.task_ids.append(task.id)


def _open_intakes(session: Session, practices: _Practices, now: datetime, out: _Progress) -> None:
    rows = session.scalars(
        select(models.Appointment)
        .join(models.Patient, models.Patient.id == models.Appointment.patient_id)
        .where(
            models.Appointment.start_at > now,
            models.Appointment.start_at <= now + INTAKE_AHEAD,
            models.Appointment.status.in_(
                [str(AppointmentStatus.BOOKED), str(AppointmentStatus.CONFIRMED)]
            ),
            models.Patient.intake_status != str(IntakeStatus.COMPLETE),
            models.Appointment.id.not_in(_focused_by(WorkflowId.INTAKE_COMPLETION)),
        )
        .order_by(models.Appointment.start_at, models.Appointment.id)
    ).all()
    # One intake task per patient is enough, even with two visits coming up.
    open_for_patient: set[str | None] = set(
        session.scalars(
            select(models.Task.patient_id).where(
                models.Task.workflow == str(WorkflowId.INTAKE_COMPLETION),
                models.Task.status.not_in(_TERMINAL),
                models.Task.patient_id.is_not(None),
            )
        ).all()
    )
    _loaded = _preload_patients(session, [appt.patient_id for appt in rows])
    for appt in rows:
        if not practices.runs(appt.practice_id, WorkflowId.INTAKE_COMPLETION):
            continue
        if appt.patient_id in open_for_patient:
            continue
        task = open_task(
            session,
            practices,
            practice_id=appt.practice_id,
            workflow=WorkflowId.INTAKE_COMPLETION,
            triggered_at=now,
            patient_id=appt.patient_id,
            focus=(FocusKind.APPOINTMENT, appt.id),
        )
        open_for_patient.add(appt.patient_id)
        out.add("intakes")
        out.summary.task_ids.append(task.id)


def _open_referrals(session: Session, practices: _Practices, now: datetime, out: _Progress) -> None:
    rows = session.scalars(
        select(models.Referral)
        .where(
            models.Referral.referred_at <= now - REFERRAL_AGE,
            models.Referral.status.in_([str(ReferralStatus.SENT), str(ReferralStatus.RECEIVED)]),
            models.Referral.id.not_in(_focused_by(WorkflowId.REFERRAL_FOLLOW_UP)),
        )
        .order_by(models.Referral.referred_at, models.Referral.id)
    ).all()
    _loaded = _preload_patients(session, [ref.patient_id for ref in rows])
    for ref in rows:
        if not practices.runs(ref.practice_id, WorkflowId.REFERRAL_FOLLOW_UP):
            continue
        task = open_task(
            session,
            practices,
            practice_id=ref.practice_id,
            workflow=WorkflowId.REFERRAL_FOLLOW_UP,
            triggered_at=now,
            patient_id=ref.patient_id,
            focus=(FocusKind.REFERRAL, ref.id),
        )
        out.add("referrals")
        out.summary.task_ids.append(task.id)


def _reopen_retries(session: Session, now: datetime, out: _Progress) -> None:
    open_escalations = select(models.Escalation.task_id).where(
        models.Escalation.status != str(EscalationStatus.RESOLVED)
    )
    rows = session.scalars(
        select(models.Task).where(
            models.Task.status == str(TaskStatus.ON_HOLD),
            models.Task.next_attempt_at.is_not(None),
            models.Task.next_attempt_at <= now,
            # Escalated work waits for the named contact, not for the clock.
            models.Task.id.not_in(open_escalations),
        )
    ).all()
    for task in rows:
        task.status = str(TaskStatus.READY)
        touch(task, now)
        log_task(session, task)
        out.add("reopened")


def _escalate_failed_contact(session: Session, now: datetime, out: _Progress) -> None:
    """Tasks that ran out of attempts without reaching anyone, and nobody was told."""
    route = EscalationRoute.REPEATED_FAILED_CONTACT
    told = select(models.Escalation.task_id).where(models.Escalation.route == str(route))
    # Each practice may set its own max attempts (its file): select with the lowest
    # limit in use, then hold each task to its own practice's.
    configs = {p.id: dict(p.config or {}) for p in session.scalars(select(models.Practice))}
    for workflow_id, workflow in WORKFLOWS.items():
        limits = {
            pid: practice_workflow(cfg, workflow_id).policy.max_attempts
            for pid, cfg in configs.items()
        }
        lowest = min([workflow.policy.max_attempts, *limits.values()])
        rows = session.scalars(
            select(models.Task).where(
                models.Task.workflow == str(workflow_id),
                models.Task.attempts >= lowest,
                or_(
                    and_(
                        models.Task.status == str(TaskStatus.FAILED),
                        models.Task.business_status == MAX_ATTEMPTS_STATUS,
                    ),
                    models.Task.status.not_in(_TERMINAL),
                ),
                models.Task.id.not_in(told),
            )
        ).all()
        for task in rows:
            if task.attempts < limits.get(task.practice_id, workflow.policy.max_attempts):
                continue
            try:
                raise_escalation(
                    session,
                    task=task,
                    escalation_id=models.new_id(),
                    route=route,
                    reason=f"{task.attempts} contact attempts without reaching the patient",
                    raised_by=SYSTEM_ACTOR,
                    now=now,
                    fresh_id=True,
                )
            except ApiError:
                log.warning("practice %s has no repeated-failed-contact contact", task.practice_id)
                continue
            hold(task)
            touch(task, now)
            log_task(session, task)
            out.add("escalated")


class _LostLock(Exception):
    """Another process took the job lock between two batches."""


def _take_job_lock(session: Session) -> bool:
    """PostgreSQL: this transaction holds the job lock (or another process runs the job)."""
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: every transaction already holds the write lock
    got = session.execute(
        text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": JOB_LOCK_KEY}
    ).scalar_one()
    if got:
        lock_for_write(session)  # before any task row is updated
    return bool(got)


class _Progress:
    """Counts what the run did and commits every `batch` changes, so a large first run
    (thousands of tasks after an import) never holds SQLite's write lock for long."""

    def __init__(self, session: Session, summary: RunSummary, batch: int) -> None:
        self.session = session
        self.summary = summary
        self.batch = batch
        self._pending = 0

    def add(self, what: str) -> None:
        setattr(self.summary, what, getattr(self.summary, what) + 1)
        self._pending += 1
        if self._pending >= self.batch:
            self.commit()
            if not _take_job_lock(self.session):
                raise _LostLock

    def commit(self) -> None:
        if self._pending:
            audit.record(
                self.session,
                actor_id=None,
                action="trigger.run",
                resource=f"changes:{self._pending}",
                client="trigger-job",
            )
        self.session.commit()
        self._pending = 0


def run_once(
    session: Session, *, now: datetime | None = None, batch: int = BATCH_SIZE
) -> RunSummary:
    """One pass of the periodic job, committed every `batch` changes (each batch whole)."""
    now = now or models.utcnow()
    session.commit()  # a fresh transaction: fresh snapshot, SQLite write lock
    out = RunSummary()
    if not _take_job_lock(session):
        session.rollback()
        out.skipped = True
        return out
    progress = _Progress(session, out, batch)
    try:
        practices = _Practices(session)
        # No autoflush: the new rows go to the database in batched flushes at commit,
        # not one INSERT per row each time a lookup would trigger a flush.
        with session.no_autoflush:
            _open_confirmations(session, practices, now, progress)
            _open_intakes(session, practices, now, progress)
            _open_referrals(session, practices, now, progress)
            _reopen_retries(session, now, progress)
            _escalate_failed_contact(session, now, progress)
        progress.commit()
    except _LostLock:
        session.rollback()
        out.skipped = True  # the other process finishes the work
    except BaseException:
        session.rollback()
        raise
    return out


# --- the missed-call webhook ---------------------------------------------------------


def practice_for_key(session: Session, key: str | None) -> models.Practice | None:
    """The practice whose webhook key this is, compared in constant time."""
    if not key or len(key) > 256:
        return None
    digest = token_digest(key)
    found: models.Practice | None = None
    # Compare against every practice (a handful) so timing does not reveal which matched.
    for practice in session.scalars(select(models.Practice)):
        if hmac.compare_digest(practice.webhook_key_hash, digest):
            found = practice
    return found


_NOT_DIGITS = re.compile(r"[^0-9]")


def phone_candidates(raw: str) -> list[str]:
    """The spellings a stored (E.164) number may have for what a phone system sent."""
    digits = _NOT_DIGITS.sub("", raw)
    out = [raw.strip()]
    if len(digits) == 10:
        out.append(f"+1{digits}")
    elif digits:
        out.append(f"+{digits}")
    return list(dict.fromkeys(out))


def missed_call(
    session: Session, practice: models.Practice, *, caller_phone: str, called_at: datetime
) -> models.Task:
    """The task for a missed call: the caller's open one, or a new one (caller commits).

    Raises ApiError 409 `workflow-not-run` when the practice does not run
    missed-call recovery (its practice file leaves it out).
    """
    if str(WorkflowId.MISSED_CALL_RECOVERY) not in enabled_workflows(practice.config or {}):
        raise ApiError(409, "workflow-not-run", "this practice does not run missed-call recovery")
    candidates = phone_candidates(caller_phone)
    patient = session.scalars(
        select(models.Patient)
        .where(models.Patient.practice_id == practice.id, models.Patient.phone.in_(candidates))
        .order_by(models.Patient.id)
        .limit(1)
    ).first()
    open_stmt = select(models.Task).where(
        models.Task.practice_id == practice.id,
        models.Task.workflow == str(WorkflowId.MISSED_CALL_RECOVERY),
        models.Task.status.not_in(_TERMINAL),
    )
    if patient is not None:
        open_stmt = open_stmt.where(models.Task.patient_id == patient.id)
    else:
        open_stmt = open_stmt.where(
            models.Task.patient_id.is_(None), models.Task.caller_phone.in_(candidates)
        )
    existing = session.scalars(open_stmt.order_by(models.Task.created_at).limit(1)).first()
    if existing is not None:
        # A second call before anyone called back is the same piece of work.
        return existing
    return open_task(
        session,
        _Practices(session),
        practice_id=practice.id,
        workflow=WorkflowId.MISSED_CALL_RECOVERY,
        triggered_at=called_at,
        patient_id=patient.id if patient else None,
        caller_phone=candidates[-1] if patient is None else None,
        priority=Priority.URGENT,
        next_action="Call back the missed caller",
    )


# --- the periodic loop ------------------------------------------------------------------


def interval_from_env() -> float:
    """`ASSISTANT_API_TRIGGER_INTERVAL` seconds (default 60); 0 or less turns the job off."""
    raw = os.environ.get("ASSISTANT_API_TRIGGER_INTERVAL", "")
    try:
        return float(raw) if raw.strip() else DEFAULT_INTERVAL_SECONDS
    except ValueError:
        log.warning("ignoring ASSISTANT_API_TRIGGER_INTERVAL: not a number")
        return DEFAULT_INTERVAL_SECONDS


async def run_periodically(session_factory: Callable[[], Session], interval: float) -> None:
    """Run the job every `interval` seconds until cancelled; a failed pass is logged, not fatal."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(_run_with_new_session, session_factory)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("periodic trigger job failed; retrying next interval")


def _run_with_new_session(session_factory: Callable[[], Session]) -> RunSummary:
    with session_factory() as session:
        summary = run_once(session)
    if summary.created or summary.reopened or summary.escalated:
        log.info(
            "trigger job: %d new tasks, %d re-opened, %d escalated",
            summary.created,
            summary.reopened,
            summary.escalated,
        )
    return summary


def start_trigger_job(session_factory: Callable[[], Session]) -> asyncio.Task[None] | None:
    """Start the periodic job on the running loop (from the app's lifespan); None if off."""
    interval = interval_from_env()
    if interval <= 0:
        return None
    return asyncio.create_task(run_periodically(session_factory, interval), name="trigger-job")


async def stop_trigger_job(job: asyncio.Task[None] | None) -> None:
    if job is None:
        return
    job.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await job
