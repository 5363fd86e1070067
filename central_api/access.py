"""Who may see what, and the audit trail of every look at patient data.

- assistants see only the tasks they own (their queue) and the patients,
  appointments, referrals, attempts and escalations of those tasks, plus the
  reference data (practice, scripts) of the practices they work in;
- supervisors and admins see everything in their practices (an admin linked to
  no practice sees all of them);
- trainers see only the training practice;
- managers see their practices' own records and no patient data: their feed
  carries the practice records only, and patient-data endpoints answer 403.

Anything else is answered 404, exactly as if it did not exist, and the denied
look is audited (`denied-read`), committed even though the request fails.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_api import audit, models
from central_api.errors import ApiError
from followup_core.enums import Role
from followup_core.schemas import is_id


@dataclass(frozen=True)
class Scope:
    """What one caller may see: computed once per request."""

    user_id: str
    role: Role
    practice_ids: frozenset[str]

    @property
    def queue_only(self) -> bool:
        """Assistants see their own queue only, not the whole practice."""
        return self.role is Role.ASSISTANT

    @property
    def practice_records_only(self) -> bool:
        """Managers see their practices' own records (team, metrics), no patient data."""
        return self.role is Role.MANAGER


def practice_ids_for(session: Session, user: models.User) -> frozenset[str]:
    role = Role(user.role)
    if role is Role.TRAINER:
        return frozenset(
            session.scalars(select(models.Practice.id).where(models.Practice.is_training)).all()
        )
    linked = frozenset(
        session.scalars(
            select(models.UserPractice.practice_id).where(models.UserPractice.user_id == user.id)
        ).all()
    )
    if role is Role.ADMIN and not linked:
        return frozenset(session.scalars(select(models.Practice.id)).all())
    return linked


def scope_for(session: Session, user: models.User) -> Scope:
    return Scope(
        user_id=user.id, role=Role(user.role), practice_ids=practice_ids_for(session, user)
    )


def can_see_task(scope: Scope, task: models.Task) -> bool:
    if scope.practice_records_only or task.practice_id not in scope.practice_ids:
        return False
    if scope.queue_only:
        return task.owner_id == scope.user_id
    return True


def can_see_escalation(scope: Scope, esc: models.Escalation, task: models.Task | None) -> bool:
    if scope.practice_records_only or esc.practice_id not in scope.practice_ids:
        return False
    if scope.queue_only:
        return esc.raised_by == scope.user_id or (
            task is not None and task.owner_id == scope.user_id
        )
    return True


def not_found(kind: str) -> ApiError:
    return ApiError(404, "not-found", f"no such {kind}")


def resource_name(kind: str, record_id: str) -> str:
    """`kind:id` for the audit log; an id that cannot be one (too long, NUL, control
    characters: anything a client may put in a path) is recorded as `kind:<invalid>`."""
    return f"{kind}:{record_id}" if is_id(record_id) else f"{kind}:<invalid>"


def deny(session: Session, scope: Scope, *, resource: str, client: str, kind: str) -> ApiError:
    """Audit a refused look (committed now, the request fails after) and return the 404."""
    session.rollback()
    audit.record(
        session, actor_id=scope.user_id, action="denied-read", resource=resource, client=client
    )
    session.commit()
    return not_found(kind)


def task_for(
    session: Session,
    scope: Scope,
    task_id: str,
    *,
    client: str,
    for_update: bool = False,
) -> models.Task:
    """The task if the caller may see it; 404 (audited) otherwise, and for an id that
    cannot be an id without asking the database (it may hold a NUL)."""
    if not is_id(task_id):
        raise _deny_task(session, scope, task_id, client)
    stmt = select(models.Task).where(models.Task.id == task_id)
    if for_update:
        stmt = stmt.with_for_update()
    task = session.scalars(stmt).one_or_none()
    if task is None or not can_see_task(scope, task):
        raise _deny_task(session, scope, task_id, client)
    return task


def _deny_task(session: Session, scope: Scope, task_id: str, client: str) -> ApiError:
    return deny(session, scope, resource=resource_name("task", task_id), client=client, kind="task")


def task_for_fact(
    session: Session, scope: Scope, task_id: str, *, client: str
) -> tuple[models.Task, bool]:
    """The task an attempt or escalation is recorded on, locked for update.

    An attempt is a fact: an assistant who worked a task offline and then lost it
    to a reassignment still delivers what happened. So besides what `task_for`
    admits, a queue-only caller may record on a task they owned before (a change-log
    row names them as its owner); the second value says so, and the caller flags the
    record as a conflict for review. Anyone else gets the audited 404.
    """
    if not is_id(task_id):
        raise _deny_task(session, scope, task_id, client)
    task = session.scalars(
        select(models.Task).where(models.Task.id == task_id).with_for_update()
    ).one_or_none()
    if task is not None and can_see_task(scope, task):
        return task, False
    if (
        task is not None
        and scope.queue_only
        and task.practice_id in scope.practice_ids
        and _owned_before(session, scope.user_id, task.id)
    ):
        return task, True
    raise _deny_task(session, scope, task_id, client)


def _owned_before(session: Session, user_id: str, task_id: str) -> bool:
    log = models.ChangeLog
    return (
        session.scalars(
            select(log.seq)
            .where(log.kind == "task", log.record_id == task_id, log.owner_id == user_id)
            .limit(1)
        ).first()
        is not None
    )


def escalation_for(
    session: Session, scope: Scope, escalation_id: str, *, client: str, for_update: bool = False
) -> models.Escalation:
    if not is_id(escalation_id):
        raise deny(
            session,
            scope,
            resource=resource_name("escalation", escalation_id),
            client=client,
            kind="escalation",
        )
    stmt = select(models.Escalation).where(models.Escalation.id == escalation_id)
    if for_update:
        stmt = stmt.with_for_update()
    esc = session.scalars(stmt).one_or_none()
    task = session.get(models.Task, esc.task_id) if esc is not None else None
    if esc is None or not can_see_escalation(scope, esc, task):
        raise deny(
            session,
            scope,
            resource=resource_name("escalation", escalation_id),
            client=client,
            kind="escalation",
        )
    return esc


def audit_access(
    session: Session, scope: Scope, *, action: str, resource: str, client: str
) -> None:
    """One audit row for a read or write of patient data (ids only, never values),
    written as the last row of the caller's transaction (see `audit.record_at_commit`)."""
    audit.record_at_commit(
        session, actor_id=scope.user_id, action=action, resource=resource, client=client
    )
