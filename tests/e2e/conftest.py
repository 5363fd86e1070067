"""A seeded central API for the start-up screen tests, and tmux for the end-to-end test.

The API is seeded by the demo's own `seed` (the `assistant-api` CLI in a child
process), so the tests also exercise the path `assistant-tui demo` takes.
"""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from assistant_tui.demo import DemoPaths, pick_demo_assistant, seed
from tests.support.server import ApiServer


@dataclass(frozen=True)
class SeededApi:
    url: str
    password: str  # every seeded user's password, generated for this run
    summary: dict[str, Any]
    demo_user: str

    def user_with_role(self, role: str, *, skip: tuple[str, ...] = ()) -> str:
        for user in self.summary["users"]:
            if user["role"] == role and user["username"] not in skip:
                return str(user["username"])
        raise LookupError(role)


@pytest.fixture(scope="session")
def seeded_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeededApi]:
    root = tmp_path_factory.mktemp("seeded-api")
    paths = DemoPaths(root)
    password = secrets.token_urlsafe(16)
    summary = seed(paths, password=password, size=None)
    with ApiServer(paths.db_url) as server:
        yield SeededApi(
            url=server.url,
            password=password,
            summary=summary,
            demo_user=pick_demo_assistant(summary).username,
        )


@pytest.fixture
def tmux_available() -> None:
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed")
