"""The FastAPI application factory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI

from central_api import installation
from central_api.api.routes import ALL_ROUTERS
from central_api.core.config import Settings
from central_api.core.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    CatchAllMiddleware,
    SecurityHeadersMiddleware,
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
        # The installation's own secrets exist from the first serve on (migrate makes them too).
        await to_thread.run_sync(installation.ensure, engine)
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
        # FastAPI's own docs page loads Swagger UI from a CDN: never used (see _serve_docs).
        docs_url=None,
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
    if settings.docs:
        _serve_docs(app)

    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(
        CatchAllMiddleware, retry_after_seconds=settings.disk_full_retry_after_seconds
    )
    app.add_middleware(AccessLogMiddleware)
    return app


DOCS_PATH = "/v1/docs"
DOCS_ASSETS = "/v1/docs/assets"


def _serve_docs(app: FastAPI) -> None:
    """Swagger UI at /v1/docs with its scripts and styles served by this server.

    The assets come from the `swagger-ui-bundle` package (Swagger UI 4.15.5), so the
    page loads nothing from outside: no CDN, no external favicon.
    """
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.responses import HTMLResponse
    from starlette.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount(DOCS_ASSETS, StaticFiles(directory=str(swagger_ui_path)), name="docs-assets")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/v1/openapi.json",
            title="assistant-tui central API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon-32x32.png",
        )
