"""A tiny real FastAPI app under a real uvicorn on 127.0.0.1, for the client's edge cases.

The central API answers 503 or closes a connection only when something is
wrong; this app does it on purpose and records every request it saw (time,
headers), so tests assert on what the server observed rather than on
wall-clock budgets.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from sse_starlette import EventSourceResponse, ServerSentEvent

from tests.support.ports import free_port


@dataclass
class Seen:
    """One request as the server saw it."""

    path: str
    at: float  # time.monotonic() on the server side (same process, same clock)
    headers: dict[str, str]


@dataclass
class Recorder:
    requests: list[Seen] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, request: Request) -> int:
        """Record the request; return how many times this path was hit, this one included."""
        with self.lock:
            self.requests.append(
                Seen(request.url.path, time.monotonic(), dict(request.headers.items()))
            )
            self.counters[request.url.path] += 1
            return self.counters[request.url.path]

    def seen(self, path: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.requests if s.path == path]

    def clear(self) -> None:
        with self.lock:
            self.requests.clear()
            self.counters.clear()


def _error(status: int, code: str, message: str, **headers: str) -> JSONResponse:
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def build_app(recorder: Recorder, db_path: Path) -> FastAPI:
    app = FastAPI()
    db_lock = threading.Lock()
    conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # a test stub: speed over durability
    # No unique constraint on `key`: a duplicate create would show up as a second row.
    conn.execute(
        "CREATE TABLE IF NOT EXISTS items (seq INTEGER PRIMARY KEY, key TEXT NOT NULL, body TEXT)"
    )
    conn.execute("CREATE TABLE IF NOT EXISTS idem (key TEXT PRIMARY KEY, response TEXT NOT NULL)")
    app.state.db = conn

    @app.get("/v1/health")
    async def health(request: Request) -> dict[str, str]:
        recorder.add(request)
        return {"status": "ok"}

    @app.get("/v1/bad-health")
    async def bad_health(request: Request) -> dict[str, Any]:
        recorder.add(request)
        return {"status": 3, "patient": "x"}

    @app.get("/unavailable-twice")
    async def unavailable_twice(request: Request) -> Response:
        if recorder.add(request) <= 2:
            return _error(503, "unavailable", "down for a moment", **{"Retry-After": "1"})
        return JSONResponse({"status": "ok"})

    @app.post("/limited-once")
    async def limited_once(request: Request) -> Response:
        if recorder.add(request) <= 1:
            return _error(429, "too-many-attempts", "slow down", **{"Retry-After": "1"})
        return JSONResponse({"status": "ok"})

    @app.get("/limited-long")
    async def limited_long(request: Request) -> Response:
        recorder.add(request)
        return _error(429, "too-many-attempts", "locked out", **{"Retry-After": "600"})

    @app.api_route("/fail-then-ok/{status}", methods=["GET", "POST"])
    async def fail_then_ok(status: int, request: Request) -> Response:
        if recorder.add(request) <= 1:
            return _error(status, f"http-{status}", "first try fails")
        return JSONResponse({"status": "ok"})

    @app.api_route("/always/{status}", methods=["GET", "POST", "PUT"])
    async def always(status: int, request: Request) -> Response:
        recorder.add(request)
        return _error(status, f"code-{status}", f"always {status}")

    @app.get("/plain-502")
    async def plain_502(request: Request) -> Response:
        recorder.add(request)
        return Response("<html>bad gateway</html>", status_code=502, media_type="text/html")

    @app.get("/close-once")
    async def close_once(request: Request) -> Response:
        if recorder.add(request) <= 1:

            async def broken() -> AsyncIterator[bytes]:
                yield b'{"status": '
                raise RuntimeError("connection cut on purpose")

            # Headers and part of the body go out, then uvicorn drops the
            # connection: the client sees a network error after sending.
            return StreamingResponse(broken(), media_type="application/json")
        return JSONResponse({"status": "ok"})

    @app.post("/items")
    async def create_item(request: Request) -> Response:
        """Create-once with Idempotency-Key: the row and the stored answer in one transaction."""
        recorder.add(request)
        key = request.headers.get("idempotency-key")
        if not key:
            return _error(400, "missing-key", "Idempotency-Key is required")
        body = (await request.body()).decode()
        with db_lock:
            row = conn.execute("SELECT response FROM idem WHERE key = ?", (key,)).fetchone()
            if row is not None:
                return Response(
                    row[0],
                    status_code=201,
                    media_type="application/json",
                    headers={"Idempotent-Replayed": "true"},
                )
            answer = '{"status": "created"}'
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO items (key, body) VALUES (?, ?)", (key, body))
            conn.execute("INSERT INTO idem (key, response) VALUES (?, ?)", (key, answer))
            conn.execute("COMMIT")
        return Response(answer, status_code=201, media_type="application/json")

    @app.get("/events")
    async def events(request: Request) -> EventSourceResponse:
        """Two events per connection, then the server hangs up; ids continue across connections."""
        recorder.add(request)
        last = request.headers.get("last-event-id")
        start = int(last) + 1 if last and last.isdigit() else 1

        async def gen() -> AsyncIterator[dict[str, Any]]:
            for n in (start, start + 1):
                yield {"id": str(n), "event": "tick", "data": f'{{"n": {n}}}', "retry": 50}
            await asyncio.sleep(0)

        return EventSourceResponse(gen(), ping=600)

    @app.get("/events-quiet")
    async def events_quiet(request: Request) -> EventSourceResponse:
        """Keep-alive comments and an empty event between two real ones, then the end."""
        recorder.add(request)

        async def gen() -> AsyncIterator[ServerSentEvent | dict[str, Any]]:
            yield {"id": "1", "data": "first"}
            yield ServerSentEvent(comment="keep-alive")
            yield ServerSentEvent(comment="keep-alive")
            yield {"id": "2", "data": ""}  # moves the last event id, dispatches nothing
            yield {"data": "second"}

        return EventSourceResponse(gen(), ping=600)

    @app.get("/events-busy", response_model=None)
    async def events_busy(request: Request) -> Response | EventSourceResponse:
        """503 with Retry-After on the first connection, events after that."""
        if recorder.add(request) <= 1:
            return _error(503, "unavailable", "busy", **{"Retry-After": "1"})

        async def gen() -> AsyncIterator[dict[str, Any]]:
            yield {"id": "1", "data": "hello"}

        return EventSourceResponse(gen(), ping=600)

    @app.get("/events-unauthorized")
    async def events_unauthorized(request: Request) -> Response:
        recorder.add(request)
        return _error(401, "unauthenticated", "sign in again")

    return app


class StubServer:
    """uvicorn serving `build_app` in a thread on 127.0.0.1:<random>."""

    def __init__(
        self, db_path: Path, *, certfile: Path | None = None, keyfile: Path | None = None
    ) -> None:
        self.recorder = Recorder()
        self.app = build_app(self.recorder, db_path)
        self.port = free_port()
        scheme = "https" if certfile else "http"
        self.url = f"{scheme}://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="critical",
            access_log=False,
            ssl_certfile=str(certfile) if certfile else None,
            ssl_keyfile=str(keyfile) if keyfile else None,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)

    def start(self, timeout: float = 20.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("stub server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.app.state.db.close()

    def count_items(self) -> tuple[int, int]:
        """(rows, distinct idempotency keys) in the items table."""
        row = self.app.state.db.execute(
            "SELECT COUNT(*), COUNT(DISTINCT key) FROM items"
        ).fetchone()
        return int(row[0]), int(row[1])


def running_stub(db_path: Path, **tls: Path) -> Iterator[StubServer]:
    server = StubServer(db_path, **tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()
