"""Sign in and out.

A login reads the account in one short transaction, verifies the password
outside any transaction (argon2 is deliberately slow; holding SQLite's write
lock through it would serialize every request), then records the result.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from central_api import audit
from central_api.api.deps import BearerToken, ClientDep, SessionDep, SettingsDep
from central_api.api.users import user_out
from central_api.core import security
from central_api.errors import ApiError, responses
from central_api.events import note_session_ended
from central_api.models import User, utcnow
from followup_core.schemas import LoginRequest, LoginResponse

router = APIRouter(prefix="/v1/auth", tags=["auth"])

BAD_CREDENTIALS = "unknown username or wrong password"


def _locked(retry_after: int) -> ApiError:
    return ApiError(
        429,
        "too-many-attempts",
        "too many failed sign-ins; try again later",
        {"Retry-After": str(retry_after)},
    )


@router.post(
    "/login",
    response_model=LoginResponse,
    operation_id="login",
    responses=responses(401, 429),
)
def login(
    body: LoginRequest, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> LoginResponse:
    now = utcnow()
    user = security.find_user(session, body.username)
    session.commit()  # end the read before the slow hash check

    if user is None or not user.active:
        security.burn_dummy_verify(body.password)
        audit.record(
            session, actor_id=None, action="auth.login-failed", resource="user:?", client=client
        )
        session.commit()
        raise ApiError(401, "unauthenticated", BAD_CREDENTIALS)

    held = security.lockout_remaining(user, now)
    if held is not None:
        raise _locked(held.retry_after_seconds)

    if not security.verify_password(user.password_hash, body.password):
        lock = security.record_failed_login(session, user.id, settings, now=now)
        audit.record(
            session,
            actor_id=user.id,
            action="auth.locked" if lock else "auth.login-failed",
            resource=f"user:{user.id}",
            client=client,
        )
        session.commit()
        raise ApiError(401, "unauthenticated", BAD_CREDENTIALS)

    fresh = session.get(User, user.id)
    if fresh is None:  # deleted while we were hashing
        raise ApiError(401, "unauthenticated", BAD_CREDENTIALS)
    # Another request may have locked the account while this one was hashing.
    held = security.lockout_remaining(fresh, now)
    if held is not None:
        session.rollback()
        raise _locked(held.retry_after_seconds)
    security.record_successful_login(session, user.id)
    if security.needs_rehash(user.password_hash):
        fresh.password_hash = security.hash_password(body.password)
    token, row = security.issue_token(session, fresh, settings, client=client, now=now)
    audit.record(
        session, actor_id=user.id, action="auth.login", resource=f"user:{user.id}", client=client
    )
    out = user_out(session, fresh)
    session.commit()
    return LoginResponse(token=token, expires_at=row.expires_at, user=out)


@router.post(
    "/logout",
    status_code=204,
    operation_id="logout",
    response_class=Response,
    responses=responses(401),
)
def logout(
    token: BearerToken, session: SessionDep, settings: SettingsDep, client: ClientDep
) -> Response:
    user = security.authenticate_token(session, token, settings)
    if user is None:
        raise ApiError(
            401,
            "unauthenticated",
            "the token is invalid, expired or revoked",
            {"WWW-Authenticate": "Bearer"},
        )
    security.revoke_token(session, token)
    note_session_ended(session, user.id)  # the user's open event streams re-check
    audit.record(
        session, actor_id=user.id, action="auth.logout", resource=f"user:{user.id}", client=client
    )
    session.commit()
    return Response(status_code=204)
