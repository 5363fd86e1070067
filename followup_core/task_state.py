"""The task status machine (FHIR R4 Task.status) and how an outcome moves a task.

`apply_attempt` is the one place a documented attempt changes a task. The
server runs it when an attempt arrives (`central_api.work.record_attempt`) and
the client cache runs the same code offline (`local_cache.outcomes.advance`),
so an assistant's queue moves on before the server has answered, and both
agree on a task that was already finished.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType

from pendulum import DateTime

from followup_core.business_time import PracticeCalendar, to_utc
from followup_core.enums import TERMINAL_STATUSES, EscalationRoute, TaskStatus
from followup_core.errors import IllegalTransition, MissingField
from followup_core.schemas import NextStep
from followup_core.workflows import OutcomeCode, OutcomeEffect, Workflow

S = TaskStatus
_OPEN_EXITS = frozenset({S.COMPLETED, S.FAILED, S.CANCELLED, S.ENTERED_IN_ERROR})

# Legal moves between distinct statuses. Terminal statuses have none: a finished
# task is corrected by a new task, not by reopening it.
ALLOWED: Mapping[TaskStatus, frozenset[TaskStatus]] = MappingProxyType(
    {
        S.REQUESTED: frozenset({S.READY, S.IN_PROGRESS, S.ON_HOLD}) | _OPEN_EXITS,
        S.READY: frozenset({S.REQUESTED, S.IN_PROGRESS, S.ON_HOLD}) | _OPEN_EXITS,
        S.IN_PROGRESS: frozenset({S.READY, S.ON_HOLD}) | _OPEN_EXITS,
        S.ON_HOLD: frozenset({S.READY, S.IN_PROGRESS}) | _OPEN_EXITS,
        S.COMPLETED: frozenset(),
        S.FAILED: frozenset(),
        S.CANCELLED: frozenset(),
        S.ENTERED_IN_ERROR: frozenset(),
    }
)

MAX_ATTEMPTS_STATUS = "max-attempts-reached"


def is_terminal(status: TaskStatus | str) -> bool:
    return TaskStatus(status) in TERMINAL_STATUSES


def can_transition(current: TaskStatus | str, to: TaskStatus | str) -> bool:
    cur, new = TaskStatus(current), TaskStatus(to)
    if cur == new:
        return not is_terminal(cur)
    return new in ALLOWED[cur]


def transition(current: TaskStatus | str, to: TaskStatus | str) -> TaskStatus:
    """The new status, or IllegalTransition. Staying put is fine for an open task."""
    if not can_transition(current, to):
        cur = TaskStatus(current)
        detail = "it is finished" if is_terminal(cur) else ""
        raise IllegalTransition(cur.value, TaskStatus(to).value, detail)
    return TaskStatus(to)


@dataclass(frozen=True)
class TaskUpdate:
    """What an outcome does to a task; the caller writes it and bumps the version."""

    status: TaskStatus
    business_status: str | None
    attempts: int
    next_attempt_at: DateTime | None
    next_action: str | None
    auto_escalation: EscalationRoute | None


def apply_outcome(
    *,
    workflow: Workflow,
    status: TaskStatus | str,
    attempts: int,
    outcome: OutcomeCode | str,
    ended_at: datetime,
    next_step: NextStep | None,
    calendar: PracticeCalendar,
    patient_tz: str | None,
) -> TaskUpdate:
    """Move a task by one documented attempt.

    - COMPLETE / FAIL finish the task.
    - RETRY (not reached) → ready, next try after the workflow's minimum spacing,
      inside practice hours and the patient's calling window.
    - AWAIT_CALLBACK (message left) → on-hold until the same next try.
    - RESCHEDULE (reached, call again later) → ready at the promised next step.
    - NONE → status unchanged.
    A failed contact (RETRY or AWAIT_CALLBACK) that reaches the workflow's
    max attempts fails the task and asks for a `repeated-failed-contact`
    escalation. `attempts` counts every attempt, this one included.
    Raises UnknownOutcome, MissingField, IllegalTransition (finished task).
    """
    current = TaskStatus(status)
    code = outcome if isinstance(outcome, OutcomeCode) else workflow.outcome(outcome)
    if is_terminal(current):
        raise IllegalTransition(current.value, "a new attempt", "it is finished")
    if attempts < 0:
        raise ValueError("attempts cannot be negative")
    if "next_step" in code.requires and next_step is None:
        raise MissingField(code.code, "next_step")
    done = attempts + 1
    ended = to_utc(ended_at)
    policy = workflow.policy
    effect = code.effect
    step_action = next_step.action if next_step is not None else None

    if effect.is_failed_contact and done >= policy.max_attempts:
        return TaskUpdate(
            status=transition(current, S.FAILED),
            business_status=MAX_ATTEMPTS_STATUS,
            attempts=done,
            next_attempt_at=None,
            next_action="Escalated: repeated failed contact",
            auto_escalation=EscalationRoute.REPEATED_FAILED_CONTACT,
        )
    if effect.is_failed_contact:
        retry_at = calendar.next_contact_time(
            ended + policy.min_spacing, patient_tz, policy.window_start, policy.window_end
        )
        call_again = f"Call again (attempt {done + 1} of {policy.max_attempts})"
        if effect is OutcomeEffect.RETRY:
            new_status, action = S.READY, call_again
        else:
            new_status, action = (
                S.ON_HOLD,
                f"Await callback; then {call_again[0].lower()}{call_again[1:]}",
            )
        return TaskUpdate(
            transition(current, new_status), code.business_status, done, retry_at, action, None
        )
    if effect is OutcomeEffect.RESCHEDULE:
        assert next_step is not None  # checked above: RESCHEDULE requires next_step
        when = max(to_utc(next_step.due_at), ended)
        return TaskUpdate(
            transition(current, S.READY), code.business_status, done, when, step_action, None
        )
    if effect is OutcomeEffect.COMPLETE:
        return TaskUpdate(
            transition(current, S.COMPLETED), code.business_status, done, None, step_action, None
        )
    if effect is OutcomeEffect.FAIL:
        return TaskUpdate(
            transition(current, S.FAILED), code.business_status, done, None, None, None
        )
    # NONE: documentation only.
    return TaskUpdate(current, code.business_status, done, None, step_action, None)


@dataclass(frozen=True)
class AttemptEffect:
    """What one documented attempt does to its task.

    `update` is None when the task stays exactly as it is (it was already
    finished); `conflict` is True when a person should review the attempt (the
    task was finished, or the caller says the attempt was made against an older
    version or by someone the task was taken from).
    """

    update: TaskUpdate | None
    conflict: bool


def apply_attempt(
    *,
    workflow: Workflow,
    status: TaskStatus | str,
    attempts: int,
    outcome: OutcomeCode | str,
    ended_at: datetime,
    next_step: NextStep | None,
    calendar: PracticeCalendar,
    patient_tz: str | None,
    stale: bool = False,
) -> AttemptEffect:
    """The rule for an attempt that is already validated against its workflow.

    An attempt is a fact: it is always stored. On an open task it moves the
    task by `apply_outcome`. On a finished task (someone else's attempt, or a
    supervisor, got there first) the task is left unchanged (status, attempts,
    next try) and the attempt is flagged as a conflict for review; a finished
    task is corrected by a new task, never reopened (FHIR R4 Task.status).
    `stale`: the caller's own reason for a conflict (an older task version, a
    task handed over). Raises UnknownOutcome, MissingField (an open task and
    an outcome that needs a next step it lacks).
    """
    if is_terminal(status):
        return AttemptEffect(update=None, conflict=True)
    update = apply_outcome(
        workflow=workflow,
        status=status,
        attempts=attempts,
        outcome=outcome,
        ended_at=ended_at,
        next_step=next_step,
        calendar=calendar,
        patient_tz=patient_tz,
    )
    return AttemptEffect(update=update, conflict=stale)
