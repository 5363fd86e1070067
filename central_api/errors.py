"""One error shape for everything: `{"error": {"code", "message"}}`.

`ApiError` can be raised anywhere in a request; the handlers installed by
`install_error_handlers` turn it, and every framework error (404, 405, malformed
JSON, validation), into that body. Messages name fields, never submitted values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope

from followup_core.schemas import ErrorBody


class ApiError(Exception):
    """An error answered as `{"error": {"code", "message"}}` with `status_code`."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.headers = dict(headers or {})


# The code used when a framework error carries only a status.
STATUS_CODES: dict[int, tuple[str, str]] = {
    400: ("malformed-json", "the request body is not valid JSON"),
    401: ("unauthenticated", "sign in first"),
    403: ("forbidden", "your role may not do this"),
    404: ("not-found", "no such resource"),
    405: ("method-not-allowed", "method not allowed on this path"),
    409: ("conflict", "conflict"),
    413: ("body-too-large", "the request body is larger than 1 MiB"),
    415: ("unsupported-media-type", "send application/json"),
    422: ("invalid-request", "the request is not valid"),
    429: ("too-many-attempts", "too many attempts; retry later"),
    500: ("internal-error", "internal error; the request was not applied"),
    503: ("unavailable", "the server cannot store anything right now; retry later"),
}

_DESCRIPTIONS: dict[int, str] = {
    400: "Malformed JSON, a bad cursor, or a missing or invalid Idempotency-Key",
    401: "Missing, forged, expired or revoked bearer token",
    403: "The caller's role may not do this",
    404: "No such resource (or not visible to the caller)",
    405: "Method not allowed",
    409: "Conflict (lease held, request still in progress)",
    412: "Precondition failed",
    413: "Request body over 1 MiB",
    415: "Unsupported media type",
    422: "Wrong types, unknown fields or missing fields",
    429: "Too many attempts; see Retry-After",
    500: "Unexpected server error; nothing was applied",
    503: "The server's disk is full (or storage is otherwise unavailable); see Retry-After",
}


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def error_response(
    status_code: int, code: str, message: str, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, message), status_code=status_code, headers=headers)


def responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries documenting these error statuses with `ErrorBody`."""
    documented: dict[int | str, dict[str, Any]] = {}
    for status in status_codes:
        entry: dict[str, Any] = {"model": ErrorBody, "description": _DESCRIPTIONS[status]}
        if status in (429, 503):
            entry["headers"] = {
                "Retry-After": {
                    "description": "seconds until another attempt is allowed",
                    "schema": {"type": "integer"},
                }
            }
        documented[status] = entry
    return documented


# Every operation can meet these, whatever it does.
COMMON_ERRORS = responses(400, 413, 422, 500, 503)
# Operations behind a bearer token.
AUTH_ERRORS = responses(401, 403)


def describe_validation_errors(errors: Sequence[Mapping[str, Any]]) -> str:
    """One line naming each offending field and what is wrong, never the value sent."""
    parts: list[str] = []
    for err in errors[:5]:
        loc = [str(p) for p in err.get("loc", ()) if p not in ("body",)]
        where = ".".join(loc) or "body"
        parts.append(f"{where}: {_safe_message(err)}")
    more = len(errors) - 5
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


_GENERIC_BY_TYPE = {
    "missing": "field required",
    "extra_forbidden": "unknown field",
    "json_invalid": "not valid JSON",
}


def _safe_message(err: Mapping[str, Any]) -> str:
    kind = str(err.get("type", ""))
    if kind in _GENERIC_BY_TYPE:
        return _GENERIC_BY_TYPE[kind]
    message = str(err.get("msg", "invalid value"))
    submitted = err.get("input")
    if isinstance(submitted, bytes):
        # The body was not sent as JSON at all (a non-JSON Content-Type).
        return "send a JSON object with Content-Type: application/json"
    # Some messages quote the input; never echo what was sent.
    if isinstance(submitted, str | int | float) and str(submitted) and str(submitted) in message:
        return f"invalid value ({kind or 'value_error'})"
    return message


def _is_json_error(errors: Iterable[Mapping[str, Any]]) -> bool:
    return any(err.get("type") == "json_invalid" for err in errors)


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc.status_code, exc.code, exc.message, exc.headers)


def allowed_methods(request: Request) -> str:
    """Every method any route serves on this path.

    Starlette's own 405 names only the first route whose path matched, so a path
    served by two routes (GET list + POST create) would advertise half of them.
    FastAPI >= 0.165 keeps each `include_router` as one wrapper route without
    `methods` (`_IncludedRouter`); its `effective_candidates()` are the routes
    inside (with the prefix applied), so the walk descends into those.
    """
    methods: set[str] = set()
    _collect_methods(request.app.router.routes, request.scope, methods)
    return ", ".join(sorted(methods))


def _collect_methods(routes: Iterable[Any], scope: Scope, methods: set[str]) -> None:
    for route in routes:
        candidates = getattr(route, "effective_candidates", None)
        if callable(candidates):
            _collect_methods(candidates(), scope, methods)
            continue
        route_methods = getattr(route, "methods", None)
        if not route_methods:
            continue
        match, _ = route.matches(scope)
        if match != Match.NONE:
            methods |= set(route_methods)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, message = STATUS_CODES.get(exc.status_code, ("error", "request failed"))
    headers = dict(exc.headers or {})
    if exc.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    if exc.status_code == 405:
        headers["Allow"] = allowed_methods(request) or headers.get("Allow", "")
    return error_response(exc.status_code, code, message, headers)


IDEMPOTENCY_HEADER = "idempotency-key"


def idempotency_key_error(missing: bool) -> ApiError:
    """The IETF draft's answer to a POST that needs `Idempotency-Key` and lacks a usable one:
    400 (draft-ietf-httpapi-idempotency-key-header, section 2.7), not a validation 422."""
    if missing:
        return ApiError(
            400, "idempotency-key-missing", "this request needs an Idempotency-Key header"
        )
    return ApiError(
        400, "idempotency-key-invalid", "Idempotency-Key must be 1-255 printable characters"
    )


def _header_error(errors: Iterable[Mapping[str, Any]], header: str) -> Mapping[str, Any] | None:
    for err in errors:
        loc = err.get("loc", ())
        if len(loc) >= 2 and loc[0] == "header" and str(loc[1]).lower() == header:
            return err
    return None


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if _is_json_error(errors):
        return error_response(400, "malformed-json", "the request body is not valid JSON")
    key_error = _header_error(errors, IDEMPOTENCY_HEADER)
    if key_error is not None:
        problem = idempotency_key_error(missing=key_error.get("type") == "missing")
        return error_response(problem.status_code, problem.code, problem.message)
    return error_response(422, "invalid-request", describe_validation_errors(errors))


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
