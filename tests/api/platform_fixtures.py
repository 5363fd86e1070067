"""Small in-process fixtures for B1's platform tests (auth, errors, audit, presence).

An app on a migrated SQLite file in the test's temp dir, with users created
through `central_api.core.security`; passwords are generated at runtime. These
stand apart from the shared seeded `api` fixture so the platform tests need no
seed data and stay fast.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from central_api.app import create_app
from central_api.core.config import Settings
from central_api.core.security import hash_password
from central_api.db import make_engine, make_session_factory, migrate
from central_api.models import User

# One argon2 hash per distinct password is slow on purpose; reuse it across users.
_PASSWORD = secrets.token_urlsafe(16)
_PASSWORD_HASH = hash_password(_PASSWORD)


@dataclass
class Platform:
    url: str
    app: FastAPI
    client: TestClient
    sessions: sessionmaker[Session]
    password: str = _PASSWORD
    users: dict[str, User] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def session(self) -> Session:
        return self.sessions()

    def add_user(self, username: str, role: str, *, active: bool = True) -> User:
        with self.sessions() as session:
            user = User(
                username=username,
                display_name=f"Test {role}",
                role=role,
                password_hash=_PASSWORD_HASH,
                active=active,
            )
            session.add(user)
            session.commit()
        self.users[username] = user
        return user

    def login(self, username: str, password: str | None = None) -> str:
        response = self.client.post(
            "/v1/auth/login", json={"username": username, "password": password or self.password}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    def headers(self, username: str) -> dict[str, str]:
        """Authorization for `username`, signing in once and reusing the token."""
        if username not in self.tokens:
            self.tokens[username] = self.login(username)
        return {"Authorization": f"Bearer {self.tokens[username]}"}


def _platform(directory: Path) -> Iterator[Platform]:
    url = f"sqlite:///{directory / 'platform.db'}"
    migrate(url)
    app = create_app(Settings(db=url))
    engine = make_engine(url)
    with TestClient(app, raise_server_exceptions=False) as client:
        p = Platform(url=url, app=app, client=client, sessions=make_session_factory(engine))
        for role in ("assistant", "supervisor", "trainer", "admin"):
            p.add_user(role, role)
        yield p
    engine.dispose()


@pytest.fixture
def platform(tmp_path: Path) -> Iterator[Platform]:
    """A fresh platform per test (for tests that change accounts or sessions)."""
    yield from _platform(tmp_path)


@pytest.fixture(scope="module")
def shared_platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    """One platform per module, for tests that only read or send bad input."""
    yield from _platform(tmp_path_factory.mktemp("platform"))
