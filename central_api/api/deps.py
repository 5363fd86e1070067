"""Request dependencies: the database session, the caller, role checks, client label.

Routes are plain `def` (run in the threadpool) with a synchronous Session; one
Session per request, and the route commits what it writes. Dependencies that do
no I/O are `async def`: FastAPI runs a sync dependency in the threadpool, and
each such hop costs a thread switch per request for nothing.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from central_api.core.config import Settings
from central_api.core.security import authenticate_token
from central_api.errors import ApiError
from central_api.models import User
from followup_core.enums import Role

_bearer = HTTPBearer(auto_error=False, description="Opaque token from POST /v1/auth/login")


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One Session per request. Creating it does no I/O; closing it does only when a
    transaction is still open (a route that raised), and then runs in the threadpool
    (a rollback, which also frees SQLite's write lock)."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    session = factory()
    try:
        yield session
    finally:
        if session.in_transaction():
            await run_in_threadpool(session.close)
        else:
            session.close()


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


def unauthenticated(message: str = "sign in first") -> ApiError:
    return ApiError(401, "unauthenticated", message, {"WWW-Authenticate": "Bearer"})


async def get_bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise unauthenticated("missing bearer token")
    return credentials.credentials


BearerToken = Annotated[str, Depends(get_bearer_token)]


def get_current_user(session: SessionDep, settings: SettingsDep, token: BearerToken) -> User:
    """The caller. Returns with no transaction open (see `authenticate_token`), so the
    route starts its own, in its own thread, and a pure read takes no write lock."""
    user = authenticate_token(session, token, settings)
    if user is None:
        raise unauthenticated("the token is invalid, expired or revoked")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[User], Coroutine[Any, Any, User]]:
    """A dependency admitting only callers whose role is one of `roles` (else 403)."""
    allowed = frozenset(str(r) for r in roles)

    async def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise ApiError(403, "forbidden", "your role may not do this")
        return user

    return check


# Who works tasks (claims, attempts, escalations from a call) and who handles escalations.
Worker = Annotated[User, Depends(require_roles(Role.ASSISTANT, Role.SUPERVISOR, Role.TRAINER))]
# Who reads the metrics of a practice.
MetricsReader = Annotated[User, Depends(require_roles(Role.MANAGER, Role.SUPERVISOR, Role.ADMIN))]
EscalationHandler = Annotated[
    User, Depends(require_roles(Role.SUPERVISOR, Role.ADMIN, Role.TRAINER))
]
# Who may read patient data at all (a manager may not: 403, whatever the record).
PatientReader = Annotated[
    User, Depends(require_roles(Role.ASSISTANT, Role.SUPERVISOR, Role.TRAINER, Role.ADMIN))
]

_UNSAFE = re.compile(r"[^A-Za-z0-9 ._/()+:-]")


async def get_client_label(request: Request) -> str:
    """A short label of the calling program for the audit log (`X-Client`, else User-Agent)."""
    raw = request.headers.get("x-client") or request.headers.get("user-agent") or "unknown"
    label = _UNSAFE.sub("", raw)[:100].strip()
    return label or "unknown"


ClientDep = Annotated[str, Depends(get_client_label)]
