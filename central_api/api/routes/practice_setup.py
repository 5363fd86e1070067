"""Practice set-up over HTTP: a new staff member's first password, and script approval.

`POST /v1/auth/setup` takes the one-time code `practice apply` printed (see
`central_api.practices.setup_codes`); `POST /v1/scripts/{id}/approve` lets a
supervisor of the practice, or an admin, other than the draft's author approve
it (`central_api.practices.approval`). Both are audited.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Response

from central_api import audit
from central_api.api.deps import ClientDep, SessionDep, require_roles
from central_api.errors import ApiError, responses
from central_api.models import User, utcnow
from central_api.practices.approval import ApprovalError, approve_script
from central_api.practices.setup_codes import SetupCodeError, redeem_setup_code
from central_api.serialize import script_out
from followup_core.enums import Role
from followup_core.schemas import ScriptOut, SetupRequest

router = APIRouter(tags=["practice set-up"])

Approver = Annotated[User, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]


@router.post(
    "/v1/auth/setup",
    status_code=204,
    operation_id="setup_password",
    response_class=Response,
    responses=responses(401),
    summary="Choose a first password with a one-time set-up code",
)
def setup_password(body: SetupRequest, session: SessionDep, client: ClientDep) -> Response:
    """204 when the password is set; 401 `invalid-setup-code` for an unknown, used or
    expired code (one answer for all, so the endpoint reveals nothing)."""
    try:
        user = redeem_setup_code(session, body.username, body.code, body.password, now=utcnow())
    except SetupCodeError:
        session.rollback()
        audit.record(
            session, actor_id=None, action="auth.setup-failed", resource="user:?", client=client
        )
        session.commit()
        raise ApiError(401, "invalid-setup-code", "the set-up code is not valid") from None
    audit.record(
        session, actor_id=user.id, action="auth.setup", resource=f"user:{user.id}", client=client
    )
    session.commit()
    return Response(status_code=204)


@router.post(
    "/v1/scripts/{script_id}/approve",
    response_model=ScriptOut,
    operation_id="approve_script",
    responses=responses(401, 403, 404, 409),
    summary="Approve a script draft (a supervisor or admin other than its author)",
)
def approve(
    script_id: Annotated[str, Path(min_length=1, max_length=64)],
    user: Approver,
    session: SessionDep,
    client: ClientDep,
) -> ScriptOut:
    try:
        script = approve_script(session, script_id, user, now=utcnow(), client=client)
    except ApprovalError as exc:
        session.rollback()
        raise ApiError(exc.status, exc.code, str(exc)) from None
    out = script_out(script)
    session.commit()
    return out
