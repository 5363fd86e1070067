"""A seeded central API for the browser tests (the demo's own seeder, as in tests/e2e)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from assistant_tui.demo import DemoPaths, seed
from tests.e2e.conftest import SeededApi
from tests.support.server import ApiServer


@pytest.fixture(scope="module")
def seeded_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededApi]:
    root = tmp_path_factory.mktemp("web-api")
    password = secrets.token_urlsafe(16)
    summary = seed(DemoPaths(root), password=password, size=None)
    with ApiServer(DemoPaths(root).db_url) as server:
        yield SeededApi(url=server.url, password=password, summary=summary, demo_user="")
