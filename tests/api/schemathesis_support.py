"""Shared set-up for the schemathesis conformance runs (one test file per database).

Schemathesis 4 generates valid and invalid requests for every operation and runs
all its checks on each answer (no 5xx, documented status codes, content types,
headers and bodies, invalid input rejected, valid input accepted, auth enforced).
It runs in-process over a private copy of the seeded database, signed in as a
seeded supervisor and as a seeded assistant, with bounded, derandomized examples
so the run is repeatable; positive and negative (invalid) data are generated, and
no answer may be a 5xx. The SQLite and PostgreSQL runs are separate test files
(test_schemathesis_sqlite.py, test_schemathesis_postgres.py) so that xdist's
`--dist loadfile` can run them on two workers at once.
Time (2026-11-30, 30 examples): about 1.5 minutes of CPU per database.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from central_api.app import create_app
from central_api.core.config import Settings
from tests.support.seeded import PostgresTemplate, SqliteTemplate

MAX_EXAMPLES = 30


# Where the schema cannot say everything, the config says it, narrowly:
# - undeclared query parameters are ignored (FastAPI's norm; bodies, by contrast,
#   reject unknown fields), so none are generated;
# - cursors are opaque: a schema-valid string the server never issued is rightly
#   a documented 400 `bad-cursor`;
# - an attempt or escalation can be schema-valid and still wrong in ways JSON
#   Schema cannot express (ended before it started, an outcome code the workflow
#   does not have, a float where the strict wire schema wants an integer): 422;
# - `GET /v1/events` is an endless Server-Sent Events stream: the in-process client
#   buffers a whole response before returning it, so a call would never end. It is
#   not generated here; tests/api/test_events.py covers it against a real server
#   (401 and 429 JSON errors, the stream itself).
# - FHIR: a page token is opaque like a cursor, and a `_lastUpdated` string the
#   schema allows may still not be a FHIR date (400) or a date outside 1900-2200
#   (422, like every date the product cannot schedule); a Bundle can be JSON-Schema
#   valid and still not valid R4, or name resources we cannot place (422);
# - a missed call's `called_at` (like an attempt's times) may be a schema-valid
#   date-time that has not happened yet: more than 5 minutes ahead is a 422.
CONFIG = """
[generation]
mode = "all"
allow-extra-parameters = false

[[operations]]
include-path = "/v1/events"
enabled = false

[[operations]]
include-path-regex = "^/v1/(sync|audit|team/escalations)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "409", "429"]

[[operations]]
include-path-regex = "^/v1/(attempts|escalations)$"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "409", "422", "429"]

[[operations]]
include-path = "/v1/triggers/missed-call"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422", "429"]

[[operations]]
include-path-regex = "^/v1/fhir/(Task|Communication)$"
checks.positive_data_acceptance.expected-statuses = ["2xx", "400", "401", "403", "404", "422", "429"]

[[operations]]
include-path-regex = "^/v1/fhir$"
include-method = "POST"
checks.positive_data_acceptance.expected-statuses = ["2xx", "401", "403", "404", "422", "429"]
"""


class Seeded:
    """A seeded app in-process, with one cached token per role."""

    def __init__(self, app: FastAPI, password: str, summary: dict[str, Any]) -> None:
        self.app = app
        self.password = password
        self.summary = summary
        self.client = TestClient(app, raise_server_exceptions=False)
        self.tokens: dict[str, str] = {}

    def username(self, role: str) -> str:
        return next(u["username"] for u in self.summary["users"] if u["role"] == role)

    def token(self, role: str) -> str:
        response = self.client.post(
            "/v1/auth/login", json={"username": self.username(role), "password": self.password}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token

    def headers(self, role: str, case: schemathesis.Case) -> dict[str, str]:
        """Authorization for `case` as `role`; logout gets a throwaway token (it revokes it)."""
        if case.path == "/v1/auth/logout":
            return {"Authorization": f"Bearer {self.token(role)}"}
        if role not in self.tokens:
            self.tokens[role] = self.token(role)
        return {"Authorization": f"Bearer {self.tokens[role]}"}


def seeded_app(
    backend: str,
    request: pytest.FixtureRequest,
    demo_password: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Seeded]:
    """Body of each test file's module-scoped `seeded_app` fixture for `backend`."""
    if backend == "postgres":
        pg: PostgresTemplate = request.getfixturevalue("postgres_template")
        url, summary = pg.copy(), pg.summary
    else:
        lite: SqliteTemplate = request.getfixturevalue("sqlite_template")
        url, summary = lite.copy(tmp_path_factory.mktemp("schemathesis")), lite.summary
    # Generated logins fail by the hundred from one client: the source throttle would
    # (rightly) hold it, and the seeded users' own sign-ins with it.
    app = create_app(Settings(db=url, max_failed_logins_per_source=1_000_000))
    with TestClient(app):  # run the lifespan once
        yield Seeded(app, demo_password, summary)


def api_schema(seeded: Seeded) -> schemathesis.schemas.BaseSchema:
    """The app's own OpenAPI schema with CONFIG applied."""
    return schemathesis.openapi.from_asgi(
        "/v1/openapi.json",
        seeded.app,
        config=schemathesis.config.SchemathesisConfig.from_str(CONFIG),
    )


SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
