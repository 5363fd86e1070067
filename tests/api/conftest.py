"""The `api` fixture: the real API over a seeded synthetic practice, three ways.

`api` is module-scoped and parametrized over
- `inprocess`: Starlette's TestClient (an httpx.Client) over `create_app` on an SQLite file,
- `uvicorn`: the real `assistant-api serve` child process on 127.0.0.1 on an SQLite file,
- `postgres`: the same server on a PostgreSQL database of the session's cluster.

Each backend is seeded once per session (size 300, a password generated at run
time); modules get a private copy (file copy / CREATE DATABASE … TEMPLATE), so a
module may write freely without re-seeding.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from central_api.app import create_app
from central_api.core.config import Settings
from central_api.db import make_engine, make_session_factory
from tests.support.postgres import PostgresServer
from tests.support.seeded import PostgresTemplate, SqliteTemplate
from tests.support.server import ApiServer
from tests.support.sse import StreamReader

API_SEED_SIZE = 300
HTTP_TIMEOUT = 30.0


class _InProcessClient(TestClient):
    """A TestClient that never runs the app's lifespan again (the harness ran it once)."""

    def __enter__(self) -> _InProcessClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ApiHarness:
    """One running API over one seeded database, with helpers to talk to it as anyone."""

    def __init__(
        self,
        kind: str,
        db_url: str,
        seed: dict[str, Any],
        password: str,
        *,
        server: ApiServer | None = None,
        app_client: TestClient | None = None,
    ) -> None:
        self.kind = kind
        self.db_url = db_url
        self.seed = seed
        self.password = password
        self.server = server
        self._app_client = app_client
        self.app = app_client.app if app_client is not None else None
        self.url = server.url if server is not None else "http://testserver"
        self._engine: Engine | None = None
        self._tokens: dict[str, str] = {}

    # --- clients ------------------------------------------------------------

    def client(self, headers: dict[str, str] | None = None) -> httpx.Client:
        """A fresh unauthenticated client (close it, or use it as a context manager)."""
        if self._app_client is not None:
            return _InProcessClient(
                self._app_client.app,
                base_url=self.url,
                headers=headers,
                raise_server_exceptions=False,
            )
        return httpx.Client(base_url=self.url, headers=headers, timeout=HTTP_TIMEOUT)

    def login(self, username: str) -> str:
        """Sign in as a seeded user (every seeded user has the demo password)."""
        with self.client() as c:
            response = c.post(
                "/v1/auth/login", json={"username": username, "password": self.password}
            )
        assert response.status_code == 200, (
            f"login {username}: {response.status_code} {response.text}"
        )
        token: str = response.json()["token"]
        return token

    def as_user(self, username: str) -> httpx.Client:
        """A client that sends a fresh bearer token of `username`."""
        return self.client(headers={"Authorization": f"Bearer {self.login(username)}"})

    def token(self, username: str) -> str:
        """`username`'s token, signed in once for this harness (argon2 per login is slow)."""
        if username not in self._tokens:
            self._tokens[username] = self.login(username)
        return self._tokens[username]

    def signed_in(self, username: str) -> httpx.Client:
        """A client that sends `username`'s token from `token` (close it after use)."""
        return self.client(headers={"Authorization": f"Bearer {self.token(username)}"})

    def stream(self, username: str, *, last_event_id: str | None = None) -> StreamReader:
        """`GET /v1/events` as `username` (a real server only), read by a thread."""
        return StreamReader(self.url, self.token(username), last_event_id=last_event_id)

    # --- seed lookups ---------------------------------------------------------

    def practice(self, index: int = 0) -> dict[str, Any]:
        """Seeded practices in order: two real ones (New York, Denver), then training."""
        practice: dict[str, Any] = self.seed["practices"][index]
        return practice

    def user(self, username: str) -> dict[str, Any]:
        for user in self.seed["users"]:
            if user["username"] == username:
                return dict(user)
        raise KeyError(username)

    def username(self, role: str, practice: int = 0) -> str:
        """The first seeded user with `role` working in practice `practice` (index)."""
        pid = self.practice(practice)["id"]
        for user in self.seed["users"]:
            if user["role"] == role and pid in user["practice_ids"]:
                return str(user["username"])
        raise LookupError(f"no seeded {role} in practice {practice}")

    # --- database -------------------------------------------------------------

    def session(self) -> Session:
        """A SQLAlchemy Session on the same database (commit what you arrange)."""
        if self._engine is None:
            self._engine = make_engine(self.db_url)
        return make_session_factory(self._engine)()

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


@pytest.fixture(scope="session")
def demo_password() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory, demo_password: str) -> SqliteTemplate:
    return SqliteTemplate.build(
        tmp_path_factory.mktemp("seed-sqlite"), size=API_SEED_SIZE, password=demo_password
    )


@pytest.fixture(scope="session")
def postgres_template(postgres_server: PostgresServer, demo_password: str) -> PostgresTemplate:
    return PostgresTemplate.build(postgres_server, size=API_SEED_SIZE, password=demo_password)


@pytest.fixture(
    scope="module",
    params=[
        "inprocess",
        "uvicorn",
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
)
def api(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    demo_password: str,
) -> Iterator[ApiHarness]:
    kind: str = request.param
    harness: ApiHarness
    if kind == "postgres":
        pg: PostgresTemplate = request.getfixturevalue("postgres_template")
        db_url, seed = pg.copy(), pg.summary
    else:
        lite: SqliteTemplate = request.getfixturevalue("sqlite_template")
        db_url, seed = lite.copy(tmp_path_factory.mktemp(f"api-{kind}")), lite.summary

    if kind == "inprocess":
        app = create_app(Settings(db=db_url))
        with TestClient(app, raise_server_exceptions=False) as app_client:
            harness = ApiHarness(kind, db_url, seed, demo_password, app_client=app_client)
            try:
                yield harness
            finally:
                harness.close()
        return

    with ApiServer(db_url) as server:
        harness = ApiHarness(kind, db_url, seed, demo_password, server=server)
        try:
            yield harness
        finally:
            harness.close()


@contextmanager
def served(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    demo_password: str,
    env: Mapping[str, str],
) -> Iterator[ApiHarness]:
    """The real server (`request.param`: "uvicorn" on an SQLite copy, or "postgres") with
    its own settings `env`, for a module's own `api` fixture (the live-stream tests)."""
    if request.param == "postgres":
        pg: PostgresTemplate = request.getfixturevalue("postgres_template")
        db_url, seed = pg.copy(), pg.summary
    else:
        lite: SqliteTemplate = request.getfixturevalue("sqlite_template")
        db_url, seed = lite.copy(tmp_path_factory.mktemp("served")), lite.summary
    with ApiServer(db_url, env=env) as server:
        harness = ApiHarness(request.param, db_url, seed, demo_password, server=server)
        try:
            yield harness
        finally:
            harness.close()
