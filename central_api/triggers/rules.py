"""The rules of the periodic job: what opens which task.

- appointment-confirmation tasks for booked appointments in the next 48 hours;
- intake-completion tasks for appointments in the next 7 days whose patient's
  intake is not complete;
- referral-follow-up tasks for referrals still `sent`/`received` after 7 days;
- re-opens (on-hold -> ready) tasks whose `next_attempt_at` has come, unless an
  escalation is still open on them;
- raises `repeated-failed-contact` for tasks that reached their workflow's
  maximum attempts without one.

Each rule only adds rows to the caller's session and counts them on a
`Progress`; the runner (`triggers.runner`) owns the transaction, the job lock
and the batching. Every rule is idempotent: what it opened it never opens twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from central_api import models
from central_api.assignment import Assigner, announce_task
from central_api.errors import ApiError
from central_api.feed import log_task
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
SYSTEM_ACTOR = "system"
TERMINAL = [str(s) for s in TERMINAL_STATUSES]


@dataclass
class RunSummary:
    """What one pass of the job did (counts of changes, and the new tasks' ids)."""

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


class Progress(Protocol):
    """Where a rule counts its changes (the runner commits every few of them)."""

    summary: RunSummary

    def add(self, what: str) -> None:
        """Count one change under `what` (a `RunSummary` counter's name)."""


class Practices:
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

    def assignee(self, practice_id: str, workflow: WorkflowId | None = None) -> str | None:
        if practice_id not in self._assigners:
            self._assigners[practice_id] = Assigner(self.session, practice_id)
        return self._assigners[practice_id].pick(workflow)

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
    practices: Practices,
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
    owner = practices.assignee(practice_id, workflow)
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


def _open_on_focus(
    session: Session,
    practices: Practices,
    out: Progress,
    counter: str,
    *,
    workflow: WorkflowId,
    practice_id: str,
    patient_id: str,
    focus: tuple[FocusKind, str],
    now: datetime,
    priority: Priority = Priority.ROUTINE,
) -> models.Task | None:
    """Open one `workflow` task on `focus` (an appointment or referral) if the practice's
    file runs that workflow (else None), counted under `counter` with its id reported."""
    if not practices.runs(practice_id, workflow):
        return None
    task = open_task(
        session,
        practices,
        practice_id=practice_id,
        workflow=workflow,
        triggered_at=now,
        patient_id=patient_id,
        focus=focus,
        priority=priority,
    )
    out.add(counter)
    out.summary.task_ids.append(task.id)
    return task


def open_confirmations(
    session: Session, practices: Practices, now: datetime, out: Progress
) -> None:
    """Appointment-confirmation tasks for booked visits in the next `CONFIRM_AHEAD` (48 h);
    due before the visit at the latest, urgent inside 24 h."""
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
        task = _open_on_focus(
            session,
            practices,
            out,
            "confirmations",
            workflow=WorkflowId.APPOINTMENT_CONFIRMATION,
            practice_id=appt.practice_id,
            patient_id=appt.patient_id,
            focus=(FocusKind.APPOINTMENT, appt.id),
            now=now,
            priority=Priority.URGENT
            if appt.start_at - now < timedelta(hours=24)
            else Priority.ROUTINE,
        )
        # Confirmation must land before the visit, whatever the response target says.
        if task is not None and task.due_at > appt.start_at:
            task.due_at = appt.start_at


def open_intakes(session: Session, practices: Practices, now: datetime, out: Progress) -> None:
    """Intake-completion tasks for visits in the next `INTAKE_AHEAD` (7 days) whose patient's
    intake is not complete; at most one open intake task per patient."""
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
                models.Task.status.not_in(TERMINAL),
                models.Task.patient_id.is_not(None),
            )
        ).all()
    )
    _loaded = _preload_patients(session, [appt.patient_id for appt in rows])
    for appt in rows:
        if appt.patient_id in open_for_patient:
            continue
        task = _open_on_focus(
            session,
            practices,
            out,
            "intakes",
            workflow=WorkflowId.INTAKE_COMPLETION,
            practice_id=appt.practice_id,
            patient_id=appt.patient_id,
            focus=(FocusKind.APPOINTMENT, appt.id),
            now=now,
        )
        if task is not None:
            open_for_patient.add(appt.patient_id)


def open_referrals(session: Session, practices: Practices, now: datetime, out: Progress) -> None:
    """Referral-follow-up tasks for referrals still sent/received after `REFERRAL_AGE` (7 days)."""
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
        _open_on_focus(
            session,
            practices,
            out,
            "referrals",
            workflow=WorkflowId.REFERRAL_FOLLOW_UP,
            practice_id=ref.practice_id,
            patient_id=ref.patient_id,
            focus=(FocusKind.REFERRAL, ref.id),
            now=now,
        )


def reopen_retries(session: Session, now: datetime, out: Progress) -> None:
    """On-hold tasks whose `next_attempt_at` (UTC) has come go back to ready, unless an
    escalation on them is still open (escalated work waits for the named contact)."""
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


def escalate_failed_contact(session: Session, now: datetime, out: Progress) -> None:
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
                    models.Task.status.not_in(TERMINAL),
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
