"""The team and queue boards, reassignment, forced state, the paged inbox, settings (issue 8)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from central_api import models
from tests.api.conftest import ApiHarness
from tests.api.work_support import (
    TaskPicker,
    attempt_body,
    audit_count,
    client_as,
    close_work_clients,  # noqa: F401 (autouse fixture)
    escalation_body,
    latest,
    post_attempt,
    post_escalation,
    sync_all,
    user_id,
)

HUDSON = ("demo", "ava.lindqvist", "ben.okafor", "cora.vasquez")
FRONTRANGE = ("dev.nakamura", "eli.marchetti", "faye.osei", "gus.pemberton")


def board(api: ApiHarness, username: str, **params: str) -> dict[str, Any]:
    response = client_as(api, username).get("/v1/team", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def member(body: dict[str, Any], api: ApiHarness, username: str) -> dict[str, Any]:
    uid = user_id(api, username)
    row: dict[str, Any] = next(m for m in body["members"] if m["user_id"] == uid)
    return row


def test_the_board_lists_the_assistants_of_your_practices(api: ApiHarness) -> None:
    sam = {m["username"] for m in board(api, "supervisor")["members"]}
    assert sam == set(HUDSON + FRONTRANGE)  # no trainees, no supervisors
    sky = {m["username"] for m in board(api, "supervisor.fr")["members"]}
    assert sky == set(FRONTRANGE)
    only = board(api, "supervisor", practice_id=api.practice(1)["id"])
    assert {m["username"] for m in only["members"]} == set(FRONTRANGE)
    trainer = {m["username"] for m in board(api, "trainer")["members"]}
    assert trainer == {"trainee", "trainee2"}
    outside = client_as(api, "supervisor.fr").get(
        "/v1/team", params={"practice_id": api.practice(0)["id"]}
    )
    assert outside.status_code == 404
    assert client_as(api, "demo").get("/v1/team").status_code == 403
    assert client_as(api, "demo").get("/v1/team/queues").status_code == 403


def test_a_row_shows_state_queue_work_and_session(api: ApiHarness) -> None:
    username = "ben.okafor"
    me = client_as(api, username)
    assert me.put("/v1/presence", json={"state": "available"}).status_code == 200
    task = TaskPicker(api, username)()
    assert post_attempt(me, attempt_body(task)).status_code == 201
    second = TaskPicker(api, username)()
    assert post_escalation(me, escalation_body(second.id, "billing", "a bill")).status_code == 201
    opened = TaskPicker(api, username)()
    assert (
        me.post(
            "/v1/sessions/me/events",
            json={"events": [{"type": "task-opened", "task_id": opened.id}]},
        ).status_code
        == 200
    )
    assert me.post("/v1/whispers/none/acknowledge").status_code == 404  # (an unknown whisper: 404)
    client_as(api, "supervisor").post(
        "/v1/whispers", json={"to_user_id": user_id(api, username), "text": "nice call"}
    )

    row = member(board(api, "supervisor"), api, username)
    assert row["online"] is True and row["session"] == "active"
    assert row["state"] == "available" and row["level"] == 0
    assert row["attempts_today"] >= 1 and row["handled_today"] >= 1
    assert row["open_escalations"] >= 1
    assert row["unread_whispers"] == 1
    assert row["current_task"]["task_id"] == opened.id
    assert row["current_task"]["workflow"] == opened.workflow
    uid = user_id(api, username)
    now = datetime.now(UTC)
    with api.session() as s:
        open_tasks = s.scalar(
            select(func.count())
            .select_from(models.Task)
            .where(
                models.Task.owner_id == uid,
                models.Task.status.not_in(["completed", "failed", "cancelled", "entered-in-error"]),
            )
        )
        overdue = s.scalar(
            select(func.count())
            .select_from(models.Task)
            .where(
                models.Task.owner_id == uid,
                models.Task.status.not_in(["completed", "failed", "cancelled", "entered-in-error"]),
                models.Task.due_at < now,
            )
        )
    assert row["queue_size"] == open_tasks
    assert row["sla_breaches"] == overdue

    never = member(board(api, "supervisor"), api, "cora.vasquez")
    assert never["online"] is False and never["state"] == "offline"
    assert never["session"] == "offline" and never["last_seen"] is None


def test_time_in_state_steps_through_the_thresholds(api: ApiHarness) -> None:
    username = "faye.osei"
    me = client_as(api, username)
    assert me.put("/v1/presence", json={"state": "break"}).status_code == 200
    practice = api.practice(1)["id"]
    admin = client_as(api, "admin")
    defaults = admin.get(f"/v1/practices/{practice}/supervision").json()
    assert defaults["thresholds"]["available"] == [30, 60, 300]
    assert defaults["thresholds"]["break"] == [10, 60, 300, 600, 900]
    uid = user_id(api, username)
    with api.session() as s:
        s.execute(
            update(models.Presence)
            .where(models.Presence.user_id == uid)
            .values(since=datetime.now(UTC) - timedelta(seconds=400))
        )
        s.commit()
    row = member(board(api, "supervisor.fr"), api, username)
    assert row["state"] == "break" and row["seconds_in_state"] >= 400 and row["level"] == 3
    custom = admin.put(
        f"/v1/practices/{practice}/supervision",
        json={"tell_observed": True, "thresholds": {"break": [100, 200, 300, 400, 500]}},
    )
    assert custom.status_code == 200, custom.text
    assert custom.json()["thresholds"]["available"] == [30, 60, 300]  # defaults kept
    assert member(board(api, "supervisor.fr"), api, username)["level"] == 4
    assert audit_count(api, "practice.supervision", f"practice:{practice}") >= 1
    admin.put(f"/v1/practices/{practice}/supervision", json={})


@pytest.mark.parametrize(
    "body",
    [
        {"thresholds": {"break": [60, 30]}},
        {"thresholds": {"asleep": [1]}},
        {"thresholds": {"break": [0]}},
        {"tell_observed": "yes"},
        {"told": True},
    ],
)
def test_bad_settings_are_refused(api: ApiHarness, body: dict[str, Any]) -> None:
    response = client_as(api, "admin").put(
        f"/v1/practices/{api.practice(0)['id']}/supervision", json=body
    )
    assert response.status_code == 422, response.text


def test_only_admins_change_settings(api: ApiHarness) -> None:
    url = f"/v1/practices/{api.practice(0)['id']}/supervision"
    assert client_as(api, "supervisor").put(url, json={}).status_code == 403
    assert client_as(api, "supervisor").get(url).status_code == 200
    assert client_as(api, "supervisor.fr").get(url).status_code == 404
    assert client_as(api, "demo").get(url).status_code == 403


def test_the_queue_board_counts_open_work(api: ApiHarness) -> None:
    practice = api.practice(0)["id"]
    response = client_as(api, "supervisor").get("/v1/team/queues", params={"practice_id": practice})
    assert response.status_code == 200, response.text
    rows = response.json()["rows"]
    assert rows and {r["practice_id"] for r in rows} == {practice}
    now = datetime.now(UTC)
    terminal = ["completed", "failed", "cancelled", "entered-in-error"]
    with api.session() as s:
        for row in rows:
            where = [
                models.Task.practice_id == practice,
                models.Task.workflow == row["workflow"],
                models.Task.status.not_in(terminal),
            ]
            count = s.scalar(select(func.count()).select_from(models.Task).where(*where))
            unassigned = s.scalar(
                select(func.count())
                .select_from(models.Task)
                .where(*where, models.Task.owner_id.is_(None))
            )
            overdue = s.scalar(
                select(func.count())
                .select_from(models.Task)
                .where(*where, models.Task.due_at < now)
            )
            oldest = s.scalar(select(func.min(models.Task.due_at)).where(*where))
            assert row["open"] == count and row["unassigned"] == unassigned
            assert row["overdue"] == overdue
            assert row["due_today"] <= row["open"]
            assert datetime.fromisoformat(row["oldest_due_at"]) == oldest


def test_reassignment_moves_tasks_between_queues(api: ApiHarness) -> None:
    old, new = "demo", "ava.lindqvist"
    picker = TaskPicker(api, old)
    tasks = [picker(), picker()]
    _, old_cursor = sync_all(client_as(api, old))
    _, new_cursor = sync_all(client_as(api, new))
    before = audit_count(api, "task.reassign")
    response = client_as(api, "supervisor").post(
        "/v1/team/reassign",
        json={"task_ids": [t.id for t in tasks], "to_user_id": user_id(api, new)},
    )
    assert response.status_code == 200, response.text
    moved = response.json()
    assert [t["owner_id"] for t in moved] == [user_id(api, new)] * 2
    assert [t["version"] for t in moved] == [t.version + 1 for t in tasks]
    assert audit_count(api, "task.reassign") == before + 2
    gone = latest(sync_all(client_as(api, old), after=old_cursor)[0])
    arrived = latest(sync_all(client_as(api, new), after=new_cursor)[0])
    for task in tasks:
        assert gone[("task", task.id)]["op"] == "remove"
        assert arrived[("task", task.id)]["op"] == "upsert"
    # An attempt the old owner made offline still lands, flagged for review.
    late = post_attempt(client_as(api, old), attempt_body(tasks[0]))
    assert late.status_code == 201, late.text
    assert late.json()["conflict"] is True


def test_reassignment_is_all_or_nothing(api: ApiHarness) -> None:
    picker = TaskPicker(api, "demo")
    good, other = picker(), picker()
    supervisor = client_as(api, "supervisor")
    # To an assistant of another practice: 422, and neither task moved.
    wrong = supervisor.post(
        "/v1/team/reassign",
        json={"task_ids": [good.id, other.id], "to_user_id": user_id(api, "dev.nakamura")},
    )
    assert wrong.status_code == 422, wrong.text
    # One unknown id among good ones: 404, nothing moved.
    unknown = supervisor.post(
        "/v1/team/reassign",
        json={"task_ids": [good.id, "no-such-task"], "to_user_id": user_id(api, "ben.okafor")},
    )
    assert unknown.status_code == 404
    # To a supervisor: 422.
    to_sup = supervisor.post(
        "/v1/team/reassign", json={"task_ids": [good.id], "to_user_id": user_id(api, "supervisor")}
    )
    assert to_sup.status_code == 422
    with api.session() as s:
        for task in (good, other):
            stored = s.get(models.Task, task.id)
            assert stored is not None
            assert stored.owner_id == task.owner_id and stored.version == task.version
    # Assistants may not reassign; another practice's supervisor sees no such task.
    body = {"task_ids": [good.id], "to_user_id": user_id(api, "ben.okafor")}
    assert client_as(api, "demo").post("/v1/team/reassign", json=body).status_code == 403
    assert client_as(api, "supervisor.fr").post("/v1/team/reassign", json=body).status_code == 404
    too_many = {"task_ids": [good.id] * 201, "to_user_id": user_id(api, "ben.okafor")}
    assert supervisor.post("/v1/team/reassign", json=too_many).status_code == 422


def test_a_finished_task_is_not_reassigned(api: ApiHarness) -> None:
    task = TaskPicker(api, "demo")()
    with api.session() as s:
        s.execute(update(models.Task).where(models.Task.id == task.id).values(status="completed"))
        s.commit()
    response = client_as(api, "supervisor").post(
        "/v1/team/reassign", json={"task_ids": [task.id], "to_user_id": user_id(api, "ben.okafor")}
    )
    assert response.status_code == 409 and response.json()["error"]["code"] == "task-finished"


def test_forcing_a_state_is_refused_while_documenting_a_call(api: ApiHarness) -> None:
    username = "eli.marchetti"
    uid = user_id(api, username)
    me = client_as(api, username)
    sky = client_as(api, "supervisor.fr")
    task = TaskPicker(api, username)()
    assert me.put("/v1/presence", json={"state": "on-call"}).status_code == 200
    assert (
        me.post(
            "/v1/sessions/me/events", json={"events": [{"type": "task-opened", "task_id": task.id}]}
        ).status_code
        == 200
    )
    before = audit_count(api, "presence.force", f"user:{uid}")
    refused = sky.put(f"/v1/team/{uid}/state", json={"state": "break"})
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "documenting-call"
    assert audit_count(api, "presence.force", f"user:{uid}") == before
    # Saved: no task open any more, so a stuck wrap-up may be moved.
    assert me.put("/v1/presence", json={"state": "wrap-up"}).status_code == 200
    assert (
        me.post(
            "/v1/sessions/me/events",
            json={"events": [{"type": "saved", "task_id": task.id, "outcome": "no-answer"}]},
        ).status_code
        == 200
    )
    forced = sky.put(f"/v1/team/{uid}/state", json={"state": "available"})
    assert forced.status_code == 200, forced.text
    assert forced.json()["state"] == "available"
    assert audit_count(api, "presence.force", f"user:{uid}") == before + 1
    assert member(board(api, "supervisor.fr"), api, username)["state"] == "available"
    # Roles and scope.
    assert (
        client_as(api, "demo").put(f"/v1/team/{uid}/state", json={"state": "break"}).status_code
        == 403
    )
    outside = client_as(api, "supervisor.fr").put(
        f"/v1/team/{user_id(api, 'demo')}/state", json={"state": "break"}
    )
    assert outside.status_code == 404
    assert sky.put(f"/v1/team/{uid}/state", json={"state": "asleep"}).status_code == 422


def test_the_inbox_pages_filters_and_flags_overdue(api: ApiHarness) -> None:
    assistant = "cora.vasquez"
    picker = TaskPicker(api, assistant)
    me = client_as(api, assistant)
    raised = []
    for route in ("billing", "billing", "complaint"):
        response = post_escalation(me, escalation_body(picker().id, route, "a reason"))
        assert response.status_code == 201
        raised.append(response.json())
    overdue_id = raised[0]["id"]
    with api.session() as s:
        s.execute(
            update(models.Escalation)
            .where(models.Escalation.id == overdue_id)
            .values(
                raised_at=datetime.now(UTC) - timedelta(hours=3),
                ack_due_at=datetime.now(UTC) - timedelta(hours=1),
            )
        )
        s.commit()
    supervisor = client_as(api, "supervisor")
    practice = api.practice(0)["id"]

    seen: list[str] = []
    cursor = None
    for _ in range(100):
        params: dict[str, Any] = {"limit": 1, "practice_id": practice}
        if cursor:
            params["cursor"] = cursor
        page = supervisor.get("/v1/team/escalations", params=params)
        assert page.status_code == 200, page.text
        body = page.json()
        seen += [i["id"] for i in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen))  # no repeats across pages
    with api.session() as s:
        active = set(
            s.scalars(
                select(models.Escalation.id).where(
                    models.Escalation.practice_id == practice,
                    models.Escalation.status != "resolved",
                )
            )
        )
    assert set(seen) == active
    assert {e["id"] for e in raised} <= set(seen)

    overdue = supervisor.get("/v1/team/escalations", params={"overdue": "true"}).json()["items"]
    assert overdue_id in {i["id"] for i in overdue} and all(i["overdue"] for i in overdue)
    old = supervisor.get("/v1/team/escalations", params={"min_age_minutes": 120}).json()["items"]
    assert overdue_id in {i["id"] for i in old} and all(i["age_minutes"] >= 120 for i in old)
    complaints = supervisor.get("/v1/team/escalations", params={"route": "complaint"}).json()
    assert {i["route"] for i in complaints["items"]} == {"complaint"}

    # Acknowledge and resolve with a note (the existing endpoints); the filters follow.
    assert supervisor.post(f"/v1/escalations/{overdue_id}/acknowledge").status_code == 200
    acked = supervisor.get("/v1/team/escalations", params={"status": "acknowledged"}).json()
    assert overdue_id in {i["id"] for i in acked["items"]}
    resolved = supervisor.post(
        f"/v1/escalations/{overdue_id}/resolve", json={"resolution": "called the patient back"}
    )
    assert resolved.status_code == 200
    active_now = supervisor.get("/v1/team/escalations").json()["items"]
    assert overdue_id not in {i["id"] for i in active_now}

    # A tampered or foreign cursor: 400; outside your practices: 404; assistants: 403.
    bad = supervisor.get("/v1/team/escalations", params={"cursor": "AAAA" + "x" * 20})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad-cursor"
    foreign = client_as(api, "supervisor.fr").get(
        "/v1/team/escalations", params={"practice_id": practice}
    )
    assert foreign.status_code == 404
    assert me.get("/v1/team/escalations").status_code == 403
