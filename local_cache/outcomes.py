"""Move a cached task on at once when an attempt is recorded offline.

The rule is `followup_core.task_state.apply_attempt`, the same function the
server runs, so the queue the assistant sees offline is the queue the server
will compute when the attempt arrives (a finished task stays as it is on both).
"""

from __future__ import annotations

from typing import Any

from followup_core.schemas import AttemptIn, PatientOut, PracticeOut, TaskOut
from followup_core.workflows import WORKFLOWS

_CALENDARS: dict[tuple[str, int], Any] = {}


def _calendar(practice: PracticeOut) -> Any:
    from followup_core.business_time import PracticeCalendar

    # A calendar is pure and depends only on the practice record; keyed by a
    # hash of it so an edited practice gets a fresh one.
    key = (practice.id, hash(practice.model_dump_json()))
    cal = _CALENDARS.get(key)
    if cal is None:
        cal = PracticeCalendar.from_practice(practice)
        if len(_CALENDARS) > 64:
            _CALENDARS.clear()
        _CALENDARS[key] = cal
    return cal


def advance(
    task: TaskOut, attempt: AttemptIn, practice: PracticeOut, patient: PatientOut | None
) -> TaskOut | None:
    """The task as the outcome leaves it, or None when the rules leave it where it is.

    Raises `UnknownOutcome`/`MissingField`/`ChannelNotAllowed` for an attempt
    the workflow (or the patient's consent) does not accept, exactly as the
    server would refuse it with a 422; nothing is recorded then. A task that
    is already finished is not an error: the call happened and is recorded,
    the task stays as it is (None here), and the server flags it for review.
    """
    from followup_core.task_state import apply_attempt

    workflow = WORKFLOWS[task.workflow]
    outcome = workflow.check_attempt(
        outcome=attempt.outcome,
        channel=attempt.channel,
        identity_verified=attempt.identity_verified,
        has_next_step=attempt.next_step is not None,
        notes=attempt.notes,
        consent=patient.consent if patient else None,
    )
    update = apply_attempt(
        workflow=workflow,
        status=task.status,
        attempts=task.attempts,
        outcome=outcome,
        ended_at=attempt.ended_at,
        next_step=attempt.next_step,
        calendar=_calendar(practice),
        patient_tz=patient.timezone if patient else practice.timezone,
    ).update
    if update is None:
        return None
    return task.model_copy(
        update={
            "status": update.status,
            "business_status": update.business_status,
            "attempts": update.attempts,
            "next_attempt_at": update.next_attempt_at,
            "next_action": update.next_action,
            "updated_at": attempt.ended_at,
        }
    )


__all__ = ["advance"]
