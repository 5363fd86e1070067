"""The sync feed: paging, cursors, visibility, deduplication, remove on reassignment."""

from __future__ import annotations

import base64
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select, text

from central_api import models
from central_api.assignment import reassign
from central_api.feed import FEED_LOCK_KEY, encode_cursor, log_change
from followup_core.enums import ChangeKind
from followup_core.schemas import CHANGE_SCHEMAS, Change
from tests.api.conftest import ApiHarness
from tests.api.work_support import (
    attempt_body,
    audit_count,
    client_as,
    close_work_clients,  # noqa: F401 (autouse fixture)
    latest,
    open_tasks,
    post_attempt,
    sync_all,
    user_id,
)


def test_initial_sync_pages_over_exactly_the_assistants_queue(api: ApiHarness) -> None:
    me = api.username("assistant")
    changes, _ = sync_all(client_as(api, me), limit=97)
    state = latest(changes)
    for change in changes:
        Change.model_validate(change)  # the wire shape, strictly
        if change["op"] == "upsert":
            CHANGE_SCHEMAS[ChangeKind(change["kind"])].model_validate(change["data"])
    task_ids = {i for (k, i), c in state.items() if k == "task" and c["op"] == "upsert"}
    patient_ids = {i for (k, i), c in state.items() if k == "patient"}
    with api.session() as s:
        mine = s.scalars(select(models.Task).where(models.Task.owner_id == user_id(api, me))).all()
        expected_patients = {t.patient_id for t in mine if t.patient_id}
        pid = api.practice(0)["id"]
        scripts = set(s.scalars(select(models.Script.id).where(models.Script.practice_id == pid)))
    assert task_ids == {t.id for t in mine}
    assert patient_ids == expected_patients
    assert {i for (k, i) in state if k == "script"} == scripts
    assert {i for (k, i) in state if k == "practice"} == {pid}


def test_cursor_resumes_and_empty_tail(api: ApiHarness) -> None:
    client = client_as(api, api.username("assistant"))
    everything, _ = sync_all(client, limit=1000)
    first = client.get("/v1/sync", params={"limit": 10}).json()
    assert first["has_more"] is True and len(first["changes"]) <= 10
    rest, cursor2 = sync_all(client, after=first["cursor"], limit=1000)
    assert [c["id"] for c in first["changes"] + rest] == [c["id"] for c in everything]
    tail = client.get("/v1/sync", params={"after": cursor2}).json()
    assert tail == {"cursor": cursor2, "has_more": False, "changes": []}


def test_bad_or_tampered_cursor_is_400(api: ApiHarness) -> None:
    client = client_as(api, api.username("assistant"))
    with api.session() as s:
        good = encode_cursor(s, 5)
    raw = base64.urlsafe_b64decode(good + "=" * (-len(good) % 4)).decode()
    forged = base64.urlsafe_b64encode(raw.replace("c2.feed.5.", "c2.feed.6.").encode()).decode()
    for cursor in ("garbage", forged, "%%%", base64.urlsafe_b64encode(b"c2.feed.-1.x").decode()):
        response = client.get("/v1/sync", params={"after": cursor})
        assert response.status_code == 400, cursor
        assert response.json()["error"]["code"] == "bad-cursor"
    for limit in (0, 1001, -3):
        assert client.get("/v1/sync", params={"limit": limit}).status_code == 422


def test_a_page_carries_each_record_once_at_its_latest_state(api: ApiHarness) -> None:
    me = api.username("assistant")
    client = client_as(api, me)
    _, cursor = sync_all(client)
    task = open_tasks(api, me)[0]
    first = post_attempt(client, attempt_body(task, "no-answer"))
    assert first.status_code == 201
    second_task = first.json()["task"]
    with api.session() as s:
        row = s.get(models.Task, task.id)
        assert row is not None
    second = post_attempt(
        client, attempt_body(row, "left-voicemail", task_version=second_task["version"])
    )
    assert second.status_code == 201, second.text
    changes, _ = sync_all(client, after=cursor)
    task_changes = [c for c in changes if c["kind"] == "task" and c["id"] == task.id]
    assert len(task_changes) == 1
    assert task_changes[0]["version"] == second.json()["task"]["version"]
    assert task_changes[0]["data"]["attempts"] == 2
    attempts = {c["id"] for c in changes if c["kind"] == "attempt"}
    assert {first.json()["attempt"]["id"], second.json()["attempt"]["id"]} <= attempts


