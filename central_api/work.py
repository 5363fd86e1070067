"""The writes behind the work endpoints and the periodic job.

Each function changes rows in the caller's session and appends the matching
change-log rows; the caller commits (once, with its idempotency record), so a
request is all or nothing. The rules themselves (which outcome moves a task
where, due times, escalation contacts) come from `followup_core`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_api import models
from central_api.access import Scope, audit_access, task_for_fact
from central_api.errors import ApiError
from central_api.events import note_escalation
from central_api.feed import lock_for_write, log_change, log_task
from central_api.practices.state import practice_channels, practice_workflow
from central_api.serialize import attempt_out, escalation_out, practice_out, task_out
from followup_core import escalation as escalation_rules
from followup_core.business_time import PracticeCalendar
from followup_core.enums import (
    TERMINAL_STATUSES,
    ChangeKind,
    Channel,
    EscalationRoute,
    EscalationStatus,
    TaskStatus,
    WorkflowId,
)
from followup_core.errors import FollowupError
from followup_core.schemas import AttemptCreated, AttemptIn, Consent, EscalationIn, EscalationOut
from followup_core.task_state import apply_attempt


def invalid(message: str) -> ApiError:
    return ApiError(422, "invalid-request", message)


def touch(task: models.Task, now: datetime) -> None:
    task.version = (task.version or 1) + 1
    task.updated_at = now


def hold(task: models.Task) -> None:
    """Escalated work waits for the named contact: on hold unless already finished."""
    if TaskStatus(task.status) not in TERMINAL_STATUSES:
        task.status = str(TaskStatus.ON_HOLD)


def raise_escalation(
    session: Session,
    *,
    task: models.Task,
    escalation_id: str,
    route: EscalationRoute,
    reason: str,
    raised_by: str,
    now: datetime,
    fresh_id: bool = False,
) -> models.Escalation:
    """Open an escalation to the practice's named contact for `route` (caller logs the task)."""
    if route in escalation_rules.ROUTES_NEEDING_REASON and not reason.strip():
        raise invalid(f"a {route.value} escalation needs a reason")
    # A client-chosen id may repeat; one the server just generated (`fresh_id`) cannot.
    if not fresh_id and session.get(models.Escalation, escalation_id) is not None:
        raise invalid("an escalation with this id already exists")
    practice = session.get(models.Practice, task.practice_id)
    assert practice is not None  # foreign key
    try:
        contact = escalation_rules.contact_for(practice_out(practice), route)
    except FollowupError as exc:
        raise invalid(exc.message) from None
    esc = models.Escalation(
        id=escalation_id,
        practice_id=task.practice_id,
        task_id=task.id,
        patient_id=task.patient_id,
        route=str(route),
        reason=reason,
        status=str(EscalationStatus.OPEN),
        contact=contact.model_dump(mode="json"),
        raised_by=raised_by,
        raised_at=now,
        ack_due_at=escalation_rules.ack_due(now, contact),
        version=1,
    )
    session.add(esc)
    log_escalation(session, esc)
    return esc


def log_escalation(session: Session, esc: models.Escalation) -> None:
    """Log an escalation's new state: its change row, and an `escalation` event for the
    practice's inbox once the transaction commits."""
    log_change(
        session,
        kind=ChangeKind.ESCALATION,
        record_id=esc.id,
        practice_id=esc.practice_id,
        version=esc.version,
    )
    note_escalation(session, esc)


def calendar_for(practice: models.Practice) -> PracticeCalendar:
    return PracticeCalendar.from_practice(practice_out(practice))


