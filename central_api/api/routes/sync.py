"""The sync feed: every change the caller may see, page by page, in commit order."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from central_api.access import audit_access, scope_for
from central_api.api.deps import ClientDep, CurrentUser, SessionDep
from central_api.errors import AUTH_ERRORS, responses
from central_api.feed import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, read_page
from followup_core.schemas import SyncPage

router = APIRouter(prefix="/v1", tags=["sync"], responses=AUTH_ERRORS)


@router.get(
    "/sync",
    response_model=SyncPage,
    operation_id="sync",
    responses=responses(400),
    summary="Changes after a cursor, deduplicated to each record's latest state",
)
def sync(
    user: CurrentUser,
    session: SessionDep,
    client: ClientDep,
    after: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> JSONResponse:
    after_seq = decode_cursor(session, after)
    scope = scope_for(session, user)
    page = read_page(session, scope, after=after_seq, limit=limit)
    # One audit row per page (the feed carries patient data); the cursor, not ids.
    audit_access(session, scope, action="sync", resource=f"feed:{after_seq}", client=client)
    session.commit()
    # Already validated SyncPage: serialize once rather than re-validating 1000 records.
    return JSONResponse(page.model_dump(mode="json"))
