"""The caller of the work endpoints, authenticated without holding a transaction open.

`deps.CurrentUser` leaves the token lookup's transaction open when it returns.
On SQLite every transaction starts with BEGIN IMMEDIATE, so that transaction
holds the database's write lock while FastAPI hands the request to another
threadpool thread for the endpoint; with more concurrent requests than threads
(50 retries of one attempt, say) every thread ends up waiting for that lock and
the request holding it waits for a thread. Ending the transaction in the same
thread that opened it removes the cycle.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends

from central_api.api.deps import BearerToken, SessionDep, SettingsDep, unauthenticated
from central_api.core.security import authenticate_token
from central_api.errors import ApiError
from central_api.models import User
from followup_core.enums import Role


def get_caller(session: SessionDep, settings: SettingsDep, token: BearerToken) -> User:
    try:
        user = authenticate_token(session, token, settings)
    finally:
        session.commit()  # release SQLite's write lock before leaving this thread
    if user is None:
        raise unauthenticated("the token is invalid, expired or revoked")
    return user


Caller = Annotated[User, Depends(get_caller)]


def caller_with_roles(*roles: Role) -> Callable[[User], User]:
    """Like `deps.require_roles`, on `Caller` (403 for other roles)."""
    allowed = frozenset(str(r) for r in roles)

    def check(user: Caller) -> User:
        if user.role not in allowed:
            raise ApiError(403, "forbidden", "your role may not do this")
        return user

    return check


Worker = Annotated[User, Depends(caller_with_roles(Role.ASSISTANT, Role.SUPERVISOR, Role.TRAINER))]
EscalationHandler = Annotated[
    User, Depends(caller_with_roles(Role.SUPERVISOR, Role.ADMIN, Role.TRAINER))
]
