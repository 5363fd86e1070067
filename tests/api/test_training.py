"""Training runs over the real API: assign, record, mark, score, progress, sign-off, roles."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import select

from central_api import models
from central_api.assignment import Assigner
from followup_core.enums import WorkflowId
from tests.api.conftest import ApiHarness
from tests.api.work_support import (
    attempt_body,
    audit_count,
    client_as,
    close_work_clients,  # noqa: F401 (autouse fixture)
    post_attempt,
    user_id,
)

TRAINER, TRAINEE, OTHER_TRAINEE = "trainer", "trainee", "trainee2"


def _steps(*steps: int, voicemail: bool = False) -> list[dict[str, Any]]:
    return [{"type": "script-step", "step": s, "voicemail": voicemail} for s in steps]


VERIFIED = {"type": "identity-verified", "verified": True}


def _assign(api: ApiHarness, scenario_id: str, trainee: str = TRAINEE) -> dict[str, Any]:
    response = client_as(api, TRAINER).post(
        "/v1/training/runs",
        json={"scenario_id": scenario_id, "trainee_id": user_id(api, trainee)},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def _task(api: ApiHarness, task_id: str) -> models.Task:
    with api.session() as s:
        task = s.get(models.Task, task_id)
        assert task is not None
        return task


def _work(
    api: ApiHarness, run: dict[str, Any], events: list[dict[str, Any]], outcome: str, **fields: Any
) -> None:
    trainee = client_as(api, TRAINEE)
    response = trainee.post(f"/v1/training/runs/{run['id']}/events", json={"events": events})
    assert response.status_code == 202, response.text
    assert response.json()["recorded"] == len(events)
    body = attempt_body(_task(api, run["task_id"]), outcome, **fields)
    assert post_attempt(trainee, body).status_code == 201


def _mark_all_yes(api: ApiHarness, run_id: str) -> httpx.Response:
    marks = [
        {"item_id": item, "answer": "yes"}
        for item in (
            "nothing-to-others",
            "no-clinical-advice",
            "next-step-stated",
            "script-followed",
            "courtesy",
        )
    ]
    return client_as(api, TRAINER).put(f"/v1/training/runs/{run_id}/marks", json={"marks": marks})


def test_a_run_done_right_is_scored_and_passes(api: ApiHarness) -> None:
    run = _assign(api, "ac-confirm")
    assert run["status"] == "assigned" and run["evaluation"]["pending"]
    # The task sits in the trainee's queue, about the synthetic patient, on the training practice.
    task = client_as(api, TRAINEE).get(f"/v1/tasks/{run['task_id']}")
    assert task.status_code == 200
    with api.session() as s:
        practice = s.get(models.Practice, _task(api, run["task_id"]).practice_id)
        assert practice is not None and practice.is_training
    script = client_as(api, TRAINEE).get(f"/v1/training/runs/{run['id']}/script").json()
    assert script["expected"] is None and script["lines"][0]["step"] == "greet"
    _work(
        api, run, [*_steps(0, 1), VERIFIED, *_steps(2, 3, 5)], "confirmed", identity_verified=True
    )
    scored = _mark_all_yes(api, run["id"])
    assert scored.status_code == 200, scored.text
    result = scored.json()
    assert result["status"] == "scored" and result["outcome"] == "confirmed"
    assert result["evaluation"]["score"] == 100.0 and result["evaluation"]["passed"]
    assert result["evaluation"]["answers"]["no-phi-in-voicemail"] == "n/a"
    assert audit_count(api, "training.score", f"training-run:{run['id']}") == 1
    assert audit_count(api, "training.assign", f"training-run:{run['id']}") == 1
    after = client_as(api, TRAINEE).get(f"/v1/training/runs/{run['id']}/script").json()
    assert after["expected"]["outcomes"] == ["confirmed"]


def test_phi_before_identity_fails_the_run(api: ApiHarness) -> None:
    run = _assign(api, "ac-confirm")
    _work(api, run, [*_steps(0, 2, 1), VERIFIED, *_steps(3)], "confirmed", identity_verified=True)
    result = _mark_all_yes(api, run["id"]).json()
    assert result["status"] == "scored"
    assert result["evaluation"]["fatal_hit"] == ["no-phi-before-identity"]
    assert not result["evaluation"]["passed"]


def test_voicemail_with_the_safe_text_passes(api: ApiHarness) -> None:
    run = _assign(api, "ac-voicemail")
    _work(api, run, [*_steps(0), *_steps(2, voicemail=True)], "left-voicemail")
    result = _mark_all_yes(api, run["id"]).json()
    assert result["evaluation"]["answers"]["no-phi-in-voicemail"] == "yes"
    assert result["evaluation"]["passed"], result["evaluation"]


def test_marks_refused_and_the_role_matrix(api: ApiHarness) -> None:
    run = _assign(api, "mcr-book-visit")
    url = f"/v1/training/runs/{run['id']}/marks"
    miss = {"marks": [{"item_id": "courtesy", "answer": "no"}]}
    refused = client_as(api, TRAINER).put(url, json=miss)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "mark-refused"
    auto = {"marks": [{"item_id": "outcome-code", "answer": "yes"}]}
    assert client_as(api, TRAINER).put(url, json=auto).status_code == 422
    # A trainee cannot mark their own run; another trainee cannot even see it.
    assert client_as(api, TRAINEE).put(url, json=miss).status_code == 403
    other = client_as(api, OTHER_TRAINEE)
    assert other.get(f"/v1/training/runs/{run['id']}").status_code == 404
    events = {"events": _steps(0)}
    assert other.post(f"/v1/training/runs/{run['id']}/events", json=events).status_code == 404
    assert (
        client_as(api, TRAINER)
        .post(f"/v1/training/runs/{run['id']}/events", json=events)
        .status_code
        == 403
    )
    supervisor = client_as(api, api.username("supervisor"))
    assert supervisor.get(f"/v1/training/runs/{run['id']}").status_code == 404
    assert (
        supervisor.post(
            "/v1/training/runs",
            json={"scenario_id": "ac-confirm", "trainee_id": user_id(api, TRAINEE)},
        ).status_code
        == 403
    )
    assert client_as(api, TRAINEE).get("/v1/training/scenarios").status_code == 403
    listed = client_as(api, TRAINER).get("/v1/training/scenarios").json()
    assert len(listed) >= 16
    # A trainer cannot assign to an assistant of a real practice.
    real = user_id(api, api.username("assistant"))
    wrong = client_as(api, TRAINER).post(
        "/v1/training/runs", json={"scenario_id": "ac-confirm", "trainee_id": real}
    )
    assert wrong.status_code == 404
    unknown = client_as(api, TRAINER).post(
        "/v1/training/runs", json={"scenario_id": "nope", "trainee_id": user_id(api, TRAINEE)}
    )
    assert unknown.status_code == 404


def test_progress_and_sign_off(api: ApiHarness) -> None:
    trainee_id = user_id(api, OTHER_TRAINEE)
    trainer = client_as(api, TRAINER)
    cleared = trainer.post(
        "/v1/training/clearances",
        json={"assistant_id": trainee_id, "workflow": "reactivation"},
    )
    assert cleared.status_code == 201, cleared.text
    assert audit_count(api, "training.clear.reactivation", f"user:{trainee_id}") == 1
    progress = trainer.get(f"/v1/training/trainees/{trainee_id}/progress").json()
    flows = {w["workflow"]: w for w in progress["workflows"]}
    assert flows["reactivation"]["cleared"] and not flows["missed-call-recovery"]["cleared"]
    mine = client_as(api, OTHER_TRAINEE).get(f"/v1/training/trainees/{trainee_id}/progress")
    assert mine.status_code == 200
    theirs = client_as(api, OTHER_TRAINEE).get(
        f"/v1/training/trainees/{user_id(api, TRAINEE)}/progress"
    )
    assert theirs.status_code == 404


def test_real_work_goes_only_to_cleared_trainees(api: ApiHarness) -> None:
    """A trainee needing clearance, linked to a real practice, gets only cleared workflows."""
    cleared = client_as(api, TRAINER).post(
        "/v1/training/clearances",
        json={"assistant_id": user_id(api, OTHER_TRAINEE), "workflow": "reactivation"},
    )
    assert cleared.status_code == 201
    with api.session() as s:
        practice = s.scalars(
            select(models.Practice).where(models.Practice.is_training.is_(False))
        ).first()
        assert practice is not None
        learner = s.scalars(select(models.User).where(models.User.username == OTHER_TRAINEE)).one()
        learner.clearance_required = True
        s.add(models.UserPractice(user_id=learner.id, practice_id=practice.id))
        # The learner is the practice's only active assistant for this check.
        for other in s.scalars(
            select(models.User).where(models.User.role == "assistant", models.User.id != learner.id)
        ):
            other.active = False
        s.flush()
        assigner = Assigner(s, practice.id)
        cleared_pick = assigner.pick(WorkflowId.REACTIVATION)
        blocked_pick = assigner.pick(WorkflowId.INTAKE_COMPLETION)
        learner_id = learner.id
        s.rollback()
    assert cleared_pick == learner_id
    assert blocked_pick is None


def test_listing_runs_by_role(api: ApiHarness) -> None:
    run = _assign(api, "pvs-book-follow-up")
    trainee_id = user_id(api, TRAINEE)
    by_trainer = client_as(api, TRAINER).get("/v1/training/runs", params={"trainee_id": trainee_id})
    assert run["id"] in {r["id"] for r in by_trainer.json()}
    own = client_as(api, TRAINEE).get("/v1/training/runs").json()
    assert run["id"] in {r["id"] for r in own}
    assert {r["trainee_id"] for r in own} == {trainee_id}
    other = client_as(api, OTHER_TRAINEE)
    assert run["id"] not in {r["id"] for r in other.get("/v1/training/runs").json()}
    spying = other.get("/v1/training/runs", params={"trainee_id": trainee_id})
    assert spying.status_code == 404
    unknown = client_as(api, TRAINER).get("/v1/training/runs", params={"trainee_id": "nobody"})
    assert unknown.status_code == 404
