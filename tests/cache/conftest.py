"""Fixtures of the cache tests: a seeded API under a real uvicorn, a memory keyring."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from backend_client import ApiClient
from local_cache import LocalCache
from local_cache.keys import MemoryKeyring
from tests.support.seeded import SqliteTemplate
from tests.support.server import ApiServer

SEED_SIZE = 60


@dataclass
class Api:
    """A seeded central API under uvicorn on its own SQLite copy."""

    server: ApiServer
    db_url: str
    summary: dict[str, Any]
    password: str

    @property
    def url(self) -> str:
        return self.server.url

    def assistants(self) -> list[str]:
        return [u["username"] for u in self.summary["users"] if u["role"] == "assistant"]

    def user_id(self, username: str) -> str:
        return next(u["id"] for u in self.summary["users"] if u["username"] == username)

    @asynccontextmanager
    async def client(self, username: str, **kwargs: Any) -> AsyncIterator[ApiClient]:
        async with ApiClient(self.url, **kwargs) as client:
            await client.login(username, self.password)
            yield client


@pytest.fixture(scope="session")
def seed_password() -> str:
    return secrets.token_urlsafe(16)


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory, seed_password: str) -> SqliteTemplate:
    return SqliteTemplate.build(
        tmp_path_factory.mktemp("cache-seed"), size=SEED_SIZE, password=seed_password
    )


@pytest.fixture
def api(seeded_template: SqliteTemplate, seed_password: str, tmp_path: Path) -> Iterator[Api]:
    db_url = seeded_template.copy(tmp_path)
    with ApiServer(db_url) as server:
        yield Api(server, db_url, seeded_template.summary, seed_password)


@pytest.fixture
def keyring_backend() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def passphrase() -> str:
    return secrets.token_urlsafe(12)


@pytest.fixture
def open_cache(tmp_path: Path, keyring_backend: MemoryKeyring, passphrase: str) -> Iterator[Any]:
    """`open_cache(username="alice") -> LocalCache` in the test's data dir; all closed after."""
    opened: list[LocalCache] = []

    def make(username: str = "alice", **kwargs: Any) -> LocalCache:
        cache = LocalCache.open(
            tmp_path / "client", username, passphrase, keyring_backend=keyring_backend, **kwargs
        )
        opened.append(cache)
        return cache

    yield make
    for cache in opened:
        cache.close()
