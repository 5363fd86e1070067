"""The session mirror's flood guard over real sockets (uvicorn, SQLite).

The server runs with a guard that never refills within the test (0.01 batches a
second, a burst of 5), so what is refused does not depend on how fast this
loaded machine sends: the 6th batch of one user is refused however slowly it
comes, and nobody else's is. A flood from many threads at once is refused while
another assistant publishes and a supervisor reads the board: their requests all
succeed, and the flooder's refused batches change nothing in its snapshot.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.api.conftest import ApiHarness
from tests.support.seeded import SqliteTemplate
from tests.support.server import ApiServer

BURST = 5
FLOODER = "dev.nakamura"
OTHER = "eli.marchetti"


@pytest.fixture(scope="module")
def guarded(
    sqlite_template: SqliteTemplate, tmp_path_factory: pytest.TempPathFactory, demo_password: str
) -> Iterator[ApiHarness]:
    db_url = sqlite_template.copy(Path(tmp_path_factory.mktemp("flood")))
    env = {
        "ASSISTANT_API_MIRROR_BATCHES_PER_SECOND": "0.01",
        "ASSISTANT_API_MIRROR_BURST": str(BURST),
        "ASSISTANT_API_TRIGGER_INTERVAL": "0",
    }
    with ApiServer(db_url, env=env) as server:
        harness = ApiHarness(
            "uvicorn", db_url, sqlite_template.summary, demo_password, server=server
        )
        try:
            yield harness
        finally:
            harness.close()


def _publish(client: httpx.Client, step: int) -> httpx.Response:
    return client.post(
        "/v1/sessions/me/events", json={"events": [{"type": "script-step", "step": step}]}
    )


def _user_id(api: ApiHarness, username: str) -> str:
    return str(api.user(username)["id"])


def test_the_burst_passes_the_next_batch_is_429_and_changes_nothing(guarded: ApiHarness) -> None:
    with guarded.as_user(FLOODER) as flooder, guarded.as_user("supervisor") as supervisor:
        seqs = []
        for step in range(BURST):
            response = _publish(flooder, step)
            assert response.status_code == 200, response.text
            seqs.append(response.json()["seq"])
        refused = _publish(flooder, 19)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too-many-events"
        assert int(refused.headers["Retry-After"]) >= 1
        snap = supervisor.get(f"/v1/sessions/{_user_id(guarded, FLOODER)}")
        assert snap.status_code == 200
        assert snap.json()["seq"] == seqs[-1]
        assert snap.json()["state"]["step"] == BURST - 1  # not 19: the refused batch


def test_a_flood_from_many_threads_refuses_only_the_flooder(guarded: ApiHarness) -> None:
    flooder_id = _user_id(guarded, "faye.osei")
    with (
        guarded.as_user("faye.osei") as flooder,
        guarded.as_user(OTHER) as other,
        guarded.as_user("supervisor") as supervisor,
    ):

        def flood(n: int) -> int:
            return _publish(flooder, n % 20).status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            flooding = pool.map(flood, range(120))
            # While the flood is under way: another assistant's batches and a board read.
            others = [_publish(other, step).status_code for step in range(BURST)]
            board = supervisor.get("/v1/team")
            codes = list(flooding)
        assert others == [200] * BURST
        assert board.status_code == 200
        assert codes.count(200) == BURST
        assert codes.count(429) == 120 - BURST
        snap: dict[str, Any] = supervisor.get(f"/v1/sessions/{flooder_id}").json()
        assert snap["seq"] >= BURST


def test_the_limits_are_documented_in_the_schema(guarded: ApiHarness) -> None:
    with guarded.client() as client:
        schema = client.get("/v1/openapi.json").json()
    operation = schema["paths"]["/v1/sessions/me/events"]["post"]
    assert "429" in operation["responses"]
    assert "Retry-After" in operation["responses"]["429"].get("headers", {})
    text = operation.get("description", "")
    assert "ASSISTANT_API_MIRROR_BATCHES_PER_SECOND" in text
    assert "ASSISTANT_API_MIRROR_BURST" in text
