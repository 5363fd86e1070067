"""Practice set-up over HTTP: a new staff member's first password, and script approval.

`POST /v1/auth/setup` takes the one-time code `practice apply` printed (see
`central_api.practices.setup_codes`); `POST /v1/scripts/{id}/approve` lets a
supervisor of the practice, or an admin, other than the draft's author approve
it (`central_api.practices.approval`). Both are audited.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response

from central_api import audit, throttle
from central_api.api.deps import ClientDep, SessionDep, SettingsDep, require_roles
from central_api.api.routes.auth import source_of
from central_api.core.config import Settings
from central_api.errors import ApiError, responses
from central_api.models import User, utcnow
from central_api.practices.approval import ApprovalError, approve_script
from central_api.practices.setup_codes import SetupCodeError, redeem_setup_code
from central_api.serialize import script_out
from followup_core.enums import Role
from followup_core.schemas import ScriptOut, SetupRequest

router = APIRouter(tags=["practice set-up"])

Approver = Annotated[User, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN))]


def setup_limits(settings: Settings) -> tuple[throttle.Limit, throttle.Limit]:
    """Failed redemptions per source address and per username (casefolded): each
    `max_failed_setups` per `lockout_minutes`, then held for that long. Codes carry 80
    bits, so guessing is hopeless anyway; the limit keeps the endpoint from being a free
    oracle and its log from being flooded (OWASP ASVS 4.0 V2.2.1, anti-automation)."""
    window = timedelta(minutes=settings.lockout_minutes)
    return (
        throttle.Limit("setup-source", settings.max_failed_setups, window),
        throttle.Limit("setup-name", settings.max_failed_setups, window),
    )


@router.post(
    "/v1/auth/setup",
    status_code=204,
    operation_id="setup_password",
    response_class=Response,
    responses=responses(401, 429),
    summary="Choose a first password with a one-time set-up code",
)
def setup_password(
    body: SetupRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> Response:
    """204 when the password is set; 401 `invalid-setup-code` for an unknown, used or
    expired code (one answer for all, so the endpoint reveals nothing); 429
    `too-many-attempts` with `Retry-After` (seconds) once the caller's address or the
    username has `max_failed_setups` failures in `lockout_minutes` (see `setup_limits`).
    Every failure and every held attempt is audited (`auth.setup-failed`,
    `auth.setup-held`); while held, even the right code is refused."""
    now = utcnow()
    by_source, by_name = setup_limits(settings)
    source, name = source_of(request), body.username.casefold()
    held = throttle.held(session, by_source, source, now) or throttle.held(
        session, by_name, name, now
    )
    if held is not None:
        throttle.hit(session, by_source, source, now)
        audit.record(
            session, actor_id=None, action="auth.setup-held", resource="user:?", client=client
        )
        session.commit()
        raise ApiError(
            429,
            "too-many-attempts",
            "too many failed set-up attempts; try again later",
            {"Retry-After": str(held)},
        )
    try:
        user = redeem_setup_code(session, body.username, body.code, body.password, now=now)
    except SetupCodeError:
        session.rollback()
        throttle.hit(session, by_source, source, now)
        throttle.hit(session, by_name, name, now)
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
