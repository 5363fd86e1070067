"""Fixtures for the API client tests: a real uvicorn stub on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.client.stub_server import Recorder, StubServer, running_stub


@pytest.fixture(scope="module")
def stub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StubServer]:
    db: Path = tmp_path_factory.mktemp("stub") / "stub.db"
    yield from running_stub(db)


@pytest.fixture
def recorder(stub: StubServer) -> Iterator[Recorder]:
    stub.recorder.clear()
    yield stub.recorder
