"""The caller's own account."""

from __future__ import annotations

from fastapi import APIRouter

from central_api.api.deps import CurrentUser, SessionDep
from central_api.api.users import user_out
from central_api.db import begin_read
from central_api.errors import AUTH_ERRORS
from followup_core.schemas import UserOut

router = APIRouter(prefix="/v1", tags=["auth"], responses=AUTH_ERRORS)


@router.get("/me", response_model=UserOut, operation_id="me")
def me(user: CurrentUser, session: SessionDep) -> UserOut:
    begin_read(session)  # a pure read: no write lock on SQLite
    try:
        return user_out(session, user)
    finally:
        session.commit()
