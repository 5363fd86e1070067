"""The whole API against its own OpenAPI schema, on SQLite (see schemathesis_support)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis

from tests.api import schemathesis_support as support


@pytest.fixture(scope="module")
def seeded_app(
    request: pytest.FixtureRequest,
    demo_password: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[support.Seeded]:
    yield from support.seeded_app("sqlite", request, demo_password, tmp_path_factory)


@pytest.fixture(scope="module")
def api_schema(seeded_app: support.Seeded) -> schemathesis.schemas.BaseSchema:
    return support.api_schema(seeded_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@support.SETTINGS
def test_api_as_supervisor(case: schemathesis.Case, seeded_app: support.Seeded) -> None:
    case.call_and_validate(headers=seeded_app.headers("supervisor", case))


@schema.parametrize()
@support.SETTINGS
def test_api_as_assistant(case: schemathesis.Case, seeded_app: support.Seeded) -> None:
    case.call_and_validate(headers=seeded_app.headers("assistant", case))
