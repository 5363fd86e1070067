"""User → wire conversion shared by the auth and me routes."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_api.models import User, UserPractice
from followup_core.enums import Role
from followup_core.schemas import UserOut


def practice_ids(session: Session, user_id: str) -> list[str]:
    return list(
        session.scalars(
            select(UserPractice.practice_id)
            .where(UserPractice.user_id == user_id)
            .order_by(UserPractice.practice_id)
        )
    )


def user_out(session: Session, user: User) -> UserOut:
    return UserOut(
        id=user.id,
        username=user.username,
        role=Role(user.role),
        display_name=user.display_name,
        practice_ids=practice_ids(session, user.id),
    )