def test_reassigned_task_is_removed_for_the_old_owner_and_arrives_whole_for_the_new(
    api: ApiHarness,
) -> None:
    old, new = api.username("assistant"), "ava.lindqvist"
    assert old != new
    old_client, new_client = client_as(api, old), client_as(api, new)
    _, old_cursor = sync_all(old_client)
    _, new_cursor = sync_all(new_client)
    task = open_tasks(api, old)[-1]
    attempt = post_attempt(old_client, attempt_body(task, "no-answer"))
    assert attempt.status_code == 201
    attempt_id = attempt.json()["attempt"]["id"]
    with api.session() as s:
        row = s.get(models.Task, task.id)
        assert row is not None
        reassign(s, row, user_id(api, new))
        s.commit()

    old_state = latest(sync_all(old_client, after=old_cursor)[0])
    assert old_state[("task", task.id)]["op"] == "remove"
    assert old_state[("task", task.id)]["data"] is None
    assert old_state[("attempt", attempt_id)]["op"] == "remove"

    new_state = latest(sync_all(new_client, after=new_cursor)[0])
    assert new_state[("task", task.id)]["op"] == "upsert"
    assert new_state[("task", task.id)]["data"]["owner_id"] == user_id(api, new)
    assert new_state[("attempt", attempt_id)]["op"] == "upsert"
    assert new_state[("patient", task.patient_id)]["op"] == "upsert"
    assert task.focus_id is not None
    assert new_state[("appointment", task.focus_id)]["op"] == "upsert"
    # The old owner can no longer open it.
    assert old_client.get(f"/v1/tasks/{task.id}").status_code == 404


def test_supervisors_see_their_practices_and_trainers_only_training(api: ApiHarness) -> None:
    def practices_seen(username: str) -> set[str]:
        changes, _ = sync_all(client_as(api, username))
        return {c["data"]["practice_id"] for c in changes if c["kind"] == "task"}

    frontrange, training = api.practice(1)["id"], api.practice(2)["id"]
    assert practices_seen("supervisor.fr") == {frontrange}
    assert practices_seen("trainer") == {training}


def test_each_sync_page_is_audited(api: ApiHarness) -> None:
    client = client_as(api, api.username("assistant"))
    before = audit_count(api, "sync")
    assert client.get("/v1/sync", params={"limit": 5}).status_code == 200
    assert audit_count(api, "sync") == before + 1


def test_on_postgres_a_later_writer_waits_so_seq_order_is_commit_order(api: ApiHarness) -> None:
    if api.kind != "postgres":
        pytest.skip("SQLite writers serialize already (BEGIN IMMEDIATE)")
    me = api.username("assistant")
    task = open_tasks(api, me, workflow=None)[1]
    client = client_as(api, me)
    with api.session() as holder:
        # An open transaction that has taken a seq and not committed yet.
        log_change(
            holder,
            kind="practice",
            record_id=task.practice_id,
            practice_id=task.practice_id,
            version=1,
        )
        holder.flush()
        held_seq = holder.scalar(select(func.max(models.ChangeLog.seq)))
        assert held_seq is not None
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(post_attempt, client, attempt_body(task, "no-answer"))
            deadline = time.monotonic() + 20
            with api.session() as probe:
                while True:
                    waiting = probe.scalar(
                        text(
                            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
                            " AND objid = :k AND NOT granted"
                        ),
                        {"k": FEED_LOCK_KEY},
                    )
                    probe.rollback()
                    if waiting or pending.done() or time.monotonic() > deadline:
                        break
            assert waiting, "the second writer did not wait for the first"
            assert not pending.done()
            holder.rollback()
            response = pending.result(timeout=30)
    assert response.status_code == 201
    with api.session() as s:
        seqs = s.scalars(
            select(models.ChangeLog.seq).where(
                models.ChangeLog.record_id == response.json()["attempt"]["id"]
            )
        ).all()
    assert seqs and min(seqs) > held_seq
