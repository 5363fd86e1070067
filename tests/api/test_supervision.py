"""The session mirror, shadowing and whispers (issue 8), on every backend."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import String, Text, cast, or_, select

from central_api import models
from tests.api.conftest import ApiHarness
from tests.api.work_support import (
    TaskPicker,
    attempt_body,
    audit_count,
    client_as,
    close_work_clients,  # noqa: F401 (autouse fixture)
    escalation_body,
    post_attempt,
    post_escalation,
    sync_all,
    user_id,
)

# hudson (practice 0): demo, ava.lindqvist, ben.okafor, cora.vasquez;
# frontrange: dev.nakamura …; supervisor.fr sees frontrange only.
ASSISTANT = "ava.lindqvist"
NEVER_SIGNED_IN = "cora.vasquez"


def publish(client: httpx.Client, *events: dict[str, Any]) -> httpx.Response:
    return client.post("/v1/sessions/me/events", json={"events": list(events)})


def snapshot(api: ApiHarness, observer: str, subject: str) -> dict[str, Any]:
    response = client_as(api, observer).get(f"/v1/sessions/{user_id(api, subject)}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture(scope="module")
def task(api: ApiHarness) -> models.Task:
    return TaskPicker(api, ASSISTANT)()


def test_the_mirror_folds_batches_into_the_snapshot(api: ApiHarness, task: models.Task) -> None:
    me = client_as(api, ASSISTANT)
    first = publish(
        me,
        {"type": "agent-state", "state": "on-call"},
        {"type": "task-opened", "task_id": task.id},
        {"type": "identity-verified", "verified": True},
    )
    assert first.status_code == 200, first.text
    second = publish(
        me,
        {"type": "script-step", "step": 2, "branch": "reschedule"},
        {"type": "outcome", "code": "confirmed"},
        {"type": "form", "channel": "phone", "notes": "asked to move to Tuesday"},
        {"type": "escalation-picker", "open": True, "route": "billing"},
    )
    assert second.status_code == 200
    assert second.json()["seq"] == first.json()["seq"] + 1

    before = audit_count(api, "session.read", f"user:{user_id(api, ASSISTANT)}")
    snap = snapshot(api, api.username("supervisor"), ASSISTANT)
    assert snap["status"] == "active" and snap["seq"] == second.json()["seq"]
    state = snap["state"]
    assert state["task_id"] == task.id and state["identity_verified"] is True
    assert (state["step"], state["branch"], state["outcome"]) == (2, "reschedule", "confirmed")
    assert state["form"]["notes"] == "asked to move to Tuesday"
    assert state["form"]["channel"] == "phone"
    assert state["escalation"]["route"] == "billing"
    assert state["agent_state"] == "on-call"
    assert snap["told"] is True
    # A look outside a shadow session is audited.
    assert audit_count(api, "session.read", f"user:{user_id(api, ASSISTANT)}") == before + 1

    # A later form event changes only the fields it names.
    assert publish(me, {"type": "form", "next_due": "tomorrow 10am"}).status_code == 200
    form = snapshot(api, api.username("supervisor"), ASSISTANT)["state"]["form"]
    assert form["notes"] == "asked to move to Tuesday" and form["next_due"] == "tomorrow 10am"


def test_a_locked_or_signed_out_workspace_mirrors_no_phi(
    api: ApiHarness, task: models.Task
) -> None:
    me = client_as(api, ASSISTANT)
    assert publish(me, {"type": "task-opened", "task_id": task.id}).status_code == 200
    assert publish(me, {"type": "form", "notes": "lives on Elm St"}).status_code == 200
    # Locked: every task field is gone, and a late form event does not put PHI back.
    assert publish(me, {"type": "locked"}, {"type": "form", "notes": "late"}).status_code == 200
    snap = snapshot(api, api.username("supervisor"), ASSISTANT)
    assert snap["status"] == "locked"
    assert snap["state"]["task_id"] is None and snap["state"]["form"]["notes"] == ""
    assert "Elm" not in str(snap) and "late" not in str(snap)
    # Unlocked: the workspace republishes what it shows.
    assert (
        publish(me, {"type": "unlocked"}, {"type": "task-opened", "task_id": task.id}).status_code
        == 200
    )
    snap = snapshot(api, api.username("supervisor"), ASSISTANT)
    assert snap["status"] == "active" and snap["state"]["task_id"] == task.id
    # Signed out: offline, nothing of the task.
    assert publish(me, {"type": "signed-out"}).status_code == 200
    snap = snapshot(api, api.username("supervisor"), ASSISTANT)
    assert snap["status"] == "offline" and snap["state"]["task_id"] is None
    assert publish(me, {"type": "unlocked"}).status_code == 200  # signed in again


def test_logging_out_makes_the_snapshot_offline(api: ApiHarness, task: models.Task) -> None:
    username = "ben.okafor"
    token = api.login(username)
    with api.client(headers={"Authorization": f"Bearer {token}"}) as c:
        assert publish(c, {"type": "task-opened", "task_id": task.id}).status_code == 200
        assert snapshot(api, "admin", username)["status"] == "active"
        assert c.post("/v1/auth/logout").status_code == 204
    snap = snapshot(api, "admin", username)
    assert snap["status"] == "offline" and snap["state"]["task_id"] is None


@pytest.mark.parametrize(
    "body",
    [
        {"events": []},
        {"events": [{"type": "no-such-event"}]},
        {"events": [{"type": "form", "notes": "x", "ssn": "1"}]},
        {"events": [{"type": "form", "notes": "x" * 4001}]},
        {"events": [{"type": "outcome", "code": "Not A Code"}]},
        {"events": [{"type": "script-step", "step": "2"}]},
        {"events": [{"type": "script-step", "step": -1}]},
        {"events": [{"type": "locked"}] * 51},
        {"events": [{"type": "agent-state", "state": "asleep"}]},
        {"events": {"type": "locked"}},
        {"evnts": [{"type": "locked"}]},
    ],
)
def test_bad_mirror_events_are_refused_whole(api: ApiHarness, body: dict[str, Any]) -> None:
    me = client_as(api, "demo")
    before = publish(me, {"type": "task-closed"})
    assert before.status_code == 200
    response = me.post("/v1/sessions/me/events", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid-request"
    after = publish(me, {"type": "task-closed"})
    assert after.json()["seq"] == before.json()["seq"] + 1  # nothing of the bad batch applied


# The flood guard (429, others unaffected) is tested in test_mirror_flood.py with
# limits that do not depend on how fast the machine sends.


def test_shadowing_is_audited_and_several_may_observe(api: ApiHarness, task: models.Task) -> None:
    subject = user_id(api, ASSISTANT)
    supervisor = api.username("supervisor")
    me = client_as(api, ASSISTANT)
    assert publish(me, {"type": "task-opened", "task_id": task.id}).status_code == 200
    starts = audit_count(api, "shadow.start")
    first = client_as(api, supervisor).post(f"/v1/sessions/{subject}/shadow")
    assert first.status_code == 201, first.text
    shadow = first.json()
    assert shadow["snapshot"]["state"]["task_id"] == task.id  # the snapshot to render first
    again = client_as(api, supervisor).post(f"/v1/sessions/{subject}/shadow")
    assert again.json()["id"] == shadow["id"]  # one open session per observer
    assert client_as(api, "admin").post(f"/v1/sessions/{subject}/shadow").status_code == 201
    assert audit_count(api, "shadow.start") == starts + 2
    assert audit_count(api, "shadow.start", f"shadow:{shadow['id']}") == 1

    # Reads inside a shadow session are covered by its start row.
    reads = audit_count(api, "session.read")
    snap = snapshot(api, supervisor, ASSISTANT)
    assert audit_count(api, "session.read") == reads
    names = {o["display_name"] for o in snap["observers"]}
    assert names == {"Sam Supervisor", "Ada Admin"}
    mine = me.get("/v1/sessions/me/observers").json()
    assert mine["told"] is True and {o["display_name"] for o in mine["observers"]} == names

    stops = audit_count(api, "shadow.stop")
    assert client_as(api, supervisor).delete(f"/v1/sessions/{subject}/shadow").status_code == 204
    assert client_as(api, supervisor).delete(f"/v1/sessions/{subject}/shadow").status_code == 204
    assert audit_count(api, "shadow.stop") == stops + 1
    assert audit_count(api, "shadow.stop", f"shadow:{shadow['id']}") == 1
    assert client_as(api, "admin").delete(f"/v1/sessions/{subject}/shadow").status_code == 204
    assert me.get("/v1/sessions/me/observers").json()["observers"] == []
    with api.session() as s:
        row = s.get(models.ShadowSessionRow, shadow["id"])
        assert row is not None and row.ended_at is not None


def test_a_practice_that_does_not_tell_hides_the_observers(api: ApiHarness) -> None:
    practice = api.practice(1)["id"]  # frontrange
    admin = client_as(api, "admin")
    subject = "gus.pemberton"
    put = admin.put(f"/v1/practices/{practice}/supervision", json={"tell_observed": False})
    assert put.status_code == 200, put.text
    try:
        assert (
            client_as(api, "supervisor.fr")
            .post(f"/v1/sessions/{user_id(api, subject)}/shadow")
            .status_code
            == 201
        )
        mine = client_as(api, subject).get("/v1/sessions/me/observers").json()
        assert mine == {"told": False, "observers": []}
        snap = snapshot(api, "supervisor.fr", subject)
        assert snap["told"] is False and len(snap["observers"]) == 1
    finally:
        admin.put(f"/v1/practices/{practice}/supervision", json={"tell_observed": True})
        client_as(api, "supervisor.fr").delete(f"/v1/sessions/{user_id(api, subject)}/shadow")


def test_shadowing_someone_not_signed_in_shows_them_offline(api: ApiHarness) -> None:
    response = client_as(api, api.username("supervisor")).post(
        f"/v1/sessions/{user_id(api, NEVER_SIGNED_IN)}/shadow"
    )
    assert response.status_code == 201, response.text
    snap = response.json()["snapshot"]
    assert snap["status"] == "offline" and snap["seq"] == 0 and snap["state"]["task_id"] is None
    client_as(api, api.username("supervisor")).delete(
        f"/v1/sessions/{user_id(api, NEVER_SIGNED_IN)}/shadow"
    )


def test_who_may_observe_whom(api: ApiHarness) -> None:
    hudson_assistant = user_id(api, ASSISTANT)
    assistant = client_as(api, "demo")
    # Assistants may not observe: 403 on every observer route.
    assert assistant.get(f"/v1/sessions/{hudson_assistant}").status_code == 403
    assert assistant.post(f"/v1/sessions/{hudson_assistant}/shadow").status_code == 403
    assert assistant.delete(f"/v1/sessions/{hudson_assistant}/shadow").status_code == 403
    refused = assistant.post("/v1/whispers", json={"to_user_id": hudson_assistant, "text": "hello"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    # Observers outside the assistant's practices: the audited 404.
    for observer in ("supervisor.fr", "trainer"):
        denied = audit_count(api, "denied-read", f"user:{hudson_assistant}")
        response = client_as(api, observer).post(f"/v1/sessions/{hudson_assistant}/shadow")
        assert response.status_code == 404, observer
        assert response.json()["error"]["code"] == "not-found"
        assert audit_count(api, "denied-read", f"user:{hudson_assistant}") == denied + 1
    # The trainer observes trainees; a supervisor is not someone to shadow; unknown ids 404.
    trainer = client_as(api, "trainer")
    assert trainer.get(f"/v1/sessions/{user_id(api, 'trainee')}").status_code == 200
    supervisor = client_as(api, api.username("supervisor"))
    assert supervisor.get(f"/v1/sessions/{user_id(api, 'supervisor.fr')}").status_code == 404
    assert supervisor.get(f"/v1/sessions/{uuid.uuid4()}").status_code == 404
    assert supervisor.get("/v1/sessions/" + "x" * 300).status_code == 404
    # Nobody signed in: 401.
    with api.client() as anonymous:
        assert anonymous.get(f"/v1/sessions/{hudson_assistant}").status_code == 401
        assert publish(anonymous, {"type": "locked"}).status_code == 401


def test_a_whisper_is_delivered_read_and_acknowledged(api: ApiHarness) -> None:
    supervisor = client_as(api, api.username("supervisor"))
    me = client_as(api, ASSISTANT)
    sent = supervisor.post(
        "/v1/whispers",
        json={"to_user_id": user_id(api, ASSISTANT), "text": "Offer the Thursday slot"},
    )
    assert sent.status_code == 201, sent.text
    whisper = sent.json()
    assert whisper["status"] == "unread" and whisper["from_display_name"] == "Sam Supervisor"
    assert audit_count(api, "whisper.send", f"whisper:{whisper['id']}") == 1

    unread = me.get("/v1/whispers", params={"status": "unread"}).json()
    assert [w["id"] for w in unread][-1] == whisper["id"]
    # Only the recipient acknowledges; anyone else gets the audited 404.
    denied = audit_count(api, "denied-read", f"whisper:{whisper['id']}")
    assert (
        client_as(api, "demo").post(f"/v1/whispers/{whisper['id']}/acknowledge").status_code == 404
    )
    assert supervisor.post(f"/v1/whispers/{whisper['id']}/acknowledge").status_code == 404
    assert audit_count(api, "denied-read", f"whisper:{whisper['id']}") == denied + 2

    acked = me.post(f"/v1/whispers/{whisper['id']}/acknowledge")
    assert acked.status_code == 200 and acked.json()["status"] == "read"
    assert me.post(f"/v1/whispers/{whisper['id']}/acknowledge").json() == acked.json()
    assert audit_count(api, "whisper.acknowledge", f"whisper:{whisper['id']}") == 1
    assert whisper["id"] not in {w["id"] for w in me.get("/v1/whispers").json()}
    # The sender sees it read.
    mine = supervisor.get("/v1/whispers", params={"sent": "true", "status": "all"}).json()
    assert {w["id"]: w["status"] for w in mine}[whisper["id"]] == "read"


@pytest.mark.parametrize(
    "text",
    ["", "   ", "x" * 281, "line one\nline two", "bell\x07", "esc\x1b[31mred", "zero\u200bwidth"],
)
def test_a_whisper_is_one_line_of_plain_text(api: ApiHarness, text: str) -> None:
    response = client_as(api, api.username("supervisor")).post(
        "/v1/whispers", json={"to_user_id": user_id(api, ASSISTANT), "text": text}
    )
    assert response.status_code == 422, response.text
    assert text.strip() == "" or text not in response.text  # never echoed


def test_a_whisper_outside_your_practices_is_404(api: ApiHarness) -> None:
    response = client_as(api, "supervisor.fr").post(
        "/v1/whispers", json={"to_user_id": user_id(api, ASSISTANT), "text": "hi"}
    )
    assert response.status_code == 404


def _text_columns(model: type[models.Base]) -> list[Any]:
    return [c for c in model.__table__.columns if isinstance(c.type, String | Text)]


def test_a_whisper_reaches_nothing_patient_facing(api: ApiHarness) -> None:
    """The whisper's text is searched for in every table but `whispers`, in the feed
    of the assistant and of the supervisor and in the audit log: found in none."""
    marker = f"WHISPER-{uuid.uuid4().hex[:12]}"
    supervisor = client_as(api, api.username("supervisor"))
    assistant = "demo"
    sent = supervisor.post(
        "/v1/whispers", json={"to_user_id": user_id(api, assistant), "text": f"say {marker}"}
    )
    assert sent.status_code == 201
    # A working day around it: an attempt with notes, an escalation, a mirror, an ack.
    task = TaskPicker(api, assistant)()
    me = client_as(api, assistant)
    assert publish(me, {"type": "task-opened", "task_id": task.id}).status_code == 200
    attempt = attempt_body(task, notes="called back")
    assert post_attempt(me, attempt).status_code == 201
    second = TaskPicker(api, assistant)()
    assert post_escalation(me, escalation_body(second.id, "billing", "a bill")).status_code == 201
    assert me.post(f"/v1/whispers/{sent.json()['id']}/acknowledge").status_code == 200

    with api.session() as s:
        # The search finds it where it belongs (the check below can fail).
        stored = s.execute(select(models.Whisper).where(models.Whisper.text.contains(marker)))
        assert stored.first() is not None
        for table_model in models.Base.__subclasses__():
            if table_model is models.Whisper or not hasattr(table_model, "__table__"):
                continue
            columns = _text_columns(table_model)
            json_columns = [
                c for c in table_model.__table__.columns if c.type.__class__.__name__ == "JSON"
            ]
            conditions = [c.contains(marker) for c in columns] + [
                cast(c, Text).contains(marker) for c in json_columns
            ]
            if not conditions:
                continue
            found = s.execute(select(table_model).where(or_(*conditions)).limit(1)).first()
            assert found is None, f"the whisper's text is in {table_model.__tablename__}"
    for who in (assistant, api.username("supervisor")):
        changes, _ = sync_all(client_as(api, who))
        assert marker not in str(changes)
    audit = client_as(api, "admin").get("/v1/audit", params={"limit": 1000})
    assert audit.status_code == 200 and marker not in audit.text
    # The FHIR exports (Task, and attempts as Communication), every page.
    exported = ""
    for resource in ("Task", "Communication"):
        url: str | None = f"/v1/fhir/{resource}"
        params: dict[str, Any] | None = {"_count": 500}
        for _ in range(100):
            assert url is not None
            page = client_as(api, api.username("supervisor")).get(url, params=params)
            assert page.status_code == 200, page.text
            assert marker not in page.text
            exported += page.text
            following = [
                link["url"] for link in page.json().get("link", []) if link["relation"] == "next"
            ]
            if not following:
                break
            url, params = following[0].removeprefix(api.url).removeprefix("http://testserver"), None
    assert attempt["id"] in exported  # the export was read, the attempt is in it
