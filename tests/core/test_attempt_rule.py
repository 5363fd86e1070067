"""`apply_attempt`, the one rule for an attempt, over the shared case table."""

from __future__ import annotations

import pendulum
import pytest

from followup_core.enums import TaskStatus, WorkflowId
from followup_core.task_state import apply_attempt
from followup_core.workflows import WORKFLOWS
from tests.core.calendars import new_york
from tests.support.attempt_cases import ATTEMPT_CASES, AttemptCase

CONFIRM = WORKFLOWS[WorkflowId.APPOINTMENT_CONFIRMATION]
TUESDAY_10 = pendulum.datetime(2026, 11, 24, 10, 0, tz="America/New_York")


@pytest.mark.parametrize("case", ATTEMPT_CASES, ids=lambda c: c.name)
def test_the_rule_over_the_shared_cases(case: AttemptCase) -> None:
    effect = apply_attempt(
        workflow=CONFIRM,
        status=case.status,
        attempts=0,
        outcome=case.outcome,
        ended_at=TUESDAY_10,
        next_step=None,
        calendar=new_york(),
        patient_tz="America/Chicago",
    )
    assert effect.conflict is case.conflict
    if case.moves:
        assert effect.update is not None
        assert effect.update.status == TaskStatus(case.after_status)
        assert effect.update.attempts == 1
    else:
        assert effect.update is None


def test_a_stale_attempt_on_an_open_task_moves_it_and_is_flagged() -> None:
    effect = apply_attempt(
        workflow=CONFIRM,
        status="ready",
        attempts=0,
        outcome="no-answer",
        ended_at=TUESDAY_10,
        next_step=None,
        calendar=new_york(),
        patient_tz=None,
        stale=True,
    )
    assert effect.conflict is True and effect.update is not None
