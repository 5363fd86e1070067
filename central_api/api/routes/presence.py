"""Agent state (available, on-call, wrap-up, break, offline) for assistants and supervisors.

A change of state is a `team` event for the practices' supervisors, admins and managers.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from sqlalchemy import case

from central_api.access import practice_ids_for
from central_api.api.deps import ClientDep, SessionDep, require_roles
from central_api.errors import AUTH_ERRORS
from central_api.events import note_team
from central_api.models import Presence, User, utcnow
from central_api.uow import UnitOfWork
from central_api.upsert import excluded, upsert
from followup_core.enums import AgentState, Role
from followup_core.schemas import PresenceIn, PresenceOut

router = APIRouter(prefix="/v1", tags=["presence"], responses=AUTH_ERRORS)

PresenceUser = Annotated[User, Depends(require_roles(Role.ASSISTANT, Role.SUPERVISOR))]


@router.put("/presence", response_model=PresenceOut, operation_id="put_presence")
def put_presence(
    body: PresenceIn, user: PresenceUser, session: SessionDep, client: ClientDep
) -> PresenceOut:
    """Set the caller's state: one atomic upsert, so concurrent first PUTs leave one row.

    `since` marks when this state began; repeating the same state keeps it. A new
    state (a first PUT or a change) is announced to the team board (`note_team`).
    """
    state = str(body.state)
    now = utcnow()
    with UnitOfWork(session, actor_id=user.id, client=client):
        row = upsert(
            session,
            Presence,
            {"user_id": user.id, "state": state, "since": now},
            conflict=["user_id"],
            update={
                "state": excluded(Presence, "state"),
                "since": case(
                    (Presence.state == excluded(Presence, "state"), Presence.since),
                    else_=excluded(Presence, "since"),
                ),
            },
            returning=[Presence.user_id, Presence.state, Presence.since],
        ).one()
        if row.since == now:  # this PUT began the state
            note_team(session, user.id, practice_ids_for(session, user), row.state)
    return PresenceOut(user_id=row.user_id, state=AgentState(row.state), since=row.since)
