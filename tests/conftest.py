"""Fixtures shared by every test area: a real PostgreSQL, real API servers, free ports."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.ports import free_port as _free_port
from tests.support.postgres import PostgresServer, postgres_available
from tests.support.server import ApiServer


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL 15 cluster for the whole session (temp dir, 127.0.0.1, random port)."""
    if not postgres_available():
        pytest.skip("PostgreSQL binaries (initdb, pg_ctl) are not installed")
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def create_database(postgres_server: PostgresServer) -> Callable[..., str]:
    """`create_database(template=None) -> url`: a fresh database on the session cluster."""
    return postgres_server.create_database


@pytest.fixture
def free_port() -> Callable[[], int]:
    """`free_port() -> int`: a port on 127.0.0.1 the OS reported free."""
    return _free_port


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A URL for a fresh SQLite file in the test's temp dir."""
    return f"sqlite:///{tmp_path / 'api.db'}"


@pytest.fixture
def api_server_factory() -> Iterator[Callable[..., ApiServer]]:
    """`api_server_factory(db_url, **kw) -> ApiServer` (started); all stopped at teardown."""
    servers: list[ApiServer] = []

    def make(db_url: str, **kwargs: object) -> ApiServer:
        server = ApiServer(db_url, **kwargs)  # type: ignore[arg-type]
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()
