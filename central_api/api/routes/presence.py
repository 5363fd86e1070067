"""Agent state (available, on-call, wrap-up, break, offline) for assistants and supervisors.

A change of state is a `team` event for the practices' supervisors, admins and managers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from central_api.access import practice_ids_for
from central_api.api.deps import ClientDep, SessionDep, require_roles
from central_api.errors import AUTH_ERRORS
from central_api.events import note_team
from central_api.models import Presence, User, utcnow
from central_api.uow import UnitOfWork
from followup_core.enums import AgentState, Role
from followup_core.schemas import PresenceIn, PresenceOut

router = APIRouter(prefix="/v1", tags=["presence"], responses=AUTH_ERRORS)

PresenceUser = Annotated[User, Depends(require_roles(Role.ASSISTANT, Role.SUPERVISOR))]


@router.put("/presence", response_model=PresenceOut, operation_id="put_presence")
def put_presence(
    body: PresenceIn, user: PresenceUser, session: SessionDep, client: ClientDep
) -> PresenceOut:
    with UnitOfWork(session, actor_id=user.id, client=client):
        row = session.get(Presence, user.id)
        if row is None:
            row = Presence(user_id=user.id, state=str(body.state), since=utcnow())
            session.add(row)
            note_team(session, user.id, practice_ids_for(session, user), row.state)
        elif row.state != body.state:
            # `since` marks when this state began; repeating the same state keeps it.
            row.state = str(body.state)
            row.since = utcnow()
            note_team(session, user.id, practice_ids_for(session, user), row.state)
    return PresenceOut(user_id=row.user_id, state=AgentState(row.state), since=row.since)
