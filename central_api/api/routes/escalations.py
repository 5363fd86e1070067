"""Escalations: raised by whoever works the task, worked by the named contacts."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from central_api import idempotency
from central_api.access import audit_access, scope_for
from central_api.api.deps import (
    ClientDep,
    EscalationHandler,
    PatientReader,
    SessionDep,
    Worker,
)
from central_api.api.routes.attempts import REPLAY_HEADERS, IdempotencyKey
from central_api.errors import AUTH_ERRORS, responses
from central_api.models import Escalation, Task, utcnow
from central_api.serialize import escalation_out
from central_api.supervision.access import scoped_write
from central_api.work import create_escalation, log_escalation
from followup_core.enums import EscalationStatus
from followup_core.schemas import EscalationIn, EscalationOut, EscalationResolve

router = APIRouter(prefix="/v1", tags=["escalations"], responses=AUTH_ERRORS)


INBOX_LIMIT = 500


@router.post(
    "/escalations",
    status_code=201,
    response_model=EscalationOut,
    operation_id="post_escalation",
    responses={201: {"headers": REPLAY_HEADERS}, **responses(404, 409)},
)
def post_escalation(
    body: EscalationIn,
    user: Worker,
    session: SessionDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    # Everything, the caller's scope included, is read and written in the one
    # transaction the idempotency record commits with.
    return idempotency.create_once(
        session,
        user_id=user.id,
        key=idempotency_key,
        endpoint="POST /v1/escalations",
        name="escalations",
        body=body,
        create=lambda s: create_escalation(s, scope_for(s, user), body, client=client),
    )


@router.get(
    "/escalations",
    response_model=list[EscalationOut],
    operation_id="list_escalations",
    summary="The escalation inbox, oldest acknowledgement due first",
)
def list_escalations(
    user: PatientReader,
    session: SessionDep,
    client: ClientDep,
    status: Annotated[
        EscalationStatus | Literal[""] | None,
        Query(description="open, acknowledged or resolved; empty or absent for all"),
    ] = None,
) -> list[EscalationOut]:
    scope = scope_for(session, user)
    stmt = select(Escalation).where(Escalation.practice_id.in_(sorted(scope.practice_ids)))
    if status:
        stmt = stmt.where(Escalation.status == str(status))
    if scope.queue_only:
        mine = select(Task.id).where(Task.owner_id == user.id)
        stmt = stmt.where(or_(Escalation.raised_by == user.id, Escalation.task_id.in_(mine)))
    rows = session.scalars(stmt.order_by(Escalation.ack_due_at, Escalation.id).limit(INBOX_LIMIT))
    out = [escalation_out(e) for e in rows]
    audit_access(
        session,
        scope,
        action="escalation.list",
        resource=f"escalations:{status or 'all'}",
        client=client,
    )
    session.commit()
    return out


def _bump(session: Session, esc: Escalation) -> None:
    esc.version += 1
    log_escalation(session, esc)


@router.post(
    "/escalations/{escalation_id}/acknowledge",
    response_model=EscalationOut,
    operation_id="acknowledge_escalation",
    responses=responses(404),
    summary="Acknowledge an open escalation (repeating it changes nothing)",
)
def acknowledge(
    escalation_id: str, user: EscalationHandler, session: SessionDep, client: ClientDep
) -> EscalationOut:
    with scoped_write(session, user, client=client, feed=True) as caller:
        esc = caller.escalation(escalation_id, for_update=True)  # after the feed lock
        if esc.status == str(EscalationStatus.OPEN):
            esc.status = str(EscalationStatus.ACKNOWLEDGED)
            esc.acknowledged_by = user.id
            esc.acknowledged_at = utcnow()
            _bump(session, esc)
        caller.audit("escalation.acknowledge", f"escalation:{esc.id}")
    return escalation_out(esc)


@router.post(
    "/escalations/{escalation_id}/resolve",
    response_model=EscalationOut,
    operation_id="resolve_escalation",
    responses=responses(404),
    summary="Resolve an escalation with what was done (repeating it changes nothing)",
)
def resolve(
    escalation_id: str,
    body: EscalationResolve,
    user: EscalationHandler,
    session: SessionDep,
    client: ClientDep,
) -> EscalationOut:
    with scoped_write(session, user, client=client, feed=True) as caller:
        esc = caller.escalation(escalation_id, for_update=True)  # after the feed lock
        if esc.status != str(EscalationStatus.RESOLVED):
            now = utcnow()
            if esc.acknowledged_at is None:
                esc.acknowledged_by = user.id
                esc.acknowledged_at = now
            esc.status = str(EscalationStatus.RESOLVED)
            esc.resolved_by = user.id
            esc.resolved_at = now
            esc.resolution = body.resolution
            _bump(session, esc)
        caller.audit("escalation.resolve", f"escalation:{esc.id}")
    return escalation_out(esc)
