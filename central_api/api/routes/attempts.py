"""Documenting an attempt: a fact that is stored once, whatever the retries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from central_api import idempotency
from central_api.access import scope_for
from central_api.api.deps import ClientDep, SessionDep, Worker
from central_api.errors import AUTH_ERRORS, responses
from central_api.work import record_attempt
from followup_core.schemas import AttemptCreated, AttemptIn

router = APIRouter(prefix="/v1", tags=["attempts"], responses=AUTH_ERRORS)

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=idempotency.MAX_KEY_LENGTH,
        description="Unique per attempt (the attempt's own id); a retry sends the same key",
    ),
]

REPLAY_HEADERS = {
    "Idempotent-Replayed": {
        "description": "`true` when this is the stored response of an earlier request",
        "schema": {"type": "string"},
    }
}


@router.post(
    "/attempts",
    status_code=201,
    response_model=AttemptCreated,
    operation_id="post_attempt",
    responses={201: {"headers": REPLAY_HEADERS}, **responses(404, 409)},
    summary="Record an attempt; stale task_version is stored and flagged, never refused",
)
def post_attempt(
    body: AttemptIn,
    user: Worker,
    session: SessionDep,
    client: ClientDep,
    idempotency_key: IdempotencyKey,
) -> JSONResponse:
    # Everything, the caller's scope included, is read and written in the one
    # transaction the idempotency record commits with.
    return idempotency.create_once(
        session,
        user_id=user.id,
        key=idempotency_key,
        endpoint="POST /v1/attempts",
        name="attempts",
        body=body,
        create=lambda s: record_attempt(s, scope_for(s, user), body, client=client),
    )
