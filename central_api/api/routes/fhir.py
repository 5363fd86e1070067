"""FHIR R4 exchange: import Bundles, export tasks and attempts.

- `POST /v1/fhir` (admins and supervisors of the practice): a Bundle (batch,
  transaction or collection) of Patient, Appointment, ServiceRequest and Task,
  imported in one transaction (see `central_api.interop.fhir_import`). 200 with an
  OperationOutcome counting what changed; 422 with an OperationOutcome naming
  every invalid entry (`Bundle.entry[i]`), nothing written. The periodic job's
  rules then run, so new booked appointments get their confirmation work at once.
- `GET /v1/fhir/Task`, `GET /v1/fhir/Communication` (supervisors and admins, their
  practices): searchset Bundles with `_lastUpdated` and `_count`, paged by `next`.

Every call is audited (ids and counts only). `practice` names the practice when
the caller works in more than one.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from central_api import audit, models
from central_api.access import Scope, audit_access, deny, resource_name, scope_for
from central_api.api.deps import ClientDep, SessionDep, require_roles
from central_api.errors import AUTH_ERRORS, ApiError, responses
from central_api.interop import fhir_export
from central_api.interop.fhir_import import FhirRejected, import_bundle
from central_api.interop.outcome import FHIR_JSON
from central_api.triggers.runner import run_once
from followup_core.enums import Role

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/fhir", tags=["fhir"], responses=AUTH_ERRORS)

FhirStaff = Annotated[models.User, Depends(require_roles(Role.ADMIN, Role.SUPERVISOR))]

_RESOURCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["resourceType"],
    "properties": {"resourceType": {"type": "string"}},
    "additionalProperties": True,
}
_OUTCOME_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "FHIR R4 OperationOutcome",
    "required": ["resourceType", "issue"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["OperationOutcome"]},
        "issue": {"type": "array", "items": {"type": "object"}},
    },
}
_BUNDLE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "FHIR R4 Bundle",
    "required": ["resourceType", "type"],
    "properties": {
        "resourceType": {"type": "string", "enum": ["Bundle"]},
        "type": {"type": "string"},
        "entry": {"type": "array", "items": {"type": "object"}},
    },
}


def _fhir_content(schema: dict[str, Any]) -> dict[str, Any]:
    return {FHIR_JSON: {"schema": schema}, "application/json": {"schema": schema}}


_IMPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Imported; the OperationOutcome counts what changed",
        "content": _fhir_content(_OUTCOME_SCHEMA),
    },
    422: {
        "description": (
            "Rejected whole: an OperationOutcome naming each invalid entry, or (bad query"
            " parameters, no practice named) the API's error body"
        ),
        "content": _fhir_content(
            {"anyOf": [_OUTCOME_SCHEMA, {"$ref": "#/components/schemas/ErrorBody"}]}
        ),
    },
    **responses(404),
}
_SEARCH_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "A searchset Bundle", "content": _fhir_content(_BUNDLE_SCHEMA)},
    **responses(404),
}


def _fhir_response(body: dict[str, Any], status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=FHIR_JSON)


def _practices(session: Session, scope: Scope, practice: str | None, client: str) -> list[str]:
    if practice is not None:
        if practice not in scope.practice_ids:
            raise deny(
                session,
                scope,
                resource=resource_name("practice", practice),
                client=client,
                kind="practice",
            )
        return [practice]
    return sorted(scope.practice_ids)


def _import(
    session: Session, user: models.User, bundle: Any, practice: str | None, client: str
) -> JSONResponse:
    scope = scope_for(session, user)
    ids = _practices(session, scope, practice, client)
    if len(ids) != 1:
        raise ApiError(422, "invalid-request", "practice: name the practice to import into")
    target = session.get(models.Practice, ids[0])
    if target is None:
        raise deny(session, scope, resource=f"practice:{ids[0]}", client=client, kind="practice")
    try:
        result = import_bundle(session, target, bundle)
    except FhirRejected as rejected:
        session.rollback()
        audit.record(
            session,
            actor_id=user.id,
            action="fhir.import-rejected",
            resource=f"practice:{target.id}",
            client=client,
        )
        session.commit()
        return _fhir_response(rejected.outcome, 422)
    audit_access(
        session, scope, action="fhir.import", resource=f"practice:{target.id}", client=client
    )
    session.commit()
    try:
        run_once(session)  # the trigger rules: confirmation work for new bookings, now
    except Exception:  # the import stands; the periodic job retries
        log.exception("trigger job after a FHIR import failed")
        session.rollback()
    return _fhir_response(result.as_outcome())


@router.post(
    "",
    operation_id="fhir_import",
    responses=_IMPORT_RESPONSES,
    openapi_extra={"requestBody": {"required": True, "content": _fhir_content(_BUNDLE_SCHEMA)}},
    summary="Import a FHIR R4 Bundle of Patient, Appointment, ServiceRequest and Task",
    response_class=JSONResponse,
)
async def post_fhir(
    request: Request,
    user: FhirStaff,
    session: SessionDep,
    client: ClientDep,
    practice: Annotated[
        str | None, Query(max_length=64, description="The practice to import into")
    ] = None,
) -> JSONResponse:
    raw = await request.body()
    try:
        bundle = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "malformed-json", "the request body is not valid JSON") from None
    return await run_in_threadpool(_import, session, user, bundle, practice, client)


def _search(
    request: Request,
    session: Session,
    user: models.User,
    client: str,
    rtype: str,
    last_updated: list[str],
    count: int,
    page: str | None,
    practice: str | None,
) -> JSONResponse:
    bounds = fhir_export.parse_last_updated(last_updated)
    after = fhir_export.decode_page(page)
    scope = scope_for(session, user)
    ids = _practices(session, scope, practice, client)
    finder = fhir_export.task_page if rtype == "Task" else fhir_export.communication_page
    result = finder(session, ids, bounds, count, after)
    base = str(request.base_url).rstrip("/")
    params: list[tuple[str, str]] = [("_lastUpdated", v) for v in last_updated]
    params.append(("_count", str(count)))
    if practice:
        params.append(("practice", practice))
    path = f"{base}/v1/fhir/{rtype}"
    self_params = [*params, ("_page", page)] if page else params
    next_url = None
    if result.next_token:
        next_url = f"{path}?{urlencode([*params, ('_page', result.next_token)])}"
    audit_access(
        session,
        scope,
        action=f"fhir.search.{rtype.lower()}",
        resource=f"practice:{practice or 'all'}:{len(result.resources)}",
        client=client,
    )
    session.commit()
    bundle = fhir_export.searchset(
        base, rtype, result, f"{path}?{urlencode(self_params)}", next_url
    )
    return _fhir_response(bundle)


LastUpdated = Annotated[
    list[str],
    Query(
        alias="_lastUpdated",
        description="ge|gt|le|lt followed by a FHIR date or dateTime (repeatable)",
    ),
]
Count = Annotated[
    int,
    Query(alias="_count", ge=1, le=fhir_export.MAX_COUNT, description="page size"),
]
PageToken = Annotated[
    str | None, Query(alias="_page", max_length=300, description="from the next link")
]
PracticeParam = Annotated[str | None, Query(max_length=64, description="one practice only")]


@router.get(
    "/Task",
    operation_id="fhir_search_task",
    responses={**_SEARCH_RESPONSES, **responses(400)},
    summary="Our tasks as FHIR R4 Task, a searchset Bundle",
    response_class=JSONResponse,
)
def search_task(
    request: Request,
    user: FhirStaff,
    session: SessionDep,
    client: ClientDep,
    last_updated: LastUpdated = [],  # noqa: B006 (FastAPI copies query defaults)
    count: Count = fhir_export.DEFAULT_COUNT,
    page: PageToken = None,
    practice: PracticeParam = None,
) -> JSONResponse:
    return _search(request, session, user, client, "Task", last_updated, count, page, practice)


@router.get(
    "/Communication",
    operation_id="fhir_search_communication",
    responses={**_SEARCH_RESPONSES, **responses(400)},
    summary="Our contact attempts as FHIR R4 Communication, a searchset Bundle",
    response_class=JSONResponse,
)
def search_communication(
    request: Request,
    user: FhirStaff,
    session: SessionDep,
    client: ClientDep,
    last_updated: LastUpdated = [],  # noqa: B006 (FastAPI copies query defaults)
    count: Count = fhir_export.DEFAULT_COUNT,
    page: PageToken = None,
    practice: PracticeParam = None,
) -> JSONResponse:
    return _search(
        request, session, user, client, "Communication", last_updated, count, page, practice
    )
