"""Recording training runs from the session mirror (issue 9, DESIGN "Training").

A trainee works a run's task in the normal workspace, which already publishes its
mirror batches (`POST /v1/sessions/me/events`). The server relays each batch into
the run it concerns, so a run is recorded with no extra client call:

1. the batch is read in the context of the mirror state before it (the task that
   was open when the batch began), as `followup_core.training.recorder.run_events`
   expects a stream that starts with a `task-opened`;
2. the runs are those whose task the batch touches, assigned to the caller and not
   yet scored (a scored run's events are closed; its batches are skipped);
3. `run_events` keeps only the scoring events of that task (no typed text) and they
   are appended to `training_run_events` in one short transaction.

Only batches that carry a scoring event (`identity-verified`, `script-step`,
`escalation-picker`, `outcome`) of a task cost a query at all; "this task is no
run's" is remembered per process (a run always gets a task of its own when it is
assigned, so the answer never changes), so real work costs one indexed lookup per
task, once.

Failure: the mirror batch was applied before the relay runs, so a database error
here (a locked file, a lost connection) must not turn the batch into a 500. The
relay's work is rolled back, one warning is logged (the user id and the error's
class: no event bodies, no PHI), and the task ids are not remembered, so the next
batch of the task asks again and records from then on; the failed batch's own
scoring events are not recorded (the mirror is best effort; the trainer's marks
still score the run).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from central_api import models
from followup_core.enums import Role
from followup_core.supervision import MirrorEvent, MirrorState
from followup_core.training.recorder import KEPT_TYPES, run_events

_NOT_A_RUN_LIMIT = 50_000

log = logging.getLogger(__name__)


class RunTasks:
    """Per-process memory of task ids that belong to no training run (thread-safe).

    Bounded: past `limit` entries it starts again empty (a cache miss costs one
    indexed query, never a wrong answer).
    """

    def __init__(self, limit: int = _NOT_A_RUN_LIMIT) -> None:
        self._lock = threading.Lock()
        self._no_run: set[str] = set()
        self._limit = limit

    def unknown(self, task_ids: set[str]) -> set[str]:
        """Those of `task_ids` not known to be outside every run."""
        with self._lock:
            return task_ids - self._no_run

    def not_runs(self, task_ids: set[str]) -> None:
        with self._lock:
            if len(self._no_run) + len(task_ids) > self._limit:
                self._no_run.clear()
            self._no_run.update(task_ids)


def relay(
    session: Session,
    known: RunTasks,
    user: models.User,
    before: MirrorState | None,
    events: Sequence[MirrorEvent],
) -> int:
    """Append a mirror batch's scoring events to the caller's open runs; the number stored.

    `before` is the caller's mirror state before the batch (None: first batch);
    `events` the batch, oldest first. Commits `session` when it stores anything.
    Never raises for a database error: it rolls `session` back, logs a warning
    (user id and error class only) and returns 0, leaving the batch's task ids
    unremembered so the next batch retries (see the module docstring).
    """
    if user.role != str(Role.ASSISTANT):
        return 0
    stream: list[dict[str, Any]] = []
    if before is not None and before.task_id is not None:
        stream.append({"type": "task-opened", "task_id": before.task_id})
    stream.extend(e.model_dump(mode="json") for e in events)
    if not any(e.get("type") in KEPT_TYPES for e in stream):
        return 0
    touched = {str(e["task_id"]) for e in stream if e.get("type") == "task-opened"}
    ask = known.unknown(touched)
    if not ask:
        return 0
    user_id = user.id
    try:
        return _store(session, known, user_id, stream, ask)
    except SQLAlchemyError as exc:
        session.rollback()
        log.warning(
            "training relay skipped a mirror batch of user %s (%s); the next batch retries",
            user_id,
            type(exc).__name__,
        )
        return 0


def _store(
    session: Session,
    known: RunTasks,
    user_id: str,
    stream: list[dict[str, Any]],
    ask: set[str],
) -> int:
    """Look `ask` up, remember the tasks of no run, append the caller's open runs' events."""
    rows = session.execute(
        select(
            models.TrainingRun.id,
            models.TrainingRun.task_id,
            models.TrainingRun.trainee_id,
            models.TrainingRun.status,
        ).where(models.TrainingRun.task_id.in_(sorted(ask)))
    ).all()
    known.not_runs(ask - {task_id for _, task_id, _, _ in rows})
    stored = 0
    for run_id, task_id, trainee_id, status in rows:
        if trainee_id != user_id or status == "scored":
            continue
        for event in run_events(stream, task_id):
            session.add(models.TrainingRunEvent(run_id=run_id, body=event.model_dump(mode="json")))
            stored += 1
    if stored:
        session.commit()
    else:
        session.rollback()
    return stored