def record_attempt(
    session: Session, scope: Scope, body: AttemptIn, *, client: str
) -> AttemptCreated:
    """Store an attempt (a fact: never refused for staleness) and move its task."""
    lock_for_write(session)  # before the task's row lock: see feed.lock_for_write
    task, handed_over = task_for_fact(session, scope, body.task_id, client=client)
    attempt_id = str(body.id)
    existing = session.get(models.Attempt, attempt_id)
    if existing is not None:
        # The same fact sent again under another key (a client that re-queued it): answer
        # with what was recorded instead of recording it twice.
        if existing.task_id != task.id or existing.assistant_id != scope.user_id:
            raise invalid("an attempt with this id is already recorded for another task")
        return AttemptCreated(
            attempt=attempt_out(existing), task=task_out(task), conflict=bool(existing.conflict)
        )
    owner_practice = session.get(models.Practice, task.practice_id)
    # The practice's own attempt policy (its file), within the product's limits.
    workflow = practice_workflow(
        owner_practice.config if owner_practice else None, WorkflowId(task.workflow)
    )
    used = practice_channels(owner_practice.config if owner_practice else None)
    if used is not None and Channel(body.channel) not in used:
        raise ApiError(
            422,
            "channel-not-used",
            f"the practice does not use the {Channel(body.channel).value} channel "
            f"(its channels: {', '.join(sorted(c.value for c in used))})",
        )
    patient = session.get(models.Patient, task.patient_id) if task.patient_id else None
    consent = Consent.model_validate(patient.consent, strict=False) if patient else None
    try:
        outcome = workflow.check_attempt(
            outcome=body.outcome,
            channel=Channel(body.channel),
            identity_verified=body.identity_verified,
            has_next_step=body.next_step is not None,
            notes=body.notes,
            consent=consent,
        )
    except FollowupError as exc:
        raise invalid(exc.message) from None

    now = models.utcnow()
    practice = session.get(models.Practice, task.practice_id)
    assert practice is not None
    # Behind the task's version, or recorded by someone the task was taken from; a task
    # already finished stays as it is and the attempt is flagged (task_state.apply_attempt).
    escalation_id: str | None = None
    try:
        effect = apply_attempt(
            workflow=workflow,
            status=TaskStatus(task.status),
            attempts=task.attempts,
            outcome=outcome,
            ended_at=body.ended_at,
            next_step=body.next_step,
            calendar=calendar_for(practice),
            patient_tz=patient.timezone if patient else practice.timezone,
            stale=body.task_version < task.version or handed_over,
        )
    except FollowupError as exc:
        raise invalid(exc.message) from None
    update, conflict = effect.update, effect.conflict
    if update is not None:
        task.status = str(update.status)
        task.business_status = update.business_status
        task.attempts = update.attempts
        task.next_attempt_at = update.next_attempt_at
        task.next_action = update.next_action
    if conflict:
        task.needs_review = True

    escalations: list[models.Escalation] = []
    if body.escalation is not None:
        escalations.append(
            raise_escalation(
                session,
                task=task,
                escalation_id=models.new_id(),
                route=EscalationRoute(body.escalation.route),
                reason=body.escalation.reason,
                raised_by=scope.user_id,
                now=now,
                fresh_id=True,
            )
        )
    auto = update.auto_escalation if update is not None else None
    if auto is not None and not _has_open(session, task.id, auto):
        escalations.append(
            raise_escalation(
                session,
                task=task,
                escalation_id=models.new_id(),
                route=EscalationRoute(auto),
                reason=f"{task.attempts} contact attempts without reaching the patient",
                raised_by=scope.user_id,
                now=now,
                fresh_id=True,
            )
        )
    if escalations:
        escalation_id = escalations[0].id
        hold(task)
    touch(task, now)
    if task.first_attempt_at is None or body.started_at < task.first_attempt_at:
        task.first_attempt_at = body.started_at

    attempt = models.Attempt(
        id=attempt_id,
        task_id=task.id,
        practice_id=task.practice_id,
        assistant_id=scope.user_id,
        channel=str(body.channel),
        outcome=body.outcome,
        started_at=body.started_at,
        ended_at=body.ended_at,
        identity_verified=body.identity_verified,
        next_step_action=body.next_step.action if body.next_step else None,
        next_step_due_at=body.next_step.due_at if body.next_step else None,
        notes=body.notes,
        script_id=body.script_id,
        script_version=body.script_version,
        escalation_id=escalation_id,
        conflict=conflict,
        recorded_at=now,
    )
    session.add(attempt)
    log_change(
        session,
        kind=ChangeKind.ATTEMPT,
        record_id=attempt.id,
        practice_id=task.practice_id,
        version=1,
        owner_id=task.owner_id,
    )
    log_task(session, task)
    audit_access(
        session, scope, action="attempt.create", resource=f"attempt:{attempt.id}", client=client
    )
    for esc in escalations:
        audit_access(
            session,
            scope,
            action="escalation.create",
            resource=f"escalation:{esc.id}",
            client=client,
        )
    session.flush()
    return AttemptCreated(attempt=attempt_out(attempt), task=task_out(task), conflict=conflict)


def _has_open(session: Session, task_id: str, route: EscalationRoute) -> bool:
    return (
        session.scalars(
            select(models.Escalation.id).where(
                models.Escalation.task_id == task_id,
                models.Escalation.route == str(route),
                models.Escalation.status != str(EscalationStatus.RESOLVED),
            )
        ).first()
        is not None
    )


def create_escalation(
    session: Session, scope: Scope, body: EscalationIn, *, client: str
) -> EscalationOut:
    lock_for_write(session)  # before the task's row lock: see feed.lock_for_write
    task, _handed_over = task_for_fact(session, scope, body.task_id, client=client)
    now = models.utcnow()
    esc = raise_escalation(
        session,
        task=task,
        escalation_id=str(body.id),
        route=EscalationRoute(body.route),
        reason=body.reason,
        raised_by=scope.user_id,
        now=now,
    )
    hold(task)
    touch(task, now)
    log_task(session, task)
    audit_access(
        session, scope, action="escalation.create", resource=f"escalation:{esc.id}", client=client
    )
    session.flush()
    return escalation_out(esc)
