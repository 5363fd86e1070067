"""Every endpoint x every role (and no sign-in) → the expected status."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sqlalchemy import select

from central_api import models
from tests.api.conftest import ApiHarness
from tests.api.work_support import (
    TaskPicker,
    attempt_body,
    client_as,
    close_work_clients,  # noqa: F401 (autouse fixture)
    escalation_body,
    post_attempt,
    post_escalation,
    sync_all,
)

ROLES = ("assistant", "supervisor", "trainer", "admin", "manager", "anonymous")

# What each role gets on a task, escalation or feed of the first real practice, whose
# tasks the assistant owns. The trainer sees only the training practice: 404, not 403,
# so a trainer cannot even learn that the record exists. Admins read but do not work tasks.
# A manager sees the team and the practice records, never patient data: 403 there.
EXPECTED: dict[str, tuple[int, ...]] = {
    "GET /v1/me": (200, 200, 200, 200, 200, 401),
    "GET /v1/events": (200, 200, 200, 200, 200, 401),
    "PUT /v1/presence": (200, 200, 403, 403, 403, 401),
    "GET /v1/audit": (403, 200, 403, 200, 403, 401),
    "GET /v1/sync": (200, 200, 200, 200, 200, 401),
    "GET /v1/tasks/{id}": (200, 200, 404, 200, 403, 401),
    "POST /v1/tasks/{id}/claim": (200, 200, 404, 403, 403, 401),
    "POST /v1/tasks/{id}/release": (204, 204, 404, 403, 403, 401),
    "POST /v1/attempts": (201, 201, 404, 403, 403, 401),
    "POST /v1/escalations": (201, 201, 404, 403, 403, 401),
    "GET /v1/escalations": (200, 200, 200, 200, 403, 401),
    "POST /v1/escalations/{id}/acknowledge": (403, 200, 404, 200, 403, 401),
    "POST /v1/escalations/{id}/resolve": (403, 200, 404, 200, 403, 401),
    "POST /v1/triggers/missed-call (no practice key)": (401, 401, 401, 401, 401, 401),
    "GET /v1/fhir/Task": (403, 200, 403, 200, 403, 401),
    "GET /v1/fhir/Communication": (403, 200, 403, 200, 403, 401),
}
# The in-process client buffers a whole response, and a granted event stream never
# ends: there only its refusals are checked (tests/api/test_events.py opens real ones).
STREAMING = "GET /v1/events"


def _users(api: ApiHarness) -> dict[str, str]:
    return {
        "assistant": api.username("assistant"),
        "supervisor": api.username("supervisor"),
        "trainer": "trainer",
        "admin": "admin",
        "manager": "manager",
    }


def _open_stream(api: ApiHarness, client: httpx.Client) -> httpx.Response:
    """The status of `GET /v1/events`, closing a granted stream at once."""
    if api.kind == "inprocess" and "authorization" in client.headers:
        return httpx.Response(200, json={})  # see STREAMING (not called in-process)
    with client.stream("GET", "/v1/events") as response:
        if response.status_code >= 400:
            response.read()
        return response


def test_role_endpoint_matrix(api: ApiHarness) -> None:
    users = _users(api)
    assistant = users["assistant"]
    fresh = TaskPicker(api, assistant)
    shared = fresh()
    # One open escalation per role that may work it, raised by the assistant.
    escalations = {}
    for role in ROLES:
        response = post_escalation(
            client_as(api, assistant), escalation_body(fresh().id, "billing", "a bill")
        )
        assert response.status_code == 201
        escalations[role] = response.json()["id"]

    def clients() -> dict[str, httpx.Client]:
        out = {role: client_as(api, name) for role, name in users.items()}
        out["anonymous"] = api.client()
        return out

    calls: dict[str, Callable[[str, httpx.Client], httpx.Response]] = {
        "GET /v1/me": lambda _r, c: c.get("/v1/me"),
        STREAMING: lambda _r, c: _open_stream(api, c),
        "PUT /v1/presence": lambda _r, c: c.put("/v1/presence", json={"state": "available"}),
        "GET /v1/audit": lambda _r, c: c.get("/v1/audit", params={"limit": 1}),
        "GET /v1/sync": lambda _r, c: c.get("/v1/sync", params={"limit": 5}),
        "GET /v1/tasks/{id}": lambda _r, c: c.get(f"/v1/tasks/{shared.id}"),
        "POST /v1/tasks/{id}/claim": lambda _r, c: c.post(f"/v1/tasks/{shared.id}/claim"),
        "POST /v1/tasks/{id}/release": lambda _r, c: c.post(f"/v1/tasks/{shared.id}/release"),
        "POST /v1/attempts": lambda _r, c: post_attempt(c, attempt_body(fresh(), "no-answer")),
        "POST /v1/escalations": lambda _r, c: post_escalation(
            c, escalation_body(fresh().id, "billing", "a bill")
        ),
        "GET /v1/escalations": lambda _r, c: c.get("/v1/escalations", params={"status": "open"}),
        "POST /v1/escalations/{id}/acknowledge": lambda r, c: c.post(
            f"/v1/escalations/{escalations[r]}/acknowledge"
        ),
        "POST /v1/escalations/{id}/resolve": lambda r, c: c.post(
            f"/v1/escalations/{escalations[r]}/resolve", json={"resolution": "handled"}
        ),
        "GET /v1/fhir/Task": lambda _r, c: c.get("/v1/fhir/Task", params={"_count": 1}),
        "GET /v1/fhir/Communication": lambda _r, c: c.get(
            "/v1/fhir/Communication", params={"_count": 1}
        ),
        "POST /v1/triggers/missed-call (no practice key)": lambda _r, c: c.post(
            "/v1/triggers/missed-call",
            json={"caller_phone": "+19995550123", "called_at": "2026-11-27T15:00:00Z"},
        ),
    }
    by_role = clients()
    seen: dict[str, list[int]] = {endpoint: [] for endpoint in calls}
    try:
        # Role by role, so each one claims and then releases the same task.
        for role in ROLES:
            for endpoint, call in calls.items():
                response = call(role, by_role[role])
                seen[endpoint].append(response.status_code)
                if response.status_code >= 400:
                    assert set(response.json()) == {"error"}, (endpoint, role)
                    assert response.json()["error"]["code"], (endpoint, role)
    finally:
        by_role["anonymous"].close()
    actual = {endpoint: tuple(statuses) for endpoint, statuses in seen.items()}
    assert actual == EXPECTED


def test_refused_calls_write_nothing(api: ApiHarness) -> None:
    """403 and 401 answers leave no attempt, escalation or task change behind."""
    task = TaskPicker(api, api.username("assistant"))()
    body = attempt_body(task)
    esc = escalation_body(task.id, "billing", "a bill")
    with api.client() as anonymous:
        assert post_attempt(anonymous, body).status_code == 401
        assert post_escalation(anonymous, esc).status_code == 401
    admin = client_as(api, "admin")
    assert post_attempt(admin, body).status_code == 403
    assert post_escalation(admin, esc).status_code == 403
    with api.session() as s:
        assert s.get(models.Attempt, body["id"]) is None
        assert s.get(models.Escalation, esc["id"]) is None
        row = s.get(models.Task, task.id)
        assert row is not None and row.version == task.version


def test_trainers_work_the_training_practice(api: ApiHarness) -> None:
    training = api.practice(2)["id"]
    with api.session() as s:
        task = s.scalars(
            select(models.Task)
            .where(models.Task.practice_id == training, models.Task.status == "ready")
            .order_by(models.Task.id)
            .limit(1)
        ).one()
    trainer = client_as(api, "trainer")
    assert trainer.get(f"/v1/tasks/{task.id}").status_code == 200
    raised = post_escalation(trainer, escalation_body(task.id, "complaint", "practice run"))
    assert raised.status_code == 201
    acked = trainer.post(f"/v1/escalations/{raised.json()['id']}/acknowledge")
    assert acked.status_code == 200 and acked.json()["status"] == "acknowledged"
    # A supervisor of the real practices does not see the training practice.
    assert client_as(api, "supervisor").get(f"/v1/tasks/{task.id}").status_code == 404


def test_a_manager_syncs_the_practice_records_only(api: ApiHarness) -> None:
    """No patient, task, attempt, escalation or script: only their practices' records."""
    changes, _cursor = sync_all(client_as(api, "manager"))
    kinds = {change["kind"] for change in changes}
    assert kinds == {"practice"}
    practice_ids = {change["id"] for change in changes}
    assert practice_ids == set(api.user("manager")["practice_ids"])
