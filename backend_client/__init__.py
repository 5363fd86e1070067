"""Typed async client of the central API: retries, typed errors, event streams.

`import backend_client` stays cheap (the errors only); the client and its
dependencies (httpx, stamina, the wire schemas) load on first use of `ApiClient`,
so a command that never talks to the server does not pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from backend_client.errors import (
    ApiError,
    BadResponse,
    ClientError,
    Conflict,
    Forbidden,
    InsecureURL,
    NotFound,
    Offline,
    PreconditionFailed,
    RateLimited,
    ServerError,
    TLSError,
    Unauthorized,
    Unprocessable,
)

if TYPE_CHECKING:
    from backend_client.client import ApiClient, make_transport
    from backend_client.retries import RetryPolicy
    from backend_client.sse import ReconnectPolicy, SseEvent

_LAZY = {
    "ApiClient": "backend_client.client",
    "make_transport": "backend_client.client",
    "RetryPolicy": "backend_client.retries",
    "ReconnectPolicy": "backend_client.sse",
    "SseEvent": "backend_client.sse",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'backend_client' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "ApiClient",
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
    "ReconnectPolicy",
    "RetryPolicy",
    "ServerError",
    "SseEvent",
    "TLSError",
    "Unauthorized",
    "Unprocessable",
    "make_transport",
]
