"""Events from the practice's phone system, authenticated by the practice's key."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Header, Request

from central_api import audit, throttle
from central_api.api.deps import SessionDep, SettingsDep
from central_api.api.routes.auth import source_of
from central_api.core.config import Settings
from central_api.errors import ApiError, responses
from central_api.models import utcnow
from central_api.triggers import missed_call, practice_for_key
from followup_core.schemas import MissedCallIn, MissedCallOut

router = APIRouter(prefix="/v1", tags=["webhooks"])


def webhook_limit(settings: Settings) -> throttle.Limit:
    """Wrong practice keys per source address per 15 minutes before it is held (429)."""
    return throttle.Limit(
        "webhook-source", settings.max_webhook_failures_per_source, timedelta(minutes=15)
    )


@router.post(
    "/triggers/missed-call",
    status_code=201,
    response_model=MissedCallOut,
    operation_id="missed_call",
    responses=responses(401, 429),
    summary="A missed call: the caller's open recovery task, or a new one (unmatched callers too)",
)
def post_missed_call(
    body: MissedCallIn,
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    practice_key: Annotated[
        str | None,
        Header(alias="X-Practice-Key", description="The practice's webhook key"),
    ] = None,
) -> MissedCallOut:
    """Open (or find) the recovery task for a missed call.

    A wrong or missing key is a 401, audited (`webhook.key-refused`) and counted
    against the source address; past `max_webhook_failures_per_source` in 15
    minutes the address gets 429 with Retry-After, whatever key it sends.
    """
    now = utcnow()
    source = source_of(request)
    limit = webhook_limit(settings)
    held = throttle.held(session, limit, source, now)
    if held is not None:
        session.rollback()
        raise ApiError(
            429,
            "too-many-attempts",
            "too many wrong practice keys from this address; retry later",
            {"Retry-After": str(held)},
        )
    practice = practice_for_key(session, practice_key)
    if practice is None:
        session.rollback()
        throttle.hit(session, limit, source, now)
        audit.record(
            session,
            actor_id=None,
            action="webhook.key-refused",
            resource="practice:?",
            client="webhook",
        )
        session.commit()
        raise ApiError(401, "unauthenticated", "missing or unknown practice key")
    task = missed_call(session, practice, caller_phone=body.caller_phone, called_at=body.called_at)
    audit.record(
        session, actor_id=None, action="missed-call", resource=f"task:{task.id}", client="webhook"
    )
    session.commit()
    return MissedCallOut(task_id=task.id)
