"""Typed results, typed errors and when the client does (not) ask again."""

from __future__ import annotations

import itertools
import uuid

import pytest

from backend_client import ApiClient, RetryPolicy
from backend_client.errors import (
    ApiError,
    BadResponse,
    Conflict,
    Forbidden,
    NotFound,
    Offline,
    PreconditionFailed,
    RateLimited,
    ServerError,
    Unauthorized,
    Unprocessable,
)
from followup_core.schemas import Health
from tests.client.stub_server import Recorder, StubServer
from tests.support.ports import free_port


async def test_health_is_a_typed_model(stub: StubServer) -> None:
    async with ApiClient(stub.url) as api:
        health = await api.health()
    assert isinstance(health, Health)
    assert health.status == "ok"


async def test_invalid_body_is_bad_response_without_values(stub: StubServer) -> None:
    async with ApiClient(stub.url) as api:
        with pytest.raises(BadResponse) as info:
            await api._model("GET", "/v1/bad-health", Health)
    text = str(info.value)
    assert "Health" in text and "status" in text
    assert '"x"' not in text and "'x'" not in text  # field locations only, no values


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, ApiError),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (412, PreconditionFailed),
        (422, Unprocessable),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_client_errors_are_typed_and_never_retried(
    stub: StubServer, recorder: Recorder, status: int, cls: type[ApiError], method: str
) -> None:
    path = f"/always/{status}"
    async with ApiClient(stub.url) as api:
        with pytest.raises(cls) as info:
            await api.request(method, path, headers={"Idempotency-Key": str(uuid.uuid4())})
    err = info.value
    assert type(err) is cls
    assert (err.status, err.code, err.message) == (status, f"code-{status}", f"always {status}")
    assert err.body == {"error": {"code": f"code-{status}", "message": f"always {status}"}}
    assert not err.transient
    assert len(recorder.seen(path)) == 1


async def test_retry_after_on_503_is_honoured(stub: StubServer, recorder: Recorder) -> None:
    async with ApiClient(stub.url) as api:
        response = await api.request("GET", "/unavailable-twice")
    assert response.json() == {"status": "ok"}
    seen = recorder.seen("/unavailable-twice")
    assert len(seen) == 3
    gaps = [b.at - a.at for a, b in itertools.pairwise(seen)]
    assert all(gap >= 1.0 for gap in gaps), gaps  # Retry-After: 1, as the server saw it


async def test_429_is_retried_after_retry_after_even_for_a_plain_post(
    stub: StubServer, recorder: Recorder
) -> None:
    async with ApiClient(stub.url) as api:
        response = await api.request("POST", "/limited-once")
    assert response.status_code == 200
    seen = recorder.seen("/limited-once")
    assert len(seen) == 2
    assert seen[1].at - seen[0].at >= 1.0


async def test_retry_after_beyond_the_budget_gives_up_at_once(
    stub: StubServer, recorder: Recorder
) -> None:
    async with ApiClient(stub.url) as api:
        with pytest.raises(RateLimited) as info:
            await api.request("GET", "/limited-long")
    assert info.value.retry_after == 600
    assert info.value.code == "too-many-attempts"
    assert info.value.transient
    assert len(recorder.seen("/limited-long")) == 1


async def test_500_is_retried_for_get_and_keyed_post_only(
    stub: StubServer, recorder: Recorder
) -> None:
    async with ApiClient(stub.url) as api:
        assert (await api.request("GET", "/fail-then-ok/500")).status_code == 200
        assert len(recorder.seen("/fail-then-ok/500")) == 2

        recorder.clear()
        with pytest.raises(ServerError):
            await api.request("POST", "/fail-then-ok/500")  # may have been processed: no retry
        assert len(recorder.seen("/fail-then-ok/500")) == 1

        recorder.clear()
        keyed = await api.request(
            "POST", "/fail-then-ok/500", headers={"Idempotency-Key": str(uuid.uuid4())}
        )
        assert keyed.status_code == 200
        assert len(recorder.seen("/fail-then-ok/500")) == 2


async def test_persistent_5xx_ends_as_server_error_within_budget(
    stub: StubServer, recorder: Recorder
) -> None:
    async with ApiClient(stub.url, retry=RetryPolicy(budget=1.0, wait_initial=0.05)) as api:
        with pytest.raises(ServerError) as info:
            await api.request("GET", "/always/503")
    assert info.value.status == 503 and info.value.code == "code-503"
    assert info.value.transient
    assert len(recorder.seen("/always/503")) >= 2


async def test_non_json_error_page_still_maps(stub: StubServer, recorder: Recorder) -> None:
    async with ApiClient(stub.url, retry=RetryPolicy(budget=0.2, wait_initial=0.05)) as api:
        with pytest.raises(ServerError) as info:
            await api.request("GET", "/plain-502")
    assert info.value.code == "http-502"
    assert info.value.body is None


async def test_dropped_connection_is_retried(stub: StubServer, recorder: Recorder) -> None:
    async with ApiClient(stub.url) as api:
        response = await api.request("GET", "/close-once")
    assert response.json() == {"status": "ok"}
    assert len(recorder.seen("/close-once")) == 2


async def test_nothing_listening_is_offline() -> None:
    port = free_port()  # free a moment ago: nothing listens there
    policy = RetryPolicy(budget=0.3, wait_initial=0.05)
    async with ApiClient(f"http://127.0.0.1:{port}", retry=policy) as api:
        with pytest.raises(Offline) as info:
            await api.health()
    assert "unreachable" in str(info.value)


async def test_token_is_sent_as_bearer(stub: StubServer, recorder: Recorder) -> None:
    token = "t-" + uuid.uuid4().hex
    async with ApiClient(stub.url, token=token, client_label="tests") as api:
        await api.health()
    headers = recorder.seen("/v1/health")[0].headers
    assert headers["authorization"] == f"Bearer {token}"
    assert headers["x-client"] == "tests"
