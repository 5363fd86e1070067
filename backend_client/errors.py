"""Typed errors of the API client.

Every failure a caller can act on has its own class, so the sync engine and the
UI branch on types, never on status numbers or message text. An `ApiError`
carries the server's `{"error": {"code", "message"}}` as sent; messages are one
line and hold no credentials.
"""

from __future__ import annotations

from typing import Any


class ClientError(Exception):
    """Base of everything `backend_client` raises on purpose."""


class InsecureURL(ClientError, ValueError):
    """Plain `http://` to a host that is not loopback: refused before connecting."""


class Offline(ClientError):
    """The server could not be reached (network error) after the retry budget ran out."""


class TLSError(ClientError):
    """The server's certificate did not verify: not retried, never "offline"."""


class BadResponse(ClientError):
    """The server answered 2xx with a body that does not match the wire schema."""


class ApiError(ClientError):
    """The server answered with an error status; `code` and `message` are its own words."""

    #: True where asking again later may succeed (429, 5xx); the sync engine
    #: treats these like being offline and keeps the work for the next round.
    transient: bool = False

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        body: Any = None,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body
        self.retry_after = retry_after


class Unauthorized(ApiError):
    """401: no token, or the token expired or was revoked."""


class Forbidden(ApiError):
    """403: the caller's role may not do this."""


class NotFound(ApiError):
    """404: no such record, or one the caller may not see."""


class Conflict(ApiError):
    """409: a lease held by someone else, or the same idempotency key still running."""


class PreconditionFailed(ApiError):
    """412: the record changed since the version the client sent."""


class Unprocessable(ApiError):
    """422: the request is well-formed but invalid (or an idempotency key reused)."""


class RateLimited(ApiError):
    """429: too many requests; `retry_after` says how long the server asked us to wait."""

    transient = True


class ServerError(ApiError):
    """5xx after retries: the server is up but failing."""

    transient = True


_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    422: Unprocessable,
    429: RateLimited,
}


def error_class_for(status: int) -> type[ApiError]:
    """The most specific `ApiError` subclass for an HTTP status."""
    if status >= 500:
        return ServerError
    return _BY_STATUS.get(status, ApiError)


__all__ = [
    "ApiError",
    "BadResponse",
    "ClientError",
    "Conflict",
    "Forbidden",
    "InsecureURL",
    "NotFound",
    "Offline",
    "PreconditionFailed",
    "RateLimited",
    "ServerError",
    "TLSError",
    "Unauthorized",
    "Unprocessable",
    "error_class_for",
]
