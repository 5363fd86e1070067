"""Request dependencies: the database session, the caller, role checks, client label.

Routes are plain `def` (run in the threadpool) with a synchronous Session; one
Session per request, and the route commits what it writes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from central_api.core.config import Settings
from central_api.core.security import authenticate_token
from central_api.errors import ApiError
from central_api.models import User
from followup_core.enums import Role

_bearer = HTTPBearer(auto_error=False, description="Opaque token from POST /v1/auth/login")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings)]
SessionDep = Annotated[Session, Depends(get_session)]


def unauthenticated(message: str = "sign in first") -> ApiError:
    return ApiError(401, "unauthenticated", message, {"WWW-Authenticate": "Bearer"})


def get_bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise unauthenticated("missing bearer token")
    return credentials.credentials


BearerToken = Annotated[str, Depends(get_bearer_token)]


def get_current_user(session: SessionDep, settings: SettingsDep, token: BearerToken) -> User:
    user = authenticate_token(session, token, settings)
    if user is None:
        raise unauthenticated("the token is invalid, expired or revoked")
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency admitting only callers whose role is one of `roles` (else 403)."""
    allowed = frozenset(str(r) for r in roles)

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            raise ApiError(403, "forbidden", "your role may not do this")
        return user

    return check


_UNSAFE = re.compile(r"[^A-Za-z0-9 ._/()+:-]")


def get_client_label(request: Request) -> str:
    """A short label of the calling program for the audit log (`X-Client`, else User-Agent)."""
    raw = request.headers.get("x-client") or request.headers.get("user-agent") or "unknown"
    label = _UNSAFE.sub("", raw)[:100].strip()
    return label or "unknown"


ClientDep = Annotated[str, Depends(get_client_label)]
