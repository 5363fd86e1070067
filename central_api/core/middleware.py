"""ASGI middleware: body size limit, last-resort 500s and a PHI-free access log.

Written as plain ASGI (not BaseHTTPMiddleware) so streaming responses (SSE) and
disconnect detection pass through untouched.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from central_api.errors import error_body
from followup_core.schemas import MAX_BODY_BYTES

log = logging.getLogger("central_api")
access_log = logging.getLogger("central_api.access")


async def _send_error(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
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


class CatchAllMiddleware:
    """Answer any unexpected exception with a JSON 500, logging no request data.

    The log carries the exception type and the stack, never the exception's message:
    database and validation errors can quote values, and values may be PHI.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            stack = "".join(traceback.format_tb(exc.__traceback__))
            log.error(
                "unhandled %s on %s %s\n%s",
                type(exc).__name__,
                scope.get("method"),
                scope.get("path"),
                stack,
            )
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
                scope.get("method"),
                scope.get("path"),
                status["code"],
                (time.perf_counter() - began) * 1000,
            )
