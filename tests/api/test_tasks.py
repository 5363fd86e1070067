"""A task with its attempts; leases that keep two people off one patient."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from central_api import models
from tests.api.conftest import ApiHarness
from tests.api.work_support import (
    audit_count,
    client_as,
    close_work_clients,  # noqa: F401 (autouse fixture)
    open_tasks,
    user_id,
)


def _task_with_attempts(api: ApiHarness, username: str) -> models.Task:
    with api.session() as s:
        task = s.scalars(
            select(models.Task)
            .where(models.Task.owner_id == user_id(api, username), models.Task.attempts > 0)
            .order_by(models.Task.id)
            .limit(1)
        ).one()
        return task


def test_get_task_returns_it_with_its_attempts_and_audits_the_read(api: ApiHarness) -> None:
    me = api.username("assistant")
    task = _task_with_attempts(api, me)
    before = audit_count(api, "task.read", f"task:{task.id}")
    response = client_as(api, me).get(f"/v1/tasks/{task.id}")
    assert response.status_code == 200
    body = response.json()
    assert body["task"]["id"] == task.id and body["task"]["version"] == task.version
    with api.session() as s:
        expected = set(
            s.scalars(select(models.Attempt.id).where(models.Attempt.task_id == task.id))
        )
    assert {a["id"] for a in body["attempts"]} == expected and expected
    assert audit_count(api, "task.read", f"task:{task.id}") == before + 1


def test_someone_elses_task_is_404_and_the_denied_read_is_audited(api: ApiHarness) -> None:
    other = open_tasks(api, "ava.lindqvist")[0]
    client = client_as(api, api.username("assistant"))
    before = audit_count(api, "denied-read", f"task:{other.id}")
    for path in (f"/v1/tasks/{other.id}",):
        response = client.get(path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not-found"
    assert client.post(f"/v1/tasks/{other.id}/claim").status_code == 404
    assert audit_count(api, "denied-read", f"task:{other.id}") == before + 2
    missing = client.get("/v1/tasks/no-such-task")
    assert missing.status_code == 404
    assert missing.json() == {"error": {"code": "not-found", "message": "no such task"}}


def test_lease_is_exclusive_renewable_and_releasable(api: ApiHarness) -> None:
    me = api.username("assistant")
    task = open_tasks(api, me)[0]
    mine, boss = client_as(api, me), client_as(api, "supervisor")

    first = mine.post(f"/v1/tasks/{task.id}/claim")
    assert first.status_code == 200, first.text
    lease = first.json()
    assert lease["holder_id"] == user_id(api, me)
    expires = datetime.fromisoformat(lease["expires_at"])
    assert timedelta(minutes=14) < expires - datetime.now(UTC) <= timedelta(minutes=15)

    renewed = mine.post(f"/v1/tasks/{task.id}/claim")
    assert renewed.status_code == 200
    until = datetime.fromisoformat(renewed.json()["expires_at"])
    assert until >= expires

    held = boss.post(f"/v1/tasks/{task.id}/claim")
    assert held.status_code == 409
    assert held.json()["error"]["code"] == "lease-held"
    # Whoever opens a held task is told who holds it (a staff name, not PHI) and until when.
    with api.session() as s:
        holder = s.get(models.User, lease["holder_id"])
        assert holder is not None
        name = holder.display_name
    assert held.json()["error"]["message"] == (
        f"{name} is working this task (lease until {until:%H:%M} UTC)"
    )
    assert boss.post(f"/v1/tasks/{task.id}/release").status_code == 409

    assert mine.post(f"/v1/tasks/{task.id}/release").status_code == 204
    taken = boss.post(f"/v1/tasks/{task.id}/claim")
    assert taken.status_code == 200
    assert taken.json()["holder_id"] == user_id(api, "supervisor")
    assert mine.post(f"/v1/tasks/{task.id}/claim").status_code == 409


def test_an_expired_lease_can_be_taken_over(api: ApiHarness) -> None:
    me = api.username("assistant")
    task = open_tasks(api, me)[1]
    with api.session() as s:
        row = s.get(models.Task, task.id)
        assert row is not None
        row.lease_holder_id = user_id(api, "supervisor")
        row.lease_expires_at = datetime.now(UTC) - timedelta(seconds=1)
        s.commit()
    response = client_as(api, me).post(f"/v1/tasks/{task.id}/claim")
    assert response.status_code == 200
    assert response.json()["holder_id"] == user_id(api, me)
