"""Events from the practice's phone system.

`POST /v1/triggers/missed-call` takes two bodies on one path:

- our JSON contract, `{caller_phone, called_at}` with the practice's
  `X-Practice-Key`;
- a telephony provider's form-encoded status callback (Twilio and compatible:
  `CallSid`, `CallStatus`, `From`, `To`, `Timestamp` in RFC 2822), signed in
  `X-Twilio-Signature` with the practice's telephony secret. The practice is named
  by `X-Practice-Key` or, where the provider cannot send headers, by the
  `practice` query parameter (its id: the signature is the authentication). A bad
  or missing signature is 401 and audited. Only `no-answer`, `busy`, `failed` and
  `canceled` are missed calls (201); other statuses open nothing (200). The same
  `CallSid` twice returns the first answer with `Idempotent-Replayed: true`.

A wrong or missing practice key (or signature) is a 401, audited and counted
against the source address; past `max_webhook_failures_per_source` in 15
minutes the address gets 429 with Retry-After, whatever it sends.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Header, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from central_api import audit, models, throttle
from central_api.api.deps import SessionDep, SettingsDep
from central_api.api.routes.auth import source_of
from central_api.core.config import Settings
from central_api.errors import ApiError, describe_validation_errors, responses
from central_api.idempotency import REPLAYED_HEADER
from central_api.interop import telephony
from central_api.triggers.missed_call import (
    CallIntake,
    known_call,
    practice_for_key,
    take_missed_call,
)
from central_api.uow import UnitOfWork
from followup_core.schemas import (
    EARLIEST_YEAR,
    FUTURE_MESSAGE,
    LATEST_YEAR,
    MissedCallIn,
    MissedCallOut,
    not_in_future,
)

router = APIRouter(prefix="/v1", tags=["webhooks"])

FORM = "application/x-www-form-urlencoded"
_FORM_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A telephony provider's call status callback (Twilio-compatible)",
    "properties": {
        "CallSid": {"type": "string", "maxLength": 64},
        "CallStatus": {
            "type": "string",
            "enum": sorted(telephony.MISSED_STATUSES | telephony.OTHER_STATUSES),
        },
        "From": {"type": "string", "maxLength": 64},
        "To": {"type": "string", "maxLength": 64},
        "Timestamp": {"type": "string", "description": "RFC 2822"},
    },
    "required": ["CallSid", "CallStatus"],
}
_OPENAPI_EXTRA: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/MissedCallIn"}},
            FORM: {"schema": _FORM_SCHEMA},
        },
    }
}
_RESPONSES: dict[int | str, dict[str, Any]] = {
    **responses(401, 429),
    200: {
        "model": MissedCallOut,
        "description": "A provider's callback for a call that was not missed: nothing opened",
    },
}


def _unauthorized(message: str) -> ApiError:
    return ApiError(401, "unauthenticated", message)


def webhook_limit(settings: Settings) -> throttle.Limit:
    """Wrong practice keys or signatures per source address per 15 minutes before the
    address is held (429)."""
    return throttle.Limit(
        "webhook-source", settings.max_webhook_failures_per_source, timedelta(minutes=15)
    )


def _check_held(session: Session, settings: Settings, source: str) -> None:
    held = throttle.held(session, webhook_limit(settings), source, models.utcnow())
    session.rollback()
    if held is not None:
        raise ApiError(
            429,
            "too-many-attempts",
            "too many wrong practice keys from this address; retry later",
            {"Retry-After": str(held)},
        )


def _refuse(
    session: Session, settings: Settings, source: str, *, action: str, resource: str, message: str
) -> ApiError:
    """Count a wrong credential against `source`, audit it, and return the 401."""
    session.rollback()
    throttle.hit(session, webhook_limit(settings), source, models.utcnow())
    audit.record(session, actor_id=None, action=action, resource=resource, client="webhook")
    session.commit()
    return _unauthorized(message)


def _answer(intake: CallIntake) -> JSONResponse:
    out = MissedCallOut(
        task_id=intake.task.id if intake.task is not None else None,
        call_id=intake.call.id,
        caller=intake.call.caller_kind,  # type: ignore[arg-type]
    )
    headers = {REPLAYED_HEADER: "true"} if intake.replayed else None
    return JSONResponse(out.model_dump(mode="json"), status_code=201, headers=headers)


def _commit_intake(session: Session, intake: CallIntake) -> None:
    """Commit the intake as a unit of work: its audit row last, then the live events."""
    resource = f"task:{intake.task.id}" if intake.task is not None else f"call:{intake.call.id}"
    uow = UnitOfWork(session, actor_id=None, client="webhook")
    uow.audit("missed-call", resource)
    uow.commit()


def _json_call(
    session: Session, settings: Settings, source: str, practice_key: str | None, raw: bytes
) -> JSONResponse:
    _check_held(session, settings, source)
    practice = practice_for_key(session, practice_key)
    if practice is None:
        raise _refuse(
            session,
            settings,
            source,
            action="webhook.key-refused",
            resource="practice:?",
            message="missing or unknown practice key",
        )
    try:
        body = MissedCallIn.model_validate_json(raw or b"")
    except ValidationError as exc:
        errors = exc.errors()
        if any(err.get("type") == "json_invalid" for err in errors):
            raise ApiError(400, "malformed-json", "the request body is not valid JSON") from None
        raise ApiError(422, "invalid-request", describe_validation_errors(errors)) from None
    intake = take_missed_call(session, practice, caller=body.caller_phone, called_at=body.called_at)
    _commit_intake(session, intake)
    return _answer(intake)


def _form_practice(
    session: Session, practice_key: str | None, practice_id: str | None
) -> models.Practice | None:
    if practice_key:
        return practice_for_key(session, practice_key)
    if practice_id and len(practice_id) <= 64:
        return session.get(models.Practice, practice_id)
    return None


def _field(form: dict[str, str], name: str, *, required: bool = False) -> str | None:
    value = form.get(name)
    if value is None or not value.strip():
        if required:
            raise ApiError(422, "invalid-request", f"{name}: field required")
        return None
    if len(value) > telephony.MAX_FIELD or "\x00" in value:
        raise ApiError(422, "invalid-request", f"{name}: invalid value")
    return value.strip()


def _form_call(
    session: Session,
    settings: Settings,
    source: str,
    *,
    url: str,
    raw: bytes,
    practice_key: str | None,
    practice_id: str | None,
    given_signature: str | None,
) -> JSONResponse:
    _check_held(session, settings, source)
    practice = _form_practice(session, practice_key, practice_id)
    if practice is None:
        raise _refuse(
            session,
            settings,
            source,
            action="webhook.key-refused",
            resource="practice:?",
            message="missing or unknown practice key",
        )
    try:
        params = parse_qsl(
            raw.decode("utf-8"), keep_blank_values=True, max_num_fields=200, strict_parsing=False
        )
    except (UnicodeDecodeError, ValueError):
        raise ApiError(422, "invalid-request", "the form body is not valid") from None
    account = session.get(models.TelephonyAccount, practice.id)
    if account is None or not telephony.signature_ok(
        account.auth_token, url, params, given_signature
    ):
        raise _refuse(
            session,
            settings,
            source,
            action="webhook.bad-signature",
            resource=f"practice:{practice.id}",
            message="missing or invalid request signature",
        )
    form = dict(params)
    call_sid = _field(form, "CallSid", required=True)
    status = (_field(form, "CallStatus", required=True) or "").lower()
    if status not in telephony.MISSED_STATUSES | telephony.OTHER_STATUSES:
        raise ApiError(422, "invalid-request", "CallStatus: not a call status")
    try:
        called_at = telephony.parse_timestamp(_field(form, "Timestamp")) or models.utcnow()
    except ValueError:
        raise ApiError(
            422,
            "invalid-request",
            f"Timestamp: not an RFC 2822 date in {EARLIEST_YEAR}-{LATEST_YEAR}",
        ) from None
    try:
        not_in_future(called_at)
    except ValueError:
        raise ApiError(422, "invalid-request", f"Timestamp: {FUTURE_MESSAGE}") from None
    if status not in telephony.MISSED_STATUSES:
        session.rollback()
        return JSONResponse(MissedCallOut().model_dump(mode="json"), status_code=200)
    assert call_sid is not None
    try:
        intake = take_missed_call(
            session,
            practice,
            caller=_field(form, "From"),
            called_at=called_at,
            source="twilio",
            call_sid=call_sid,
            call_status=status,
        )
        if intake.replayed:
            session.rollback()
            return _answer(intake)
        _commit_intake(session, intake)
    except IntegrityError:
        # The provider retried while the first delivery was being written: answer as a replay.
        session.rollback()
        seen = known_call(session, practice.id, call_sid)
        if seen is None:
            raise
        task = session.get(models.Task, seen.task_id) if seen.task_id else None
        session.rollback()
        return _answer(CallIntake(seen, task, replayed=True))
    return _answer(intake)


@router.post(
    "/triggers/missed-call",
    status_code=201,
    response_model=MissedCallOut,
    operation_id="missed_call",
    responses=_RESPONSES,
    openapi_extra=_OPENAPI_EXTRA,
    summary="A missed call (our JSON, or a provider's signed form callback)",
)
async def post_missed_call(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    practice_key: Annotated[
        str | None,
        Header(alias="X-Practice-Key", description="The practice's webhook key"),
    ] = None,
    provider_signature: Annotated[
        str | None,
        Header(
            alias="X-Twilio-Signature",
            description="The provider's signature of a form callback (HMAC-SHA1, base64)",
        ),
    ] = None,
    practice: Annotated[
        str | None,
        Query(
            max_length=64,
            description="The practice's id, for providers that cannot send X-Practice-Key",
        ),
    ] = None,
) -> JSONResponse:
    raw = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM:
        return await run_in_threadpool(
            _json_call, session, settings, source_of(request), practice_key, raw
        )
    url = str(request.url)
    if settings.public_url:
        query = f"?{request.url.query}" if request.url.query else ""
        url = settings.public_url.rstrip("/") + request.url.path + query
    return await run_in_threadpool(
        lambda: _form_call(
            session,
            settings,
            source_of(request),
            url=url,
            raw=raw,
            practice_key=practice_key,
            practice_id=practice,
            given_signature=provider_signature,
        )
    )
