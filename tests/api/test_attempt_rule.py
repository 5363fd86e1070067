"""The server follows the one attempt rule (same cases as tests/cache/test_attempt_rule.py)."""

from __future__ import annotations

import pytest

from central_api import models
from tests.api.conftest import ApiHarness
from tests.api.work_support import (
    TaskPicker,
    attempt_body,
    client_as,
    close_work_clients,  # noqa: F401 (autouse fixture)
    post_attempt,
)
from tests.support.attempt_cases import ATTEMPT_CASES, AttemptCase


@pytest.fixture(scope="module")
def fresh(api: ApiHarness) -> TaskPicker:
    return TaskPicker(api, api.username("assistant"))


@pytest.mark.parametrize("case", ATTEMPT_CASES, ids=lambda c: c.name)
def test_the_server_follows_the_rule(api: ApiHarness, fresh: TaskPicker, case: AttemptCase) -> None:
    picked = fresh()
    with api.session() as s:
        task = s.get(models.Task, picked.id)
        assert task is not None
        task.status, task.attempts, task.needs_review = case.status, 0, False
        s.commit()
        s.refresh(task)
        before = (task.status, task.attempts, task.next_attempt_at, task.business_status)
        version = task.version
    client = client_as(api, api.username("assistant"))
    body = attempt_body(picked, case.outcome, task_version=version)
    response = post_attempt(client, body)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["conflict"] is case.conflict
    assert created["task"]["status"] == case.after_status
    with api.session() as s:
        stored = s.get(models.Task, picked.id)
        attempt = s.get(models.Attempt, body["id"])
        assert stored is not None and attempt is not None  # stored in every case
        assert attempt.conflict is case.conflict and stored.needs_review is case.conflict
        after = (stored.status, stored.attempts, stored.next_attempt_at, stored.business_status)
    if case.moves:
        assert after[1] == 1
    else:
        assert after == before  # a finished task stays as it was (only flagged)
