"""Where new work comes from: the periodic job and the missed-call webhook."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from central_api import models, triggers
from central_api.serialize import practice_out
from followup_core.business_time import PracticeCalendar
from followup_core.enums import WorkflowId
from followup_core.workflows import WORKFLOWS
from tests.api.conftest import ApiHarness
from tests.api.work_support import (
    TaskPicker,
    client_as,
    close_work_clients,  # noqa: F401 (autouse fixture)
)

DEADLINE = 20.0


def _assistants(api: ApiHarness, practice: int) -> set[str]:
    pid = api.practice(practice)["id"]
    return {
        str(u["id"])
        for u in api.seed["users"]
        if u["role"] == "assistant" and pid in u["practice_ids"]
    }


def _new_appointment(api: ApiHarness, practice: int, starts_in: timedelta) -> str:
    pid = api.practice(practice)["id"]
    with api.session() as s:
        patient = s.scalars(
            select(models.Patient).where(models.Patient.practice_id == pid).limit(1)
        ).one()
        appt = models.Appointment(
            id=str(uuid.uuid4()),
            practice_id=pid,
            patient_id=patient.id,
            start_at=datetime.now(UTC) + starts_in,
            provider="Dr. Example",
            location="Main clinic",
            visit_type="follow-up",
            status="booked",
            version=1,
        )
        s.add(appt)
        s.commit()
        return appt.id


def _tasks_for_focus(api: ApiHarness, focus_id: str) -> list[models.Task]:
    with api.session() as s:
        return list(s.scalars(select(models.Task).where(models.Task.focus_id == focus_id)).all())


def test_the_job_opens_what_is_due_once_and_only_once(api: ApiHarness) -> None:
    soon = _new_appointment(api, 0, timedelta(hours=30))
    later = _new_appointment(api, 0, timedelta(days=5))
    with api.session() as s:
        first = triggers.run_once(s)
    with api.session() as s:
        second = triggers.run_once(s)
    assert first.confirmations >= 1
    assert (second.created, second.reopened, second.escalated) == (0, 0, 0)

    confirmations = [
        t for t in _tasks_for_focus(api, soon) if t.workflow == "appointment-confirmation"
    ]
    assert len(confirmations) == 1
    task = confirmations[0]
    assert task.owner_id in _assistants(api, 0)
    assert task.status == "ready" and task.version == 1
    assert task.due_at <= datetime.now(UTC) + timedelta(hours=30)
    assert not [t for t in _tasks_for_focus(api, later) if t.workflow == "appointment-confirmation"]

    now = datetime.now(UTC)
    with api.session() as s:
        booked = s.scalars(
            select(models.Appointment.id).where(
                models.Appointment.status == "booked",
                models.Appointment.start_at > now + timedelta(minutes=5),
                models.Appointment.start_at <= now + triggers.CONFIRM_AHEAD - timedelta(minutes=5),
            )
        ).all()
        covered = set(
            s.scalars(
                select(models.Task.focus_id).where(
                    models.Task.workflow == "appointment-confirmation"
                )
            ).all()
        )
        logged = s.scalars(
            select(models.ChangeLog.owner_id).where(
                models.ChangeLog.kind == "task", models.ChangeLog.record_id == task.id
            )
        ).all()
    assert set(booked) <= covered
    assert logged == [task.owner_id]


def test_retries_whose_time_has_come_are_reopened(api: ApiHarness) -> None:
    task = TaskPicker(api, api.username("assistant"))()
    with api.session() as s:
        row = s.get(models.Task, task.id)
        assert row is not None
        row.status = "on-hold"
        row.business_status = "left-voicemail"
        row.next_attempt_at = datetime.now(UTC) - timedelta(minutes=1)
        s.commit()
    with api.session() as s:
        summary = triggers.run_once(s)
        assert summary.reopened >= 1
        row = s.get(models.Task, task.id)
        assert row is not None
        assert row.status == "ready" and row.version == task.version + 1


def test_repeated_failed_contact_is_escalated_once(api: ApiHarness) -> None:
    task = TaskPicker(api, api.username("assistant"))()
    limit = WORKFLOWS[WorkflowId(task.workflow)].policy.max_attempts
    with api.session() as s:
        row = s.get(models.Task, task.id)
        assert row is not None
        row.status, row.attempts = "failed", limit
        row.business_status = "max-attempts-reached"
        s.commit()
    with api.session() as s:
        assert triggers.run_once(s).escalated >= 1
    with api.session() as s:
        assert triggers.run_once(s).escalated == 0
        routes = s.scalars(
            select(models.Escalation.route).where(models.Escalation.task_id == task.id)
        ).all()
    assert routes == ["repeated-failed-contact"]


def test_only_one_process_runs_the_job_at_a_time_on_postgres(api: ApiHarness) -> None:
    if api.kind != "postgres":
        pytest.skip("the job lock is a PostgreSQL advisory lock")
    with api.session() as holder:
        holder.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": triggers.JOB_LOCK_KEY})
        with api.session() as s:
            assert triggers.run_once(s).skipped is True
        holder.rollback()
    with api.session() as s:
        assert triggers.run_once(s).skipped is False


def test_the_periodic_loop_runs_the_job(api: ApiHarness) -> None:
    appt = _new_appointment(api, 1, timedelta(hours=20))
    with api.session() as s:
        engine = s.get_bind()

    async def scenario() -> bool:
        job = asyncio.create_task(triggers.run_periodically(lambda: Session(engine), 0.05))
        try:
            deadline = time.monotonic() + DEADLINE
            while time.monotonic() < deadline:
                if _tasks_for_focus(api, appt):
                    return True
                await asyncio.sleep(0.05)
            return False
        finally:
            await triggers.stop_trigger_job(job)

    assert asyncio.run(scenario())


# --- the missed-call webhook --------------------------------------------------------


def _missed(
    api: ApiHarness, key: str | None, phone: str, called_at: str | None = None
) -> tuple[int, dict[str, object]]:
    headers = {"X-Practice-Key": key} if key is not None else {}
    with api.client(headers=headers) as c:
        response = c.post(
            "/v1/triggers/missed-call",
            json={"caller_phone": phone, "called_at": called_at or datetime.now(UTC).isoformat()},
        )
    return response.status_code, response.json()


def test_a_missed_call_in_the_future_is_refused(api: ApiHarness) -> None:
    """A `called_at` beyond the 5-minute clock-skew allowance is a 422 and writes nothing;
    one a couple of minutes ahead (a fast clock) is taken."""
    practice = api.practice(1)
    with api.session() as s:
        calls_before = s.scalar(select(func.count()).select_from(models.MissedCall))
    for when in ("2199-06-01T09:00:00Z", (datetime.now(UTC) + timedelta(hours=1)).isoformat()):
        status, body = _missed(api, practice["webhook_key"], "+16465550188", when)
        assert status == 422, (when, body)
        error = body["error"]
        assert error["code"] == "invalid-request"  # type: ignore[index]
        assert "called_at" in error["message"] and "future" in error["message"]  # type: ignore[index]
    with api.session() as s:
        assert s.scalar(select(func.count()).select_from(models.MissedCall)) == calls_before
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    status, body = _missed(api, practice["webhook_key"], "+16465550188", soon)
    assert status == 201, body


def test_a_missed_call_from_a_patient_opens_one_recovery_task(api: ApiHarness) -> None:
    practice = api.practice(0)
    with api.session() as s:
        patient = s.scalars(
            select(models.Patient)
            .where(
                models.Patient.practice_id == practice["id"],
                models.Patient.id.not_in(
                    select(models.Task.patient_id).where(
                        models.Task.workflow == "missed-call-recovery",
                        models.Task.patient_id.is_not(None),
                    )
                ),
            )
            .limit(1)
        ).one()
    status, body = _missed(api, practice["webhook_key"], patient.phone)
    assert status == 201, body
    with api.session() as s:
        task = s.get(models.Task, str(body["task_id"]))
        assert task is not None
        prac = s.get(models.Practice, practice["id"])
        assert prac is not None
        calendar = PracticeCalendar.from_practice(practice_out(prac))
    assert task.workflow == "missed-call-recovery" and task.patient_id == patient.id
    assert task.caller_phone is None and task.practice_id == practice["id"]
    assert task.owner_id in _assistants(api, 0)
    expected_due = calendar.due_for(
        task.created_at, WORKFLOWS[WorkflowId.MISSED_CALL_RECOVERY].response_target
    )
    assert abs((task.due_at - expected_due).total_seconds()) < 5
    # Calling again before anyone called back is the same piece of work.
    again_status, again = _missed(api, practice["webhook_key"], patient.phone)
    assert again_status == 201 and again["task_id"] == body["task_id"]
    assert again["call_id"] != body["call_id"]  # each call is recorded


def test_an_unknown_caller_gets_an_unmatched_task(api: ApiHarness) -> None:
    practice = api.practice(1)
    status, body = _missed(api, practice["webhook_key"], "+1 (646) 555-0142")
    assert status == 201
    with api.session() as s:
        task = s.get(models.Task, str(body["task_id"]))
        assert task is not None
    assert task.patient_id is None and task.caller_phone == "+16465550142"
    assert task.practice_id == practice["id"]


def test_missed_calls_go_to_an_available_assistant_first(api: ApiHarness) -> None:
    practice = api.practice(1)
    pool = sorted(_assistants(api, 1))
    chosen = next(u for u in api.seed["users"] if str(u["id"]) == pool[-1])
    with api.session() as s:
        for uid in pool:
            row = s.get(models.Presence, uid)
            if row is None:
                s.add(models.Presence(user_id=uid, state="offline"))
            else:
                row.state = "offline"
        s.commit()
    presence = client_as(api, str(chosen["username"])).put(
        "/v1/presence", json={"state": "available"}
    )
    assert presence.status_code == 200
    status, body = _missed(api, practice["webhook_key"], "+16465550177")
    assert status == 201
    with api.session() as s:
        task = s.get(models.Task, str(body["task_id"]))
        assert task is not None and task.owner_id == chosen["id"]


def test_the_webhook_needs_the_practice_key(api: ApiHarness) -> None:
    with api.session() as s:
        before_tasks = s.scalar(
            select(models.Task.id).order_by(models.Task.created_at.desc()).limit(1)
        )
    for key in (None, "", "whk_wrong", api.practice(0)["webhook_key"] + "x"):
        status, body = _missed(api, key, "+19995550101")
        assert status == 401, key
        assert body["error"]["code"] == "unauthenticated"  # type: ignore[index]
    with api.session() as s:
        newest = s.scalar(select(models.Task.id).order_by(models.Task.created_at.desc()).limit(1))
    assert newest == before_tasks


def test_a_large_run_commits_in_whole_audited_batches(api: ApiHarness) -> None:
    for hours in (10, 11, 12, 13, 14):
        _new_appointment(api, 0, timedelta(hours=hours))
    with api.session() as s:
        before = s.scalar(
            select(func.count())
            .select_from(models.AuditEntry)
            .where(models.AuditEntry.action == "trigger.run")
        )
        summary = triggers.run_once(s, batch=2)
        after = s.scalar(
            select(func.count())
            .select_from(models.AuditEntry)
            .where(models.AuditEntry.action == "trigger.run")
        )
    changes = summary.created + summary.reopened + summary.escalated
    assert summary.confirmations >= 5
    assert (after or 0) - (before or 0) == -(-changes // 2)  # one audit row per batch
