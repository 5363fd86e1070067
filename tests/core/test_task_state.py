"""The task status machine and apply_outcome: examples and properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pendulum
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from followup_core.business_time import next_in_calling_window
from followup_core.enums import TERMINAL_STATUSES, EscalationRoute, TaskStatus, WorkflowId
from followup_core.errors import IllegalTransition, MissingField, UnknownOutcome
from followup_core.schemas import NextStep
from followup_core.task_state import (
    ALLOWED,
    MAX_ATTEMPTS_STATUS,
    apply_outcome,
    can_transition,
    transition,
)
from followup_core.workflows import WORKFLOWS, OutcomeEffect
from tests.core.calendars import new_york

S = TaskStatus
CAL = new_york()
CONFIRM = WORKFLOWS[WorkflowId.APPOINTMENT_CONFIRMATION]
TUESDAY_10 = pendulum.datetime(2026, 11, 24, 10, 0, tz="America/New_York")


def _apply(status=S.IN_PROGRESS, attempts=0, outcome="no-answer", wf=CONFIRM, **kw):
    args = dict(
        workflow=wf,
        status=status,
        attempts=attempts,
        outcome=outcome,
        ended_at=TUESDAY_10,
        next_step=None,
        calendar=CAL,
        patient_tz="America/Chicago",
    )
    args.update(kw)
    return apply_outcome(**args)


def test_allowed_covers_every_status_and_terminals_are_terminal() -> None:
    assert set(ALLOWED) == set(TaskStatus)
    for status in TERMINAL_STATUSES:
        assert ALLOWED[status] == frozenset()
        for to in TaskStatus:
            with pytest.raises(IllegalTransition):
                transition(status, to)
    assert transition(S.READY, S.IN_PROGRESS) is S.IN_PROGRESS
    assert transition("on-hold", "ready") is S.READY
    assert transition(S.READY, S.READY) is S.READY  # an open task may stay put
    with pytest.raises(IllegalTransition, match="from completed to in-progress"):
        transition(S.COMPLETED, S.IN_PROGRESS)


def test_no_answer_retries_after_spacing_inside_window_and_hours() -> None:
    up = _apply()
    assert up.status is S.READY
    assert up.business_status == "no-answer"
    assert up.attempts == 1
    assert up.auto_escalation is None
    assert up.next_attempt_at is not None
    assert up.next_attempt_at >= TUESDAY_10 + CONFIRM.policy.min_spacing
    assert CAL.is_open(up.next_attempt_at)
    p = CONFIRM.policy
    w = next_in_calling_window(up.next_attempt_at, "America/Chicago", p.window_start, p.window_end)
    assert w == up.next_attempt_at
    assert "attempt 2 of 3" in (up.next_action or "")


def test_retry_late_in_the_day_rolls_to_next_opening() -> None:
    late = pendulum.datetime(2026, 11, 25, 15, 0, tz="America/New_York")  # day before a holiday
    up = _apply(ended_at=late)
    assert up.next_attempt_at == pendulum.datetime(2026, 11, 27, 10, 0, tz="America/New_York")


def test_voicemail_holds_awaiting_callback() -> None:
    up = _apply(outcome="left-voicemail", attempts=1, status=S.READY)
    assert up.status is S.ON_HOLD
    assert up.business_status == "left-voicemail"
    assert up.attempts == 2
    assert up.next_attempt_at is not None


def test_max_attempts_fail_and_escalate() -> None:
    up = _apply(attempts=2, outcome="left-voicemail")
    assert up.status is S.FAILED
    assert up.attempts == 3
    assert up.business_status == MAX_ATTEMPTS_STATUS
    assert up.auto_escalation is EscalationRoute.REPEATED_FAILED_CONTACT
    assert up.next_attempt_at is None


def test_complete_fail_and_reschedule() -> None:
    done = _apply(outcome="confirmed", attempts=1)
    assert (done.status, done.business_status, done.attempts) == (S.COMPLETED, "confirmed", 2)
    assert done.next_attempt_at is None and done.auto_escalation is None
    wrong = _apply(outcome="wrong-number")
    assert wrong.status is S.FAILED and wrong.auto_escalation is None
    due = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
    later = _apply(outcome="callback-requested", next_step=NextStep(action="Call back", due_at=due))
    assert later.status is S.READY
    assert later.next_attempt_at == due
    assert later.next_action == "Call back"
    # A promised time already past is worked straight away, not before the call ended.
    past = _apply(
        outcome="callback-requested",
        next_step=NextStep(action="Call back", due_at=datetime(2026, 1, 1, tzinfo=UTC)),
    )
    assert past.next_attempt_at == TUESDAY_10


def test_bad_outcomes_raise_typed_errors() -> None:
    with pytest.raises(UnknownOutcome):
        _apply(outcome="specialist-scheduled")
    with pytest.raises(MissingField):
        _apply(outcome="rescheduled")
    with pytest.raises(IllegalTransition, match="finished"):
        _apply(status=S.COMPLETED, outcome="confirmed")
    with pytest.raises(ValueError):
        _apply(attempts=-1)


def test_unmatched_caller_uses_the_practice_zone() -> None:
    wf = WORKFLOWS[WorkflowId.MISSED_CALL_RECOVERY]
    up = _apply(wf=wf, patient_tz=None)
    assert up.status is S.READY and CAL.is_open(up.next_attempt_at)


# --- properties ---------------------------------------------------------------

statuses = st.sampled_from(list(TaskStatus))


@settings(max_examples=300, deadline=None)
@given(start=statuses, moves=st.lists(statuses, max_size=30))
def test_random_transitions_only_follow_allowed_edges(start, moves) -> None:
    current = start
    for to in moves:
        if can_transition(current, to):
            new = transition(current, to)
            assert new is to
            assert current not in TERMINAL_STATUSES
            assert to == current or to in ALLOWED[current]
            current = new
        else:
            with pytest.raises(IllegalTransition):
                transition(current, to)
            assert current in TERMINAL_STATUSES or (to != current and to not in ALLOWED[current])
    assert current in set(TaskStatus)


workflows = st.sampled_from(list(WORKFLOWS.values()))
instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(wf=workflows, data=st.data())
def test_outcome_sequences_respect_max_attempts(wf, data) -> None:
    status, attempts, failed_contacts = S.READY, 0, 0
    at = data.draw(instants)
    for _ in range(12):
        if status in TERMINAL_STATUSES:
            with pytest.raises(IllegalTransition):
                _apply(wf=wf, status=status, attempts=attempts, outcome=wf.outcomes[0], ended_at=at)
            break
        code = data.draw(st.sampled_from(wf.outcomes))
        step = NextStep(action="Follow up", due_at=at + timedelta(days=1))
        up = _apply(
            wf=wf, status=status, attempts=attempts, outcome=code, ended_at=at, next_step=step
        )
        assert up.attempts == attempts + 1
        assert can_transition(status, up.status)
        if code.effect.is_failed_contact:
            failed_contacts += 1
            if up.attempts >= wf.policy.max_attempts:
                assert up.status is S.FAILED
                assert up.auto_escalation is EscalationRoute.REPEATED_FAILED_CONTACT
            else:
                assert up.status in {S.READY, S.ON_HOLD}
                assert up.next_attempt_at is not None and up.next_attempt_at >= at
                assert CAL.is_open(up.next_attempt_at)
        else:
            assert up.auto_escalation is None
        if code.effect is OutcomeEffect.COMPLETE:
            assert up.status is S.COMPLETED
        if up.status not in TERMINAL_STATUSES:
            # An open task always has a time to work it next, or is worked now.
            assert up.attempts < wf.policy.max_attempts or not code.effect.is_failed_contact
        status, attempts = up.status, up.attempts
        at = at + timedelta(hours=data.draw(st.integers(0, 72)))
    # Never more failed contacts than the policy allows before the task failed.
    assert failed_contacts <= wf.policy.max_attempts
