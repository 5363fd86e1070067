"""A training run is recorded from the trainee's session mirror (no extra client call).

The trainee's workspace publishes mirror batches (`POST /v1/sessions/me/events`);
the server relays the scoring events of a run's task into the run, in the context
of the task that was open when each batch began.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text

from central_api import models
from tests.api.conftest import ApiHarness
from tests.api.test_training import TRAINEE, _assign, _mark_all_yes, _task
from tests.api.work_support import (
    attempt_body,
    audit_count,
    client_as,
    close_work_clients,  # noqa: F401 (autouse fixture)
    open_tasks,
    post_attempt,
)


def _mirror(api: ApiHarness, *events: dict[str, Any]) -> None:
    response = client_as(api, TRAINEE).post("/v1/sessions/me/events", json={"events": list(events)})
    assert response.status_code == 200, response.text


def _recorded(api: ApiHarness, run_id: str) -> list[dict[str, Any]]:
    with api.session() as s:
        return [
            dict(body)
            for body in s.scalars(
                select(models.TrainingRunEvent.body)
                .where(models.TrainingRunEvent.run_id == run_id)
                .order_by(models.TrainingRunEvent.seq)
            )
        ]


def _step(step: int, voicemail: bool = False) -> dict[str, Any]:
    return {"type": "script-step", "step": step, "branch": None, "voicemail": voicemail}


def test_mirror_batches_of_a_run_task_are_recorded_and_scored(api: ApiHarness) -> None:
    run = _assign(api, "ac-confirm")
    # Other (seeded) work of the same trainee: never recorded into the run.
    other = next(t.id for t in open_tasks(api, TRAINEE, workflow=None) if t.id != run["task_id"])
    _mirror(api, {"type": "task-opened", "task_id": other}, _step(2))
    # The run's task opens in one batch; its steps arrive in later ones (the batch's
    # context is the task open before it).
    _mirror(api, {"type": "task-opened", "task_id": run["task_id"]}, _step(0))
    _mirror(api, _step(1), {"type": "form", "notes": "typed text is never recorded"})
    _mirror(api, {"type": "identity-verified", "verified": True})
    _mirror(api, _step(2), _step(3), {"type": "outcome", "code": "confirmed"})
    recorded = _recorded(api, run["id"])
    assert [e["type"] for e in recorded] == [
        "script-step",
        "script-step",
        "identity-verified",
        "script-step",
        "script-step",
        "outcome",
    ]
    assert all("notes" not in e for e in recorded)
    body = attempt_body(_task(api, run["task_id"]), "confirmed", identity_verified=True)
    assert post_attempt(client_as(api, TRAINEE), body).status_code == 201
    _mirror(api, {"type": "saved", "task_id": run["task_id"], "outcome": "confirmed"})
    result = _mark_all_yes(api, run["id"]).json()
    assert result["status"] == "scored"
    assert result["evaluation"]["score"] == 100.0 and result["evaluation"]["passed"]
    # A scored run's events are closed: later batches about its task store nothing.
    _mirror(api, {"type": "task-opened", "task_id": run["task_id"]}, _step(4))
    assert len(_recorded(api, run["id"])) == len(recorded)


def test_phi_step_before_verifying_in_the_mirror_fails_the_run(api: ApiHarness) -> None:
    run = _assign(api, "ac-confirm")
    _mirror(api, {"type": "task-opened", "task_id": run["task_id"]}, _step(0))
    _mirror(api, _step(2))  # the reason for the call, identity not verified
    _mirror(api, {"type": "identity-verified", "verified": True}, _step(3))
    body = attempt_body(_task(api, run["task_id"]), "confirmed", identity_verified=True)
    assert post_attempt(client_as(api, TRAINEE), body).status_code == 201
    result = _mark_all_yes(api, run["id"]).json()
    assert result["evaluation"]["fatal_hit"] == ["no-phi-before-identity"]
    assert not result["evaluation"]["passed"]


def test_another_trainees_mirror_never_feeds_a_run(api: ApiHarness) -> None:
    run = _assign(api, "ac-voicemail")
    other = client_as(api, "trainee2")
    response = other.post(
        "/v1/sessions/me/events",
        json={"events": [{"type": "task-opened", "task_id": run["task_id"]}, _step(2)]},
    )
    assert response.status_code == 200
    with api.session() as s:
        count = s.scalar(
            select(func.count())
            .select_from(models.TrainingRunEvent)
            .where(models.TrainingRunEvent.run_id == run["id"])
        )
    assert count == 0


def test_live_patient_lines(api: ApiHarness) -> None:
    run = _assign(api, "mcr-book-visit")
    url = f"/v1/training/runs/{run['id']}/lines"
    trainer, trainee = client_as(api, "trainer"), client_as(api, TRAINEE)
    said = trainer.post(url, json={"text": "  Who is this, please?  ", "step": "greet"})
    assert said.status_code == 201, said.text
    assert [(x["step"], x["text"]) for x in said.json()["lines"]] == [
        ("greet", "Who is this, please?")
    ]
    assert trainer.post(url, json={"text": "Tuesday works."}).status_code == 201
    lines = trainee.get(url)
    assert lines.status_code == 200
    assert [x["text"] for x in lines.json()["lines"]] == ["Who is this, please?", "Tuesday works."]
    assert lines.json()["lines"][0]["seq"] < lines.json()["lines"][1]["seq"]
    # Only the trainer speaks; only the run's trainee (and trainers) read.
    assert trainee.post(url, json={"text": "hello"}).status_code == 403
    assert client_as(api, "trainee2").get(url).status_code == 404
    for bad in ({"text": "   "}, {"text": "a\nb"}, {"text": "x" * 401}):
        response = trainer.post(url, json=bad)
        assert response.status_code == 422, bad
        assert response.json()["error"]["code"]
    assert audit_count(api, "training.line", f"training-run:{run['id']}") == 2


def _rename_table(api: ApiHarness, old: str, new: str) -> None:
    with api.session() as s:
        s.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))
        s.commit()


def test_a_database_error_in_the_relay_never_fails_the_applied_mirror_batch(
    api: ApiHarness,
) -> None:
    run = _assign(api, "ac-confirm")
    # A real failure: the run-events table is gone while the batch is relayed.
    _rename_table(api, "training_run_events", "training_run_events_away")
    try:
        response = client_as(api, TRAINEE).post(
            "/v1/sessions/me/events",
            json={"events": [{"type": "task-opened", "task_id": run["task_id"]}, _step(0)]},
        )
    finally:
        _rename_table(api, "training_run_events_away", "training_run_events")
    assert response.status_code == 200, response.text
    seq = response.json()["seq"]
    assert _recorded(api, run["id"]) == []  # that batch's events are lost, nothing partial
    # The batch was applied to the mirror: the next one continues from it (the run's
    # task is open), and the task was not remembered as "no run's": it is recorded.
    later = client_as(api, TRAINEE).post("/v1/sessions/me/events", json={"events": [_step(1)]})
    assert later.status_code == 200, later.text
    assert later.json()["seq"] == seq + 1
    assert [(e["type"], e["step"]) for e in _recorded(api, run["id"])] == [("script-step", 1)]
