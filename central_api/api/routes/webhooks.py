"""Events from the practice's phone system, authenticated by the practice's key."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header

from central_api import audit
from central_api.api.deps import SessionDep
from central_api.errors import ApiError, responses
from central_api.triggers import missed_call, practice_for_key
from followup_core.schemas import MissedCallIn, MissedCallOut

router = APIRouter(prefix="/v1", tags=["webhooks"])


@router.post(
    "/triggers/missed-call",
    status_code=201,
    response_model=MissedCallOut,
    operation_id="missed_call",
    responses=responses(401, 409),
    summary="A missed call: the caller's open recovery task, or a new one (unmatched callers too)",
)
def post_missed_call(
    body: MissedCallIn,
    session: SessionDep,
    practice_key: Annotated[
        str | None,
        Header(alias="X-Practice-Key", description="The practice's webhook key"),
    ] = None,
) -> MissedCallOut:
    practice = practice_for_key(session, practice_key)
    if practice is None:
        session.rollback()
        raise ApiError(401, "unauthenticated", "missing or unknown practice key")
    task = missed_call(session, practice, caller_phone=body.caller_phone, called_at=body.called_at)
    audit.record(
        session, actor_id=None, action="missed-call", resource=f"task:{task.id}", client="webhook"
    )
    session.commit()
    return MissedCallOut(task_id=task.id)
