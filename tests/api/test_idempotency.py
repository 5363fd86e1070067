"""Idempotency-Key semantics on POST /v1/attempts and /v1/escalations."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import text

from central_api import idempotency, models
from tests.api.conftest import HTTP_TIMEOUT, ApiHarness
from tests.api.work_support import (
    TaskPicker,
    attempt_body,
    client_as,
    close_work_clients,  # noqa: F401 (autouse fixture)
    count,
    escalation_body,
    post_attempt,
    post_escalation,
    user_id,
)

CONCURRENT = 50


@pytest.fixture(scope="module")
def fresh(api: ApiHarness) -> TaskPicker:
    return TaskPicker(api, api.username("assistant"))


def test_a_replay_returns_the_first_response_marked_replayed(
    api: ApiHarness, fresh: TaskPicker
) -> None:
    client = client_as(api, api.username("assistant"))
    body = attempt_body(fresh(), "no-answer")
    first = post_attempt(client, body)
    assert first.status_code == 201 and "Idempotent-Replayed" not in first.headers
    again = post_attempt(client, body)
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert count(api, models.Attempt, models.Attempt.id == body["id"]) == 1


def test_the_same_key_with_another_body_is_422(api: ApiHarness, fresh: TaskPicker) -> None:
    client = client_as(api, api.username("assistant"))
    body = attempt_body(fresh(), "no-answer")
    assert post_attempt(client, body).status_code == 201
    reused = post_attempt(client, {**body, "notes": "something else"}, key=body["id"])
    assert reused.status_code == 422
    assert reused.json()["error"]["code"] == "idempotency-key-reused"
    # Same key on the other endpoint is a different request too.
    esc = post_escalation(client, escalation_body(body["task_id"]), key=body["id"])
    assert esc.status_code == 422
    assert esc.json()["error"]["code"] == "idempotency-key-reused"


def test_a_failed_request_stores_no_key(api: ApiHarness, fresh: TaskPicker) -> None:
    client = client_as(api, api.username("assistant"))
    body = attempt_body(fresh(), "callback-requested")  # requires a next step
    assert post_attempt(client, body).status_code == 422
    fixed = {**body, "outcome": "no-answer"}
    response = post_attempt(client, fixed)
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers


def test_escalations_replay_too(api: ApiHarness, fresh: TaskPicker) -> None:
    client = client_as(api, api.username("assistant"))
    body = escalation_body(fresh().id, "billing", "question about a bill")
    first = post_escalation(client, body)
    assert first.status_code == 201, first.text
    again = post_escalation(client, body)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert count(api, models.Escalation, models.Escalation.id == body["id"]) == 1


def test_keys_belong_to_their_user(api: ApiHarness) -> None:
    """Two people may pick the same key: each gets their own request, not the other's."""
    mine = TaskPicker(api, api.username("assistant"))()
    theirs = TaskPicker(api, "ava.lindqvist")()
    key = "shared-key-" + mine.id[:8]
    a = post_attempt(client_as(api, api.username("assistant")), attempt_body(mine), key=key)
    b = post_attempt(client_as(api, "ava.lindqvist"), attempt_body(theirs), key=key)
    assert a.status_code == b.status_code == 201
    assert a.json()["attempt"]["task_id"] == mine.id and b.json()["attempt"]["task_id"] == theirs.id


def test_fifty_concurrent_requests_with_one_key_make_exactly_one_attempt(
    api: ApiHarness, fresh: TaskPicker
) -> None:
    if api.kind == "inprocess":
        pytest.skip("concurrency is exercised over real sockets (uvicorn backends)")
    token = api.login(api.username("assistant"))
    body = attempt_body(fresh(), "no-answer")
    headers = {"Authorization": f"Bearer {token}", "Idempotency-Key": body["id"]}
    limits = httpx.Limits(max_connections=CONCURRENT, max_keepalive_connections=CONCURRENT)

    with httpx.Client(
        base_url=api.url, headers=headers, timeout=HTTP_TIMEOUT, limits=limits
    ) as client:

        def send(_: int) -> httpx.Response:
            return client.post("/v1/attempts", json=body)

        with ThreadPoolExecutor(max_workers=CONCURRENT) as pool:
            responses = list(pool.map(send, range(CONCURRENT)))

    statuses = [r.status_code for r in responses]
    assert set(statuses) <= {201, 409}, statuses
    created = [r for r in responses if r.status_code == 201]
    fresh_ones = [r for r in created if r.headers.get("Idempotent-Replayed") != "true"]
    assert len(fresh_ones) == 1
    assert all(r.json() == fresh_ones[0].json() for r in created)
    for r in responses:
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "request-in-progress"
    assert count(api, models.Attempt, models.Attempt.id == body["id"]) == 1
    if api.kind == "uvicorn":
        # SQLite serializes writers, so every later request waits and replays.
        assert statuses == [201] * CONCURRENT


def test_a_key_held_by_a_running_request_is_409_on_postgres(
    api: ApiHarness, fresh: TaskPicker
) -> None:
    if api.kind != "postgres":
        pytest.skip("only PostgreSQL can tell a running request apart (advisory locks)")
    me = api.username("assistant")
    body = attempt_body(fresh(), "no-answer")
    lock = idempotency.lock_id(user_id(api, me), body["id"])
    with api.session() as s:
        # Stand in for the first request: hold its lock in an open transaction.
        s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock})
        busy = post_attempt(client_as(api, me), body)
        assert busy.status_code == 409
        assert busy.json()["error"]["code"] == "request-in-progress"
        s.rollback()
    done = post_attempt(client_as(api, me), body)
    assert done.status_code == 201 and "Idempotent-Replayed" not in done.headers


def test_the_same_attempt_under_a_new_key_is_not_recorded_twice(
    api: ApiHarness, fresh: TaskPicker
) -> None:
    client = client_as(api, api.username("assistant"))
    body = attempt_body(fresh(), "no-answer")
    first = post_attempt(client, body)
    assert first.status_code == 201
    again = post_attempt(client, body, key="requeued-" + body["id"])
    assert again.status_code == 201
    assert again.json()["attempt"] == first.json()["attempt"]
    assert again.json()["task"]["version"] == first.json()["task"]["version"]
    assert count(api, models.Attempt, models.Attempt.id == body["id"]) == 1
