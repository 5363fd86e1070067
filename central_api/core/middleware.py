"""ASGI middleware: body size limit, no-store headers, last-resort 500s (503 for a full
disk) and a PHI-free, escaped access log.

Written as plain ASGI (not BaseHTTPMiddleware) so streaming responses (SSE) and
disconnect detection pass through untouched.
"""

from __future__ import annotations

import errno
import json
import logging
import time
import traceback
import unicodedata
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central_api.errors import error_body
from followup_core.schemas import MAX_BODY_BYTES

log = logging.getLogger("central_api")
access_log = logging.getLogger("central_api.access")


# Every /v1 response may carry PHI or a token: never stored by a cache, never sniffed.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
)


def escape_for_log(value: object, limit: int = 300) -> str:
    """`value` as one safe log field: control, format and separator characters (newlines
    included) and backslashes are written as escapes, so a request can never start or
    forge a log line; cut to `limit` characters with a mark."""
    text = str(value)
    out: list[str] = []
    for char in text[:limit]:
        if char == "\\":
            out.append("\\\\")
        elif unicodedata.category(char)[0] in ("C", "Z") and char != " ":
            code = ord(char)
            if code < 0x100:
                out.append(f"\\x{code:02x}")
            elif code < 0x10000:
                out.append(f"\\u{code:04x}")
            else:
                out.append(f"\\U{code:08x}")
        else:
            out.append(char)
    if len(text) > limit:
        out.append("…")
    return "".join(out)


def is_disk_full(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) says the disk is full: OSError ENOSPC/EDQUOT,
    SQLite's SQLITE_FULL ("database or disk is full"), PostgreSQL's 53100 disk_full."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and current.errno in (errno.ENOSPC, errno.EDQUOT):
            return True
        if getattr(current, "sqlite_errorname", None) == "SQLITE_FULL":
            return True
        if getattr(current, "sqlstate", None) == "53100":
            return True
        current = getattr(current, "orig", None) or current.__cause__ or current.__context__
    return False


async def _send_error(
    send: Send,
    status: int,
    code: str,
    message: str,
    extra_headers: tuple[tuple[bytes, bytes], ...] = (),
) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *SECURITY_HEADERS,
                *extra_headers,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class BodyLimitMiddleware:
    """413 for bodies over `limit`, judged by Content-Length *and* by bytes actually sent.

    The body is read up front (at most `limit` bytes are held) and replayed to the
    app, so no handler ever sees a partial or oversized body.
    """

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_error(send, 400, "bad-request", "invalid Content-Length")
                    return
                if declared > self.limit:
                    await _send_error(send, 413, "body-too-large", "request body over 1 MiB")
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await _send_error(send, 413, "body-too-large", "request body over 1 MiB")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


class SecurityHeadersMiddleware:
    """`Cache-Control: no-store` and `X-Content-Type-Options: nosniff` on every /v1 response
    (all of them may carry PHI or a token), errors and streams included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope.get("path", "")).startswith("/v1"):
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", ())}
                extra = [(n, v) for n, v in SECURITY_HEADERS if n not in names]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


class CatchAllMiddleware:
    """Answer any unexpected exception with a JSON 500, logging no request data.

    The log carries the exception type and the stack, never the exception's message:
    database and validation errors can quote values, and values may be PHI. A full
    disk is not a bug but a state: 503 `disk-full` with `Retry-After`, logged as
    "disk full" (once per request, without the stack).
    """

    def __init__(self, app: ASGIApp, retry_after_seconds: int = 60) -> None:
        self.app = app
        self.retry_after = str(retry_after_seconds).encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            method = escape_for_log(scope.get("method"))
            path = escape_for_log(scope.get("path"))
            if is_disk_full(exc):
                log.error("disk full: %s %s refused with 503", method, path)
                if not started:
                    await _send_error(
                        send,
                        503,
                        "disk-full",
                        "the server's disk is full; nothing was applied, retry later",
                        ((b"retry-after", self.retry_after),),
                    )
                return
            stack = "".join(traceback.format_tb(exc.__traceback__))
            log.error("unhandled %s on %s %s\n%s", type(exc).__name__, method, path, stack)
            if not started:
                await _send_error(
                    send, 500, "internal-error", "internal error; the request was not applied"
                )


class AccessLogMiddleware:
    """One line per request: method, path (never the query string), status, duration."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status: dict[str, Any] = {"code": 0}

        async def recording_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            access_log.info(
                "%s %s %s %.1fms",
                escape_for_log(scope.get("method")),
                escape_for_log(scope.get("path")),
                status["code"],
                (time.perf_counter() - began) * 1000,
            )
