"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from central_api.api.routes import ALL_ROUTERS
from central_api.core.config import Settings
from central_api.core.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    CatchAllMiddleware,
)
from central_api.db import is_sqlite, make_engine, make_session_factory
from central_api.errors import COMMON_ERRORS, install_error_handlers
from central_api.events import BUS_KEY, Broker
from central_api.events.listen import listen
from central_api.triggers import start_trigger_job, stop_trigger_job

API_VERSION = "1"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app on `settings.db` (the schema must already be migrated)."""
    settings = settings or Settings()
    engine = make_engine(settings.db)
    broker = Broker(
        buffer_size=settings.events_buffer_size,
        ring_size=settings.events_ring_size,
        stream_limit=settings.events_stream_limit,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # B2: the periodic trigger job (ASSISTANT_API_TRIGGER_INTERVAL seconds; <= 0 is off).
        # Sync routes and dependencies run on anyio's threadpool (40 threads by
        # default). Every request is mostly Python under one GIL, and writers queue
        # on one lock (SQLite's, PostgreSQL's feed lock) anyway, so 40 runnable
        # threads mostly fight over the GIL while one of them holds the database
        # lock. Fewer threads: same work, less contention (see scripts/bench_api).
        to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
        broker.start(asyncio.get_running_loop())
        listener: asyncio.Task[None] | None = None
        if not is_sqlite(settings.db):
            # PostgreSQL: records reach this process's broker through LISTEN (the
            # writers' NOTIFY), whichever process committed them.
            ready = asyncio.Event()
            listener = asyncio.create_task(listen(settings.db, broker, ready=ready))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), 30)
        job = start_trigger_job(app.state.session_factory)
        try:
            yield
        finally:
            await stop_trigger_job(job)
            broker.close()
            if listener is not None:
                listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listener
            engine.dispose()

    app = FastAPI(
        title="assistant-tui central API",
        version=API_VERSION,
        openapi_url="/v1/openapi.json",
        docs_url="/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
        # A body without Content-Type is still parsed as JSON (malformed → 400).
        strict_content_type=False,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.broker = broker
    # SQLite (one process): a committing session hands its record to the broker
    # directly; PostgreSQL sessions NOTIFY instead (see central_api.events.capture).
    app.state.session_factory = make_session_factory(
        engine, info={BUS_KEY: broker} if is_sqlite(settings.db) else None
    )

    install_error_handlers(app)
    for router in ALL_ROUTERS:
        app.include_router(router, responses=COMMON_ERRORS)

    # Added innermost first: the access log sees every status, including 413s and 500s.
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(AccessLogMiddleware)
    return app
