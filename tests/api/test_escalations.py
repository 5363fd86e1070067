"""Escalations: raised to the practice's named contact, worked in the inbox."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from central_api import models
from tests.api.conftest import ApiHarness
from tests.api.work_support import (
    TaskPicker,
    client_as,
    close_work_clients,  # noqa: F401 (autouse fixture)
    escalation_body,
    post_escalation,
    user_id,
)


@pytest.fixture(scope="module")
def fresh(api: ApiHarness) -> TaskPicker:
    return TaskPicker(api, api.username("assistant"))


def _practice_contact(api: ApiHarness, practice_id: str, route: str) -> dict[str, object]:
    with api.session() as s:
        practice = s.get(models.Practice, practice_id)
        assert practice is not None
        return next(c for c in practice.config["escalation_contacts"] if c["route"] == route)


def test_an_escalation_goes_to_the_named_contact_and_holds_the_task(
    api: ApiHarness, fresh: TaskPicker
) -> None:
    task = fresh()
    client = client_as(api, api.username("assistant"))
    response = post_escalation(client, escalation_body(task.id, "clinical", "asks about a dose"))
    assert response.status_code == 201, response.text
    esc = response.json()
    expected = _practice_contact(api, task.practice_id, "clinical")
    assert esc["contact"] == expected
    assert esc["status"] == "open" and esc["task_id"] == task.id
    assert esc["patient_id"] == task.patient_id
    assert esc["raised_by"] == user_id(api, api.username("assistant"))
    raised = datetime.fromisoformat(esc["raised_at"])
    due = datetime.fromisoformat(esc["ack_due_at"])
    assert due - raised == timedelta(minutes=int(str(expected["ack_target_minutes"])))
    with api.session() as s:
        stored = s.get(models.Task, task.id)
        assert stored is not None
        assert stored.status == "on-hold" and stored.version == task.version + 1


def test_routes_that_need_a_reason_refuse_an_empty_one(api: ApiHarness, fresh: TaskPicker) -> None:
    task = fresh()
    client = client_as(api, api.username("assistant"))
    response = post_escalation(client, escalation_body(task.id, "clinical", "  "))
    assert response.status_code == 422
    assert "needs a reason" in response.json()["error"]["message"]
    with api.session() as s:
        stored = s.get(models.Task, task.id)
        assert stored is not None and stored.version == task.version


def test_the_inbox_shows_each_role_its_own(api: ApiHarness, fresh: TaskPicker) -> None:
    me = api.username("assistant")
    task = fresh()
    raised = post_escalation(client_as(api, me), escalation_body(task.id, "billing", "a bill"))
    assert raised.status_code == 201
    esc_id = raised.json()["id"]

    def inbox(username: str, status: str | None = "open") -> list[dict[str, object]]:
        params = {"status": status} if status else {}
        response = client_as(api, username).get("/v1/escalations", params=params)
        assert response.status_code == 200, response.text
        rows: list[dict[str, object]] = response.json()
        return rows

    mine = inbox(me)
    assert esc_id in {e["id"] for e in mine}
    with api.session() as s:
        owned = set(
            s.scalars(select(models.Task.id).where(models.Task.owner_id == user_id(api, me))).all()
        )
    assert all(e["task_id"] in owned or e["raised_by"] == user_id(api, me) for e in mine)
    assert all(e["status"] == "open" for e in mine)

    hudson = api.practice(0)["id"]
    assert esc_id in {e["id"] for e in inbox("supervisor")}
    assert esc_id not in {e["id"] for e in inbox("supervisor.fr")}
    assert all(e["practice_id"] != hudson for e in inbox("supervisor.fr"))
    assert esc_id not in {e["id"] for e in inbox("ava.lindqvist")}
    assert client_as(api, me).get("/v1/escalations", params={"status": "bogus"}).status_code == 422
    everything = client_as(api, me).get("/v1/escalations", params={"status": ""})
    assert everything.status_code == 200 and len(everything.json()) >= len(mine)


def test_supervisors_acknowledge_and_resolve(api: ApiHarness, fresh: TaskPicker) -> None:
    me = api.username("assistant")
    task = fresh()
    esc = post_escalation(client_as(api, me), escalation_body(task.id, "complaint", "long hold"))
    esc_id = esc.json()["id"]
    boss = client_as(api, "supervisor")

    assert client_as(api, me).post(f"/v1/escalations/{esc_id}/acknowledge").status_code == 403
    assert (
        client_as(api, "supervisor.fr").post(f"/v1/escalations/{esc_id}/acknowledge").status_code
        == 404
    )

    acked = boss.post(f"/v1/escalations/{esc_id}/acknowledge")
    assert acked.status_code == 200
    assert acked.json()["status"] == "acknowledged"
    assert acked.json()["acknowledged_by"] == user_id(api, "supervisor")
    again = boss.post(f"/v1/escalations/{esc_id}/acknowledge")
    assert again.json()["acknowledged_at"] == acked.json()["acknowledged_at"]

    assert boss.post(f"/v1/escalations/{esc_id}/resolve", json={}).status_code == 422
    resolved = boss.post(f"/v1/escalations/{esc_id}/resolve", json={"resolution": "called back"})
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolution"] == "called back"
    open_ids = {e["id"] for e in boss.get("/v1/escalations", params={"status": "open"}).json()}
    assert esc_id not in open_ids
    done = {e["id"] for e in boss.get("/v1/escalations", params={"status": "resolved"}).json()}
    assert esc_id in done
    assert boss.post("/v1/escalations/nope/acknowledge").status_code == 404
