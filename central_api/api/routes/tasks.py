"""A task with its attempts, and the lease that keeps two people off one patient."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Response
from sqlalchemy import select

from central_api.access import audit_access, scope_for, task_for
from central_api.api.deps import ClientDep, PatientReader, SessionDep, SettingsDep, Worker
from central_api.errors import AUTH_ERRORS, ApiError, responses
from central_api.models import Attempt, User, utcnow
from central_api.serialize import attempt_out, task_out
from central_api.uow import UnitOfWork
from followup_core.schemas import Lease, TaskDetail

router = APIRouter(prefix="/v1", tags=["tasks"], responses=AUTH_ERRORS)


@router.get(
    "/tasks/{task_id}",
    response_model=TaskDetail,
    operation_id="get_task",
    responses=responses(404),
)
def get_task(
    task_id: str, user: PatientReader, session: SessionDep, client: ClientDep
) -> TaskDetail:
    scope = scope_for(session, user)
    task = task_for(session, scope, task_id, client=client)
    attempts = session.scalars(
        select(Attempt).where(Attempt.task_id == task.id).order_by(Attempt.started_at, Attempt.id)
    ).all()
    audit_access(session, scope, action="task.read", resource=f"task:{task.id}", client=client)
    session.commit()
    return TaskDetail(task=task_out(task), attempts=[attempt_out(a) for a in attempts])


@router.post(
    "/tasks/{task_id}/claim",
    response_model=Lease,
    operation_id="claim_task",
    responses=responses(404, 409),
    summary="Take or renew the lease on a task (409 lease-held if someone else holds it)",
)
def claim_task(
    task_id: str, user: Worker, session: SessionDep, client: ClientDep, settings: SettingsDep
) -> Lease:
    # A lease writes no change row: no feed lock, only the task's row lock.
    with UnitOfWork(session, actor_id=user.id, client=client) as uow:
        scope = scope_for(session, user)
        task = task_for(session, scope, task_id, client=client, for_update=True)
        now = utcnow()
        held_by_other = (
            task.lease_holder_id is not None
            and task.lease_holder_id != user.id
            and task.lease_expires_at is not None
            and task.lease_expires_at > now
        )
        if held_by_other:
            holder = session.get(User, task.lease_holder_id)
            name = holder.display_name if holder is not None else "someone else"
            # Rolled back by the unit of work: no transaction (SQLite's write lock) is
            # left to the teardown. Staff display names are not PHI: the one who opened
            # the task needs to know whom to ask (and until when the lease runs, UTC).
            raise ApiError(
                409,
                "lease-held",
                f"{name} is working this task (lease until {task.lease_expires_at:%H:%M} UTC)",
            )
        task.lease_holder_id = user.id
        task.lease_expires_at = now + timedelta(minutes=settings.lease_minutes)
        uow.audit("task.claim", f"task:{task.id}")
    return Lease(task_id=task.id, holder_id=user.id, expires_at=task.lease_expires_at)


@router.post(
    "/tasks/{task_id}/release",
    status_code=204,
    operation_id="release_task",
    responses=responses(404, 409),
    summary="Give up the lease (a no-op if nobody holds it)",
)
def release_task(task_id: str, user: Worker, session: SessionDep, client: ClientDep) -> Response:
    with UnitOfWork(session, actor_id=user.id, client=client) as uow:
        scope = scope_for(session, user)
        task = task_for(session, scope, task_id, client=client, for_update=True)
        now = utcnow()
        if (
            task.lease_holder_id is not None
            and task.lease_holder_id != user.id
            and task.lease_expires_at is not None
            and task.lease_expires_at > now
        ):
            raise ApiError(409, "lease-held", "someone else holds the lease on this task")
        task.lease_holder_id = None
        task.lease_expires_at = None
        uow.audit("task.release", f"task:{task.id}")
    return Response(status_code=204)
