"""Turning HTTP responses into schema models or typed errors."""

from __future__ import annotations

import json
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from backend_client.errors import ApiError, BadResponse, error_class_for
from backend_client.retries import retry_after_seconds
from followup_core.schemas import ErrorBody

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")


def error_from_response(response: httpx.Response) -> ApiError:
    """The typed error for a non-2xx response, carrying the server's code and message."""
    status = response.status_code
    body: Any = None
    try:
        body = json.loads(response.content) if response.content else None
    except ValueError:
        body = None
    try:
        detail = ErrorBody.model_validate_json(response.content).error
        code, message = detail.code, detail.message
    except ValidationError:
        # Not our API's error shape (a proxy's page, an empty 502): keep it readable.
        code, message = f"http-{status}", response.reason_phrase or "error"
    cls = error_class_for(status)
    return cls(status, code, message, body, retry_after=retry_after_seconds(response))


def parse_model(response: httpx.Response, model: type[M]) -> M:
    try:
        return model.model_validate_json(response.content)
    except ValidationError as exc:
        raise BadResponse(_bad(response, model.__name__, exc)) from None


def parse_adapter(response: httpx.Response, adapter: TypeAdapter[T], name: str) -> T:
    try:
        return adapter.validate_json(response.content)
    except ValidationError as exc:
        raise BadResponse(_bad(response, name, exc)) from None


def _bad(response: httpx.Response, name: str, exc: ValidationError) -> str:
    # Field locations only: the input values may be patient data.
    where = ", ".join(".".join(str(p) for p in e["loc"]) or "(body)" for e in exc.errors()[:3])
    return (
        f"{response.request.method} {response.request.url.path}: "
        f"response is not a valid {name} ({exc.error_count()} errors at {where})"
    )
