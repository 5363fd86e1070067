"""Attempts are facts: validated against the workflow, never refused for staleness."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from central_api import models
from central_api.assignment import reassign
from followup_core.enums import WorkflowId
from followup_core.schemas import AttemptCreated
from followup_core.workflows import WORKFLOWS
from tests.api.conftest import ApiHarness
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


@pytest.fixture(scope="module")
def fresh(api: ApiHarness) -> TaskPicker:
    # Any workflow worked by phone: they all share no-answer, left-voicemail, wrong-number.
    return TaskPicker(api, api.username("assistant"))


def _changes_for(api: ApiHarness, kind: str, record_id: str) -> int:
    return count(
        api,
        models.ChangeLog,
        models.ChangeLog.kind == kind,
        models.ChangeLog.record_id == record_id,
    )


def test_no_answer_moves_the_task_through_the_workflow(api: ApiHarness, fresh: TaskPicker) -> None:
    task = fresh()
    client = client_as(api, api.username("assistant"))
    task_rows_before = _changes_for(api, "task", task.id)
    response = post_attempt(client, attempt_body(task, "no-answer"))
    assert response.status_code == 201, response.text
    created = AttemptCreated.model_validate(response.json())
    assert created.conflict is False and created.attempt.conflict is False
    assert created.task.version == task.version + 1
    assert created.task.attempts == task.attempts + 1
    assert created.task.status == "ready" and created.task.business_status == "no-answer"
    assert created.task.next_attempt_at is not None
    assert created.task.next_attempt_at > datetime.now(UTC) + timedelta(hours=3)
    with api.session() as s:
        stored = s.get(models.Task, task.id)
        assert stored is not None and stored.version == created.task.version
        assert s.get(models.Attempt, str(created.attempt.id)) is not None
    assert _changes_for(api, "task", task.id) == task_rows_before + 1
    assert _changes_for(api, "attempt", str(created.attempt.id)) == 1


def test_a_stale_attempt_is_stored_and_flagged_for_review(
    api: ApiHarness, fresh: TaskPicker
) -> None:
    task = fresh()
    client = client_as(api, api.username("assistant"))
    assert post_attempt(client, attempt_body(task, "no-answer")).status_code == 201
    # Same task_version as the first: the client had not seen the first attempt.
    late = post_attempt(client, attempt_body(task, "left-voicemail"))
    assert late.status_code == 201, late.text
    body = late.json()
    assert body["conflict"] is True and body["attempt"]["conflict"] is True
    assert body["task"]["needs_review"] is True
    assert body["task"]["attempts"] == task.attempts + 2


def test_an_attempt_on_a_finished_task_is_still_a_fact(api: ApiHarness, fresh: TaskPicker) -> None:
    task = fresh()
    client = client_as(api, api.username("assistant"))
    done = post_attempt(client, attempt_body(task, "wrong-number", notes="number not in service"))
    assert done.status_code == 201 and done.json()["task"]["status"] == "failed"
    after = post_attempt(
        client, attempt_body(task, "no-answer", task_version=done.json()["task"]["version"])
    )
    assert after.status_code == 201
    assert after.json()["task"]["status"] == "failed"
    assert after.json()["conflict"] is True and after.json()["task"]["needs_review"] is True


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"outcome": "teleported"}, "not an outcome"),
        ({"outcome": "callback-requested"}, "next step"),
        ({"outcome": "wrong-number"}, "requires notes"),
        ({"outcome": "no-answer", "channel": "sms"}, "channel sms"),
        # Moments that have not happened yet (beyond the 5-minute clock-skew allowance).
        (
            {"started_at": "2199-01-01T00:00:00Z", "ended_at": "2199-01-01T00:01:00Z"},
            "in the future",
        ),
        ({"ended_at": "2199-01-01T00:01:00Z"}, "in the future"),
    ],
)
def test_invalid_attempts_are_422_and_write_nothing(
    api: ApiHarness, fresh: TaskPicker, changes: dict[str, object], fragment: str
) -> None:
    task = fresh()
    client = client_as(api, api.username("assistant"))
    attempts_before = count(api, models.Attempt)
    response = post_attempt(client, attempt_body(task, **changes))  # type: ignore[arg-type]
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid-request" and fragment in error["message"]
    assert count(api, models.Attempt) == attempts_before
    with api.session() as s:
        stored = s.get(models.Task, task.id)
        assert stored is not None and stored.version == task.version


def test_an_attempt_hours_ahead_of_the_servers_clock_is_accepted(
    api: ApiHarness, fresh: TaskPicker
) -> None:
    """A workstation whose clock (or time zone setting) is hours off still documents
    its calls: attempts may be up to a day ahead (WORKSTATION_CLOCK_ALLOWANCE)."""
    task = fresh()
    client = client_as(api, api.username("assistant"))
    ahead = datetime.now(UTC) + timedelta(hours=3)
    body = attempt_body(
        task,
        started_at=(ahead - timedelta(seconds=30)).isoformat(),
        ended_at=ahead.isoformat(),
    )
    response = post_attempt(client, body)
    assert response.status_code == 201, response.text


def test_channel_must_be_consented(api: ApiHarness, fresh: TaskPicker) -> None:
    task = fresh()
    with api.session() as s:
        patient = s.get(models.Patient, task.patient_id)
        assert patient is not None
        patient.consent = {**patient.consent, "sms": False}
        s.commit()
    client = client_as(api, api.username("assistant"))
    response = post_attempt(client, attempt_body(task, "message-sent", channel="sms"))
    assert response.status_code == 422
    assert "consented" in response.json()["error"]["message"]


def test_the_idempotency_key_header_is_required(api: ApiHarness, fresh: TaskPicker) -> None:
    task = fresh()
    client = client_as(api, api.username("assistant"))
    response = client.post("/v1/attempts", json=attempt_body(task))
    assert response.status_code == 400  # the IETF draft's answer, not a validation 422
    assert response.json()["error"]["code"] == "idempotency-key-missing"
    assert "Idempotency-Key" in response.json()["error"]["message"]


def test_an_escalation_in_the_attempt_opens_it_and_holds_the_task(
    api: ApiHarness, fresh: TaskPicker
) -> None:
    task = fresh()
    client = client_as(api, api.username("assistant"))
    body = attempt_body(
        task, "no-answer", escalation={"route": "complaint", "reason": "rude receptionist"}
    )
    response = post_attempt(client, body)
    assert response.status_code == 201, response.text
    attempt, moved = response.json()["attempt"], response.json()["task"]
    assert moved["status"] == "on-hold"
    with api.session() as s:
        esc = s.get(models.Escalation, attempt["escalation_id"])
        assert esc is not None
        assert (esc.route, esc.status, esc.task_id) == ("complaint", "open", task.id)


def test_max_attempts_fail_the_task_and_escalate_repeated_failed_contact(
    api: ApiHarness, fresh: TaskPicker
) -> None:
    task = fresh()
    client = client_as(api, api.username("assistant"))
    version = task.version
    body: dict[str, object] = {}
    for _ in range(WORKFLOWS[WorkflowId(task.workflow)].policy.max_attempts):
        response = post_attempt(client, attempt_body(task, "no-answer", task_version=version))
        assert response.status_code == 201
        body = response.json()
        version = body["task"]["version"]  # type: ignore[index]
    final = body["task"]  # type: ignore[index]
    assert final["status"] == "failed" and final["business_status"] == "max-attempts-reached"
    with api.session() as s:
        routes = s.scalars(
            select(models.Escalation.route).where(models.Escalation.task_id == task.id)
        ).all()
    assert routes == ["repeated-failed-contact"]


def test_an_attempt_on_a_task_not_yours_is_404(api: ApiHarness) -> None:
    other = TaskPicker(api, "ava.lindqvist")()
    client = client_as(api, api.username("assistant"))
    before = count(api, models.Attempt)
    assert post_attempt(client, attempt_body(other)).status_code == 404
    assert count(api, models.Attempt) == before


def test_an_attempt_made_before_a_reassignment_is_still_delivered(
    api: ApiHarness, fresh: TaskPicker
) -> None:
    """The call happened while the task was mine: stored, flagged, the task stays theirs."""
    me, other = api.username("assistant"), "ava.lindqvist"
    task = fresh()
    with api.session() as s:
        row = s.get(models.Task, task.id)
        assert row is not None
        reassign(s, row, user_id(api, other))
        s.commit()
    client = client_as(api, me)
    assert client.get(f"/v1/tasks/{task.id}").status_code == 404
    response = post_attempt(client, attempt_body(task, "no-answer"))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["conflict"] is True and body["task"]["needs_review"] is True
    assert body["task"]["owner_id"] == user_id(api, other)
    assert body["attempt"]["assistant_id"] == user_id(api, me)
    escalated = post_escalation(client, escalation_body(task.id, "complaint", "rude"))
    assert escalated.status_code == 201
