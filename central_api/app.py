"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from central_api.api.routes import ALL_ROUTERS
from central_api.core.config import Settings
from central_api.core.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    CatchAllMiddleware,
)
from central_api.db import make_engine, make_session_factory
from central_api.errors import COMMON_ERRORS, install_error_handlers

API_VERSION = "1"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app on `settings.db` (the schema must already be migrated)."""
    settings = settings or Settings()
    engine = make_engine(settings.db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
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
    app.state.session_factory = make_session_factory(engine)

    install_error_handlers(app)
    for router in ALL_ROUTERS:
        app.include_router(router, responses=COMMON_ERRORS)

    # Added innermost first: the access log sees every status, including 413s and 500s.
    app.add_middleware(BodyLimitMiddleware)
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(AccessLogMiddleware)
    return app
