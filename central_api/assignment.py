"""Who gets new work, and handing a task to someone.

New work goes to the practice's assistants whose presence is `available`,
least-loaded first (open tasks owned); when nobody is available it falls back
to any active assistant of the practice, so work is never left ownerless while
the practice has staff. `Assigner` keeps the loads in memory so a batch (the
periodic job) spreads work evenly with one query.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central_api import models
from central_api.events import note_assignment
from central_api.feed import log_change, log_task
from followup_core.enums import TERMINAL_STATUSES, AgentState, ChangeKind, FocusKind, Role

_TERMINAL = [str(s) for s in TERMINAL_STATUSES]


class Assigner:
    """Picks owners for new tasks of one practice, least-loaded first."""

    def __init__(self, session: Session, practice_id: str) -> None:
        rows = session.execute(
            select(models.User.id, models.Presence.state)
            .join(models.UserPractice, models.UserPractice.user_id == models.User.id)
            .outerjoin(models.Presence, models.Presence.user_id == models.User.id)
            .where(
                models.UserPractice.practice_id == practice_id,
                models.User.role == str(Role.ASSISTANT),
                models.User.active.is_(True),
            )
        ).all()
        self._available = sorted(uid for uid, state in rows if state == str(AgentState.AVAILABLE))
        self._everyone = sorted(uid for uid, _ in rows)
        self._load: Counter[str] = Counter()
        if self._everyone:
            counts = session.execute(
                select(models.Task.owner_id, func.count())
                .where(
                    models.Task.owner_id.in_(self._everyone),
                    models.Task.status.not_in(_TERMINAL),
                )
                .group_by(models.Task.owner_id)
            ).all()
            for owner_id, count in counts:
                if owner_id is not None:
                    self._load[owner_id] = count

    def pick(self) -> str | None:
        pool = self._available or self._everyone
        if not pool:
            return None
        # Ties go to the lowest id, so a run is deterministic.
        chosen = min(pool, key=lambda uid: (self._load[uid], uid))
        self._load[chosen] += 1
        return chosen


def pick_assignee(session: Session, practice_id: str) -> str | None:
    return Assigner(session, practice_id).pick()


def announce_task(
    session: Session,
    task: models.Task,
    *,
    previous_owner_id: str | None = None,
    with_history: bool = False,
) -> None:
    """Log the task for its (new) owner, with what the owner needs to work it.

    The related records' own change rows may lie behind the new owner's cursor, so
    they are announced again; `with_history` (a hand-over) also re-announces the
    attempts and escalations, and `previous_owner_id` receives the task and its
    attempts as removes. The owner gets an `assignment` event after commit.
    """
    log_task(session, task, previous_owner_id=previous_owner_id)
    note_assignment(session, task.owner_id, task.id)
    if task.patient_id:
        patient = session.get(models.Patient, task.patient_id)
        if patient is not None:
            log_change(
                session,
                kind=ChangeKind.PATIENT,
                record_id=patient.id,
                practice_id=patient.practice_id,
                version=patient.version,
            )
    if task.focus_kind and task.focus_id:
        focus_kind = FocusKind(task.focus_kind)
        focus: models.Appointment | models.Referral | None = (
            session.get(models.Appointment, task.focus_id)
            if focus_kind is FocusKind.APPOINTMENT
            else session.get(models.Referral, task.focus_id)
        )
        if focus is not None:
            log_change(
                session,
                kind=ChangeKind(str(focus_kind)),
                record_id=focus.id,
                practice_id=focus.practice_id,
                version=focus.version,
            )
    if not with_history:
        return
    for attempt in session.scalars(select(models.Attempt).where(models.Attempt.task_id == task.id)):
        log_change(
            session,
            kind=ChangeKind.ATTEMPT,
            record_id=attempt.id,
            practice_id=task.practice_id,
            version=1,
            owner_id=task.owner_id,
            previous_owner_id=previous_owner_id,
        )
    for esc in session.scalars(
        select(models.Escalation).where(models.Escalation.task_id == task.id)
    ):
        log_change(
            session,
            kind=ChangeKind.ESCALATION,
            record_id=esc.id,
            practice_id=esc.practice_id,
            version=esc.version,
        )


def reassign(session: Session, task: models.Task, new_owner_id: str | None) -> None:
    """Give `task` to `new_owner_id` (caller commits): version +1, feed rows for both owners."""
    previous = task.owner_id
    if previous == new_owner_id:
        return
    task.owner_id = new_owner_id
    task.version += 1
    task.updated_at = models.utcnow()
    task.lease_holder_id = None
    task.lease_expires_at = None
    announce_task(session, task, previous_owner_id=previous, with_history=True)
