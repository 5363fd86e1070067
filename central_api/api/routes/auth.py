"""Sign in and out.

A login reads the account in one short transaction, verifies the password
outside any transaction (argon2 is deliberately slow; holding SQLite's write
lock through it would serialize every request), then records the result.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from central_api import audit, throttle
from central_api.api.deps import BearerToken, ClientDep, SessionDep, SettingsDep
from central_api.api.users import user_out
from central_api.core import security
from central_api.core.config import Settings
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


def source_limit(settings: Settings) -> throttle.Limit:
    """Failed sign-ins per source address (any username) per lockout window."""
    return throttle.Limit(
        "login-source",
        settings.max_failed_logins_per_source,
        timedelta(minutes=settings.lockout_minutes),
    )


def name_limit(settings: Settings) -> throttle.Limit:
    """Failed sign-ins per *unknown* username: the same budget a real account has, so
    an unknown name and a real one answer alike (no account enumeration)."""
    return throttle.Limit(
        "login-name", settings.max_failed_logins, timedelta(minutes=settings.lockout_minutes)
    )


def source_of(request: Request) -> str:
    """The peer address (proxy headers are not trusted: `serve` runs without them)."""
    return request.client.host if request.client else "unknown"


def _count_refusal(
    session: Session,
    settings: Settings,
    source: str,
    now: datetime,
    *,
    actor_id: str | None,
    resource: str,
    client: str,
) -> None:
    """A sign-in refused while held: counted against its source and audited
    (`auth.login-held`), the same writes a wrong password makes, so the answer
    takes the same time as one."""
    throttle.hit(session, source_limit(settings), source, now)
    audit.record(
        session, actor_id=actor_id, action="auth.login-held", resource=resource, client=client
    )
    session.commit()


@router.post(
    "/login",
    response_model=LoginResponse,
    operation_id="login",
    responses=responses(401, 429),
)
def login(
    body: LoginRequest,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    client: ClientDep,
) -> LoginResponse:
    """Sign in. Every refusal costs the same one argon2 verification (a wrong password,
    an unknown name, a locked account, a held source), so timing tells nothing.

    Throttles (429 + Retry-After): an account after `max_failed_logins` wrong
    passwords (counted atomically before each check); an unknown name after as many
    failures; a source address after `max_failed_logins_per_source` failures.
    """
    now = utcnow()
    source = source_of(request)
    source_held = throttle.held(session, source_limit(settings), source, now)
    user = security.find_user(session, body.username)
    if user is not None and not user.active:
        user = None
    name_held = (
        throttle.held(session, name_limit(settings), body.username.casefold(), now)
        if user is None
        else None
    )
    session.commit()  # end the read before the slow hash check

    held = source_held or name_held
    if held is not None:
        security.burn_dummy_verify(body.password)
        _count_refusal(
            session, settings, source, now, actor_id=None, resource="user:?", client=client
        )
        raise _locked(held)

    if user is None:
        security.burn_dummy_verify(body.password)
        throttle.hit(session, name_limit(settings), body.username.casefold(), now)
        throttle.hit(session, source_limit(settings), source, now)
        audit.record(
            session, actor_id=None, action="auth.login-failed", resource="user:?", client=client
        )
        session.commit()
        raise ApiError(401, "unauthenticated", BAD_CREDENTIALS)

    slot = security.claim_guess(session, user.id, settings, now=now)
    session.commit()  # the guess is counted before it is checked
    if isinstance(slot, security.Lockout):
        security.burn_dummy_verify(body.password)
        _count_refusal(
            session,
            settings,
            source,
            now,
            actor_id=user.id,
            resource=f"user:{user.id}",
            client=client,
        )
        raise _locked(slot.retry_after_seconds)

    if not security.verify_password(user.password_hash, body.password):
        lock = security.record_wrong_guess(session, user.id, slot, settings, now=now)
        throttle.hit(session, source_limit(settings), source, now)
        audit.record(
            session,
            actor_id=user.id,
            action="auth.locked" if lock else "auth.login-failed",
            resource=f"user:{user.id}",
            client=client,
        )
        session.commit()
        raise ApiError(401, "unauthenticated", BAD_CREDENTIALS)

    fresh = session.get(User, user.id, populate_existing=True)
    if fresh is None or not fresh.active:  # deleted or disabled while we were hashing
        session.rollback()
        raise ApiError(401, "unauthenticated", BAD_CREDENTIALS)
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
