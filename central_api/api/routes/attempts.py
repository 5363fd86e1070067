"""Documenting an attempt: a fact that is stored once, whatever the retries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

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
    # transaction `idempotency.run` opens: one request, one write transaction.
    def work(s: Session) -> tuple[int, dict[str, Any]]:
        scope = scope_for(s, user)
        created = record_attempt(s, scope, body, client=client)
        return 201, created.model_dump(mode="json")

    outcome = idempotency.run(
        session,
        user_id=user.id,
        key=idempotency_key,
        endpoint="POST /v1/attempts",
        fingerprint=idempotency.request_hash("attempts", body.model_dump(mode="json")),
        work=work,
    )
    return outcome.response()
