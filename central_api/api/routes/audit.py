"""Reading the audit log, page by page, for supervisors and admins.

Audit reads are scoped like every other read (`central_api.access`): a caller
sees the rows about records of their practices. A row about a record
(`task:`, `attempt:`, `escalation:`, `patient:`, `user:` + id) is visible when
that record belongs to one of the caller's practices; any other row (a feed
page, an inbox listing, a job run) when its actor works in one of them. An
admin linked to no practice sees every row, as with every other read.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy import ColumnElement, and_, exists, func, not_, or_, select
from sqlalchemy.orm import Session

from central_api import installation, models
from central_api.access import Scope, scope_for
from central_api.api.deps import SessionDep, require_roles
from central_api.db import begin_read
from central_api.errors import AUTH_ERRORS, responses
from central_api.models import AuditEntry, User
from followup_core.enums import Role
from followup_core.schemas import AuditPage, AuditRow

router = APIRouter(prefix="/v1", tags=["audit"], responses=AUTH_ERRORS)

Auditor = Annotated[User, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]

AUDIT_CURSOR = "audit"


def encode_cursor(session: Session, seq: int) -> str:
    """The signed audit cursor for position `seq` (see `installation.encode_cursor`)."""
    return installation.encode_cursor(session, AUDIT_CURSOR, seq)


def decode_cursor(session: Session, cursor: str | None) -> int:
    """The last `seq` the caller has seen; 400 `bad-cursor` for anything we did not issue."""
    return installation.decode_cursor(session, AUDIT_CURSOR, cursor)


def _record_id(prefix: str) -> ColumnElement[Any]:
    return func.substr(AuditEntry.resource, len(prefix) + 1)


# Which record each resource prefix names, and how to find that record's practice.
_RECORD_KINDS = ("task:", "attempt:", "escalation:", "patient:", "user:")


def visible_rows(session: Session, scope: Scope) -> ColumnElement[bool] | None:
    """The filter on `AuditEntry` for `scope`; None when the caller sees every row."""
    if (
        scope.role is Role.ADMIN
        and not session.scalars(
            select(models.UserPractice.practice_id).where(
                models.UserPractice.user_id == scope.user_id
            )
        ).first()
    ):
        return None
    practices = sorted(scope.practice_ids)
    starts = AuditEntry.resource.startswith
    task_in_scope = exists().where(
        models.Task.id == _record_id("task:"), models.Task.practice_id.in_(practices)
    )
    attempt_in_scope = exists().where(
        models.Attempt.id == _record_id("attempt:"),
        models.Task.id == models.Attempt.task_id,
        models.Task.practice_id.in_(practices),
    )
    escalation_in_scope = exists().where(
        models.Escalation.id == _record_id("escalation:"),
        models.Escalation.practice_id.in_(practices),
    )
    patient_in_scope = exists().where(
        models.Patient.id == _record_id("patient:"), models.Patient.practice_id.in_(practices)
    )
    user_in_scope = exists().where(
        models.UserPractice.user_id == _record_id("user:"),
        models.UserPractice.practice_id.in_(practices),
    )
    actor_in_scope = exists().where(
        models.UserPractice.user_id == AuditEntry.actor_id,
        models.UserPractice.practice_id.in_(practices),
    )
    return or_(
        and_(starts("task:"), task_in_scope),
        and_(starts("attempt:"), attempt_in_scope),
        and_(starts("escalation:"), escalation_in_scope),
        and_(starts("patient:"), patient_in_scope),
        and_(starts("user:"), user_in_scope),
        and_(not_(or_(*(starts(p) for p in _RECORD_KINDS))), actor_in_scope),
    )


@router.get(
    "/audit",
    response_model=AuditPage,
    operation_id="audit",
    responses=responses(400),
    summary="Audit rows about the caller's practices, oldest first",
)
def read_audit(
    user: Auditor,
    session: SessionDep,
    after: Annotated[str | None, Query(description="cursor from the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> AuditPage:
    last_seen = decode_cursor(session, after)
    begin_read(session)  # a pure read: no write lock on SQLite (the teardown ends it)
    scope = scope_for(session, user)
    stmt = select(AuditEntry).where(AuditEntry.seq > last_seen)
    visible = visible_rows(session, scope)
    if visible is not None:
        stmt = stmt.where(visible)
    rows = list(session.scalars(stmt.order_by(AuditEntry.seq).limit(limit + 1)))
    has_more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(session, rows[-1].seq if rows else last_seen)
    return AuditPage(
        cursor=cursor,
        has_more=has_more,
        rows=[
            AuditRow(
                seq=r.seq,
                at=r.at,
                actor_id=r.actor_id,
                action=r.action,
                resource=r.resource,
                client=r.client,
                hash=r.hash,
            )
            for r in rows
        ],
    )
