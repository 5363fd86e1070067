"""One table of attempt cases, run against the server and the client cache alike.

The rule lives once (`followup_core.task_state.apply_attempt`); these cases
prove both callers follow it, including on a task that was already finished:
the attempt is stored, the task stays as it is, the conflict is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AttemptCase:
    """A task in `status` with `attempts`, then a phone attempt with `outcome`."""

    name: str
    status: str
    outcome: str
    moves: bool  # does the task change (status/attempts)?
    conflict: bool  # is the attempt flagged for review?
    after_status: str  # the task's status afterwards


ATTEMPT_CASES = [
    AttemptCase("open-no-answer", "ready", "no-answer", True, False, "ready"),
    AttemptCase("open-voicemail", "ready", "left-voicemail", True, False, "on-hold"),
    AttemptCase("completed-no-answer", "completed", "no-answer", False, True, "completed"),
    AttemptCase("failed-voicemail", "failed", "left-voicemail", False, True, "failed"),
    AttemptCase("cancelled-no-answer", "cancelled", "no-answer", False, True, "cancelled"),
]
