"""Helpers for the work-endpoint tests (sync, tasks, attempts, escalations, triggers).

Logging in costs one argon2 verification, so clients are cached per harness and
username; rows to work on are picked straight from the database.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from central_api import models
from followup_core.enums import WorkflowId
from followup_core.workflows import WORKFLOWS
from tests.api.conftest import ApiHarness


def client_as(api: ApiHarness, username: str) -> httpx.Client:
    """An authorized client for `username`, reused for the life of the module's harness."""
    clients: dict[str, httpx.Client] = api.__dict__.setdefault("_work_clients", {})
    if username not in clients:
        clients[username] = api.as_user(username)
    return clients[username]


@pytest.fixture(autouse=True, scope="module")
def close_work_clients(api: ApiHarness) -> Iterator[None]:
    """Close the cached clients, so a uvicorn backend is not kept waiting on idle keep-alives."""
    yield
    for client in api.__dict__.pop("_work_clients", {}).values():
        client.close()


def user_id(api: ApiHarness, username: str) -> str:
    return str(api.user(username)["id"])


def open_tasks(
    api: ApiHarness,
    username: str,
    *,
    workflow: WorkflowId | None = WorkflowId.APPOINTMENT_CONFIRMATION,
    with_patient: bool = True,
) -> list[models.Task]:
    """Open tasks owned by `username` with no attempts or escalations yet (fresh to work)."""
    with api.session() as s:
        stmt = select(models.Task).where(
            models.Task.owner_id == user_id(api, username),
            models.Task.status.in_(["ready", "requested"]),
            models.Task.attempts == 0,
            models.Task.id.not_in(select(models.Escalation.task_id)),
        )
        if workflow is not None:
            stmt = stmt.where(models.Task.workflow == str(workflow))
        else:
            by_phone = [str(w) for w, flow in WORKFLOWS.items() if flow.by_phone]
            stmt = stmt.where(models.Task.workflow.in_(by_phone))
        if with_patient:
            stmt = stmt.where(models.Task.patient_id.is_not(None))
        tasks = list(s.scalars(stmt.order_by(models.Task.id)).all())
        # Some synthetic patients refuse phone contact; the tests call by phone.
        phone_ok = {
            p.id
            for p in s.scalars(
                select(models.Patient).where(
                    models.Patient.id.in_([t.patient_id for t in tasks if t.patient_id])
                )
            )
            if (p.consent or {}).get("phone") and (p.consent or {}).get("voicemail")
        }
        return [t for t in tasks if t.patient_id is None or t.patient_id in phone_ok]


class TaskPicker:
    """Hands out distinct fresh tasks of one owner, so tests in a module never collide."""

    def __init__(self, api: ApiHarness, username: str, workflow: WorkflowId | None = None) -> None:
        self._tasks = open_tasks(api, username, workflow=workflow)

    def __call__(self) -> models.Task:
        assert self._tasks, "the seed ran out of fresh tasks for this test module"
        return self._tasks.pop()


def attempt_body(task: models.Task, outcome: str = "no-answer", **changes: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "task_id": task.id,
        "task_version": task.version,
        "channel": "phone",
        "outcome": outcome,
        "started_at": (now - timedelta(minutes=2)).isoformat(),
        "ended_at": now.isoformat(),
        "identity_verified": False,
        "next_step": None,
        "notes": "",
        "script_id": task.script_id,
        "script_version": 1,
        "escalation": None,
    }
    body.update(changes)
    return body


def post_attempt(
    client: httpx.Client, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return client.post("/v1/attempts", json=body, headers={"Idempotency-Key": key or body["id"]})


def escalation_body(
    task_id: str, route: str = "billing", reason: str = "billing question"
) -> dict[str, Any]:
    return {"id": str(uuid.uuid4()), "task_id": task_id, "route": route, "reason": reason}


def post_escalation(
    client: httpx.Client, body: dict[str, Any], key: str | None = None
) -> httpx.Response:
    return client.post("/v1/escalations", json=body, headers={"Idempotency-Key": key or body["id"]})


def count(api: ApiHarness, model: type[models.Base], *where: Any) -> int:
    with api.session() as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def audit_count(api: ApiHarness, action: str, resource: str | None = None) -> int:
    conditions = [models.AuditEntry.action == action]
    if resource is not None:
        conditions.append(models.AuditEntry.resource == resource)
    return count(api, models.AuditEntry, *conditions)


def sync_all(
    client: httpx.Client, *, after: str | None = None, limit: int = 1000
) -> tuple[list[dict[str, Any]], str]:
    """Every change after `after`, page by page; returns (changes, final cursor)."""
    changes: list[dict[str, Any]] = []
    cursor = after
    for _ in range(1000):
        params: dict[str, Any] = {"limit": limit}
        if cursor:
            params["after"] = cursor
        response = client.get("/v1/sync", params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        changes.extend(page["changes"])
        cursor = page["cursor"]
        if not page["has_more"]:
            return changes, cursor
    raise AssertionError("the feed never ended")


def latest(changes: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Apply changes in order: the final state per (kind, id), removes included."""
    state: dict[tuple[str, str], dict[str, Any]] = {}
    for change in changes:
        state[(change["kind"], change["id"])] = change
    return state
