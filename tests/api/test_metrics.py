"""GET /v1/metrics and /v1/metrics/exceptions over a hand-built practice, on every backend.

The practice "Metrics Test" (America/New_York, Monday to Friday 09:00-17:00) is
written straight into the database with a history whose figures are worked out
below; the seeded practices stay as they are, so the role matrix runs against
real seeded users too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import delete, select

from central_api import models
from central_api.core.security import hash_password
from tests.api.conftest import ApiHarness

PERIOD = {"from": "2026-11-23", "to": "2026-11-30"}
PID = "metrics-practice"


def z(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)


def _build(api: ApiHarness) -> dict[str, str]:
    """The hand-built history; returns ids the tests need."""
    with api.session() as s:
        template = s.get(models.Practice, api.practice(0)["id"])
        assert template is not None
        config = dict(template.config)
        config["business_hours"] = [
            {"weekday": d, "opens": "09:00", "closes": "17:00"} for d in range(1, 6)
        ]
        config["holidays"] = []
        s.add(
            models.Practice(
                id=PID,
                name="Metrics Test",
                timezone="America/New_York",
                phone="+12125550100",
                webhook_key_hash="x" * 64,
                config=config,
            )
        )
        manager = models.User(
            username="metrics-manager",
            display_name="Mia Manager",
            role="manager",
            password_hash=hash_password(api.password),
        )
        other_manager = models.User(
            username="other-manager",
            display_name="Otto Other",
            role="manager",
            password_hash=hash_password(api.password),
        )
        s.add_all([manager, other_manager])
        s.flush()
        supervisor = api.user(api.username("supervisor"))["id"]
        assistant = api.user(api.username("assistant"))["id"]
        s.add_all(
            [
                models.UserPractice(user_id=manager.id, practice_id=PID),
                models.UserPractice(user_id=supervisor, practice_id=PID),
                models.UserPractice(user_id=api.user("admin")["id"], practice_id=PID),
                models.UserPractice(user_id=other_manager.id, practice_id=api.practice(1)["id"]),
            ]
        )
        patient = models.Patient(
            practice_id=PID,
            given_name="Zelda",
            family_name="Quixote",
            date_of_birth="1970-01-01",
            phone="+12125550199",
            timezone="America/New_York",
            preferred_language="en",
            consent={},
            intake_status="missing",
        )
        s.add(patient)
        s.flush()

        def appt(start: str, status: str) -> models.Appointment:
            a = models.Appointment(
                practice_id=PID,
                patient_id=patient.id,
                start_at=z(start),
                provider="Dr Synthetic",
                location="Main",
                visit_type="follow-up",
                status=status,
            )
            s.add(a)
            return a

        a1 = appt("2026-11-25 15:00", "confirmed")
        a2 = appt("2026-11-25 16:00", "booked")  # 11:00 EST: a morning visit
        s.flush()

        def task(wf: str, status: str, created: str, due: str, **kw: Any) -> models.Task:
            t = models.Task(
                practice_id=PID,
                workflow=wf,
                status=status,
                priority="routine",
                owner_id=assistant,
                patient_id=patient.id,
                created_at=z(created),
                updated_at=z(created),
                due_at=z(due),
                **kw,
            )
            s.add(t)
            return t

        t1 = task("missed-call-recovery", "completed", "2026-11-24 15:00", "2026-11-24 17:00")
        t2 = task("missed-call-recovery", "completed", "2026-11-27 21:30", "2026-11-30 15:00")
        t3 = task(
            "appointment-confirmation",
            "completed",
            "2026-11-24 14:00",
            "2026-11-24 22:00",
            focus_kind="appointment",
            focus_id=a1.id,
        )
        t4 = task(
            "intake-completion",
            "ready",
            "2026-11-24 14:00",
            "2026-11-24 16:00",
            focus_kind="appointment",
            focus_id=a2.id,
            needs_review=True,
        )
        s.flush()
        calls = [
            ("2026-11-24 15:00", "matched", t1.id),
            ("2026-11-27 21:30", "unmatched", t2.id),
            ("2026-11-25 15:00", "withheld", None),
        ]
        for at, kind, tid in calls:
            s.add(
                models.MissedCall(
                    practice_id=PID, source="json", caller_kind=kind, called_at=z(at), task_id=tid
                )
            )
        attempts = [
            (t1, "2026-11-24 15:20", "no-answer"),
            (t1, "2026-11-24 15:40", "resolved"),
            (t2, "2026-11-30 14:45", "resolved"),
            (t3, "2026-11-24 16:00", "confirmed"),
            (t4, "2026-11-28 16:00", "no-answer"),  # Saturday: outside hours (3 of them)
            (t4, "2026-11-28 16:15", "no-answer"),
            (t4, "2026-11-28 16:30", "no-answer"),
        ]
        for n, (t, at, outcome) in enumerate(attempts):
            # what work.record_attempt keeps on the task
            t.first_attempt_at = min(t.first_attempt_at or z(at), z(at))
            t.attempts = (t.attempts or 0) + 1
            s.add(
                models.Attempt(
                    id=f"00000000-0000-4000-8000-{n:012d}",
                    task_id=t.id,
                    assistant_id=assistant,
                    channel="phone",
                    outcome=outcome,
                    started_at=z(at),
                    ended_at=z(at) + timedelta(minutes=2),
                    identity_verified=True,
                )
            )
        for n, reason in enumerate(["Bus route cancelled", "bus  route CANCELLED"]):
            s.add(
                models.Escalation(
                    id=f"10000000-0000-4000-8000-{n:012d}",
                    practice_id=PID,
                    task_id=t4.id,
                    patient_id=patient.id,
                    route="access-barrier",
                    reason=reason,
                    status="acknowledged",
                    contact={},
                    raised_by=assistant,
                    raised_at=z("2026-11-24 15:30"),
                    ack_due_at=z("2026-11-24 16:00"),
                    acknowledged_at=z("2026-11-24 15:45") + timedelta(minutes=30 * n),
                )
            )
        s.add(
            models.Referral(
                practice_id=PID,
                patient_id=patient.id,
                specialty="cardiology",
                referred_at=z("2026-11-10 15:00"),
                status="sent",
                receiving_provider="Dr Heart",
            )
        )
        s.commit()
        return {"t4": t4.id, "patient": patient.id, "manager": manager.id}


@pytest.fixture(scope="module")
def history(api: ApiHarness) -> dict[str, str]:
    return _build(api)


def _get(api: ApiHarness, user: str | None, path: str = "/v1/metrics", **params: str) -> Any:
    query = {"practice_id": PID, **PERIOD, **params}
    client = api.as_user(user) if user else api.client()
    with client:
        return client.get(path, params=query)


def _figures(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["id"]: f for f in body["figures"]}


def test_figures_of_the_hand_built_history(api: ApiHarness, history: dict[str, str]) -> None:
    response = _get(api, "metrics-manager")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["timezone"] == "America/New_York"
    figs = _figures(body)
    cb = figs["callback-time"]
    # wall minutes [20, 3915] (Tue 10:00 -> 10:20; Fri 16:30 -> Mon 09:45), business [20, 75]
    assert cb["value"] == 1967.5
    assert cb["values"]["p90_wall_minutes"] == 3915
    assert cb["values"]["median_business_minutes"] == 47.5
    assert cb["values"]["p90_business_minutes"] == 75
    recovery = figs["missed-call-recovery"]
    assert recovery["value"] == 1.0 and recovery["values"]["withheld"] == 1
    confirm = figs["confirmation-rate"]
    assert confirm["value"] == 0.5 and confirm["values"]["staff_initiated"] == 1
    assert confirm["values"]["patient_rate"] is None  # no interop confirmations ever
    assert figs["no-show-trend"]["status"] == "no-data-source"
    assert figs["no-show-trend"]["value"] is None
    assert figs["intake-completion"]["value"] == 0.0
    assert figs["unresolved-by-age"]["value"] == 1
    assert figs["referral-aging"]["values"]["open"] == 1
    assert figs["access-complaints"]["value"] == 2
    esc = figs["escalations"]
    assert esc["value"] == 30  # median of 15 and 45 minutes
    assert esc["values"]["within_target"] == 0.5
    assert figs["sla-met"]["values"] == {"met": 3.0, "tasks": 4.0}
    assert figs["attempts-per-resolved-task"]["value"] == pytest.approx(4 / 3)
    outside = figs["work-outside-hours"]
    assert outside["values"] == {"outside": 3.0, "attempts": 7.0}
    assert len(figs["sla-met"]["series"]) == 8  # Nov 23 .. Nov 30


def test_filters_and_weekly_series(api: ApiHarness, history: dict[str, str]) -> None:
    body = _get(api, "metrics-manager", workflow="intake-completion", granularity="week").json()
    figs = _figures(body)
    assert body["workflow"] == "intake-completion"
    assert figs["sla-met"]["values"] == {"met": 0.0, "tasks": 1.0}
    assert figs["callback-time"]["status"] == "no-data"
    assert figs["confirmation-rate"]["practice_wide"] is True
    assert [p["start"] for p in figs["sla-met"]["series"]] == ["2026-11-23", "2026-11-30"]
    nobody = _get(api, "metrics-manager", assistant_id="no-such-assistant").json()
    assert _figures(nobody)["sla-met"]["status"] == "no-data"


def test_exceptions_review(api: ApiHarness, history: dict[str, str]) -> None:
    response = _get(api, "metrics-manager", "/v1/metrics/exceptions")
    assert response.status_code == 200, response.text
    body = response.json()
    [reason] = body["recurring_reasons"]
    assert reason["count"] == 2 and reason["task_ids"] == [history["t4"]]
    assert reason["label"] == "access-barrier: bus route cancelled"
    [patient] = body["repeated_failed_contact"]
    # three no-answers on the intake task and one on the first callback
    assert patient["key"] == history["patient"] and patient["count"] == 4
    assert "Zelda" not in patient["label"] and "Quixote" not in patient["label"]
    assert [c["key"] for c in body["conflicts"]] == [history["t4"]]
    assert history["t4"] in [p["key"] for p in body["past_target"]]


def test_past_target_times_are_the_practices_local_time(
    api: ApiHarness, history: dict[str, str]
) -> None:
    """Due 03:30 UTC on 25 November is still 24 November, 22:30, in New York."""
    with api.session() as s:
        late = models.Task(
            practice_id=PID,
            workflow="missed-call-recovery",
            status="ready",
            priority="routine",
            created_at=z("2026-11-24 20:00"),
            updated_at=z("2026-11-24 20:00"),
            due_at=z("2026-11-25 03:30"),
        )
        s.add(late)
        s.commit()
        late_id = late.id
    try:
        body = _get(api, "metrics-manager", "/v1/metrics/exceptions").json()
    finally:
        with api.session() as s:
            s.execute(delete(models.Task).where(models.Task.id == late_id))
            s.commit()
    labels = {g["key"]: g["label"] for g in body["past_target"]}
    assert labels[late_id] == "missed-call-recovery (routine) due 2026-11-24 22:30 EST"
    assert labels[history["t4"]] == "intake-completion (routine) due 2026-11-24 11:00 EST"


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"from": "2026-11-30", "to": "2026-11-01"}, 400, "bad-period"),
        ({"from": "2025-01-01", "to": "2026-11-30"}, 400, "period-too-long"),
        ({"practice_id": "no-such-practice"}, 404, "not-found"),
        ({"granularity": "month"}, 422, "invalid-request"),
        ({"from": "2026-13-01"}, 422, "invalid-request"),
    ],
)
def test_bad_requests_get_documented_errors(
    api: ApiHarness, history: dict[str, str], params: dict[str, str], status: int, code: str
) -> None:
    response = _get(api, "metrics-manager", **params)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code


def test_role_matrix(api: ApiHarness, history: dict[str, str]) -> None:
    expected = {
        "metrics-manager": 200,
        api.username("supervisor"): 200,
        "admin": 200,
        api.username("assistant"): 403,
        "trainer": 403,
        "other-manager": 404,  # a manager of another practice: as if it did not exist
        None: 401,
    }
    for user, status in expected.items():
        for path in ("/v1/metrics", "/v1/metrics/exceptions"):
            assert _get(api, user, path).status_code == status, (user, path)


def test_a_manager_reads_no_patient_records(api: ApiHarness, history: dict[str, str]) -> None:
    with api.as_user("metrics-manager") as c:
        sync = c.get("/v1/sync")  # practice records only (live-server's rule)
        assert sync.status_code == 200
        assert {ch["kind"] for ch in sync.json()["changes"]} <= {"practice", "script"}
        assert c.get(f"/v1/tasks/{history['t4']}").status_code == 403
        assert c.get("/v1/escalations").status_code == 403
        assert c.get("/v1/me").json()["role"] == "manager"


def test_every_read_is_audited(api: ApiHarness, history: dict[str, str]) -> None:
    assert _get(api, "metrics-manager").status_code == 200
    assert _get(api, "other-manager").status_code == 404
    with api.session() as s:
        rows = s.execute(
            select(models.AuditEntry.actor_id, models.AuditEntry.action).where(
                models.AuditEntry.resource == f"practice:{PID}"
            )
        ).all()
    actions = {action for _, action in rows}
    assert {"metrics.read", "metrics.exceptions", "denied-read"} <= actions
    assert (history["manager"], "metrics.read") in rows


def test_a_recorded_attempt_keeps_the_metrics_columns(api: ApiHarness) -> None:
    """POST /v1/attempts copies the practice onto the attempt and keeps the task's
    first attempt (the earliest start, whatever order attempts arrive in; these two are
    earlier than any seeded attempt)."""
    from tests.api.work_support import TaskPicker, attempt_body, client_as, post_attempt

    assistant = api.username("assistant")
    task = TaskPicker(api, assistant)()
    client = client_as(api, assistant)
    later = attempt_body(task, started_at="2025-01-06T16:00:00Z", ended_at="2025-01-06T16:02:00Z")
    first = post_attempt(client, later)
    assert first.status_code == 201, first.text
    earlier = attempt_body(
        task,
        task_version=first.json()["task"]["version"],
        started_at="2025-01-06T15:00:00Z",
        ended_at="2025-01-06T15:02:00Z",
    )
    assert post_attempt(client, earlier).status_code == 201
    with api.session() as s:
        stored = s.get(models.Task, task.id)
        assert stored is not None
        assert stored.first_attempt_at == z("2025-01-06 15:00")
        practices = set(
            s.scalars(select(models.Attempt.practice_id).where(models.Attempt.task_id == task.id))
        )
    assert practices == {task.practice_id}


def test_the_schema_documents_every_definition(api: ApiHarness) -> None:
    from followup_core.metrics import DEFINITIONS

    with api.client() as c:
        schema = c.get("/v1/openapi.json").json()
    operation = schema["paths"]["/v1/metrics"]["get"]
    for _title, _unit, definition in DEFINITIONS.values():
        assert definition in operation["description"]
    assert {"400", "401", "403", "404", "422"} <= set(operation["responses"])
