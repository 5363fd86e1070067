"""The endpoints the trainer's desk adds: trainees, forms, and coaching tied to a step.

- `GET /v1/training/trainees`: the training practice's assistants with their
  clearances and run counts; trainers and admins only.
- `GET /v1/training/forms`: the shipped evaluation forms (the desk lists a run's
  trainer-marked items from here).
- `POST /v1/whispers` with `step`: stored with the whisper and returned to the
  trainee; the coaching text reaches no table but `whispers`.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import String, Text, cast, or_, select

from central_api import models
from tests.api.conftest import ApiHarness
from tests.api.work_support import (
    attempt_body,
    audit_count,
    client_as,
    close_work_clients,  # noqa: F401 (autouse fixture)
    post_attempt,
    user_id,
)

TRAINER, TRAINEE, OTHER = "trainer", "trainee", "trainee2"


def _assign(api: ApiHarness, scenario_id: str, trainee: str = TRAINEE) -> dict[str, Any]:
    response = client_as(api, TRAINER).post(
        "/v1/training/runs",
        json={"scenario_id": scenario_id, "trainee_id": user_id(api, trainee)},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_trainees_with_runs_and_clearances(api: ApiHarness) -> None:
    trainer = client_as(api, TRAINER)
    before = {t["id"]: t for t in trainer.get("/v1/training/trainees").json()}
    tess, theo = user_id(api, TRAINEE), user_id(api, OTHER)
    assert {tess, theo} <= set(before)
    # Only assistants of the training practice: no supervisor, no hudson assistant.
    assert user_id(api, "demo") not in before and user_id(api, TRAINER) not in before

    _assign(api, "ac-confirm")
    cleared = trainer.post(
        "/v1/training/clearances", json={"assistant_id": theo, "workflow": "reactivation"}
    )
    assert cleared.status_code == 201
    after = {t["id"]: t for t in trainer.get("/v1/training/trainees").json()}
    assert after[tess]["runs"] == before[tess]["runs"] + 1
    assert after[tess]["open"] == before[tess]["open"] + 1
    assert "reactivation" in after[theo]["cleared"]
    assert after[theo]["display_name"] == "Theo Trainee"
    names = [t["display_name"] for t in after.values()]
    assert names == sorted(names)


@pytest.mark.parametrize("who", [TRAINEE, "supervisor", "manager"])
def test_only_trainers_list_trainees_and_forms(api: ApiHarness, who: str) -> None:
    client = client_as(api, who)
    assert client.get("/v1/training/trainees").status_code == 403
    assert client.get("/v1/training/forms").status_code == 403


def test_forms_list_the_trainer_items(api: ApiHarness) -> None:
    forms = client_as(api, TRAINER).get("/v1/training/forms")
    assert forms.status_code == 200
    [form] = [f for f in forms.json() if f["id"] == "front-office-follow-up"]
    assert sum(s["weight"] for s in form["sections"]) == 100
    manual = [i["id"] for s in form["sections"] for i in s["items"] if i["auto"] is None]
    assert "no-clinical-advice" in manual and "outcome-code" not in manual
    # The run names the same form and version.
    run = _assign(api, "ac-confirm")
    assert (run["evaluation"]["form_id"], run["evaluation"]["form_version"]) == (
        form["id"],
        form["version"],
    )


def _text_columns(model: type[models.Base]) -> list[Any]:
    return [c for c in model.__table__.columns if isinstance(c.type, String | Text)]


def test_coaching_is_tied_to_a_step_and_stays_in_whispers(api: ApiHarness) -> None:
    marker = f"COACH-{uuid.uuid4().hex[:12]}"
    run = _assign(api, "ac-confirm")
    trainer, tess = client_as(api, TRAINER), client_as(api, TRAINEE)
    sent = trainer.post(
        "/v1/whispers",
        json={
            "to_user_id": user_id(api, TRAINEE),
            "text": f"Ask for the date of birth {marker}",
            "step": "verify-identity",
        },
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["step"] == "verify-identity"
    assert audit_count(api, "whisper.send", f"whisper:{sent.json()['id']}") == 1
    mine = {w["id"]: w for w in tess.get("/v1/whispers").json()}
    assert mine[sent.json()["id"]]["step"] == "verify-identity"
    # An ordinary whisper has no step.
    plain = trainer.post("/v1/whispers", json={"to_user_id": user_id(api, TRAINEE), "text": "hi"})
    assert plain.status_code == 201 and plain.json()["step"] is None

    # The trainee works the run: events, a saved attempt with notes.
    events = tess.post(
        f"/v1/training/runs/{run['id']}/events",
        json={"events": [{"type": "identity-verified", "verified": True}]},
    )
    assert events.status_code == 202
    with api.session() as s:
        task = s.get(models.Task, run["task_id"])
        assert task is not None
        body = attempt_body(task, "confirmed", notes="confirmed the visit", identity_verified=True)
    assert post_attempt(tess, body).status_code == 201

    with api.session() as s:
        stored = s.scalars(select(models.Whisper).where(models.Whisper.text.contains(marker)))
        assert [w.step for w in stored] == ["verify-identity"]
        for table_model in models.Base.__subclasses__():
            if table_model is models.Whisper or not hasattr(table_model, "__table__"):
                continue
            json_columns = [
                c for c in table_model.__table__.columns if c.type.__class__.__name__ == "JSON"
            ]
            conditions = [c.contains(marker) for c in _text_columns(table_model)] + [
                cast(c, Text).contains(marker) for c in json_columns
            ]
            if conditions:
                found = s.execute(select(table_model).where(or_(*conditions)).limit(1)).first()
                assert found is None, f"the coaching text is in {table_model.__tablename__}"


@pytest.mark.parametrize("step", ["", " ", "a\nb", "x" * 65])
def test_a_coaching_step_is_short_plain_text(api: ApiHarness, step: str) -> None:
    response = client_as(api, TRAINER).post(
        "/v1/whispers",
        json={"to_user_id": user_id(api, TRAINEE), "text": "hello", "step": step},
    )
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"]
