"""Read-only views the workspace gets from the cache: plain frozen dataclasses.

The queue is read on every keystroke that changes it, at up to 100,000 tasks, so
`QueueRow` is built from raw indexed columns (strings and datetimes), never from
pydantic per row. `TaskContext` is the full picture of one task, so it carries
the wire `*Out` models.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from followup_core.enums import Priority, TaskStatus, WorkflowId
from followup_core.schemas import (
    AppointmentOut,
    AttemptIn,
    AttemptOut,
    Lease,
    PatientOut,
    PracticeOut,
    ReferralOut,
    ScriptOut,
    TaskOut,
)
from local_cache.outbox import OutboxKind


@dataclass(frozen=True, slots=True)
class QueueRow:
    """One open task in the work queue (priority, then due time)."""

    task_id: str
    practice_id: str
    workflow: WorkflowId
    status: TaskStatus
    business_status: str | None
    priority: Priority
    due_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    patient_label: str  # "Family, Given" or the caller's number for an unmatched caller
    pending: bool  # an attempt on this task is recorded locally but not yet delivered


@dataclass(frozen=True, slots=True)
class TaskContext:
    """Everything the workspace shows for one task."""

    task: TaskOut
    patient: PatientOut | None
    appointment: AppointmentOut | None
    referral: ReferralOut | None
    script: ScriptOut | None
    practice: PracticeOut
    attempts: list[AttemptOut] = field(default_factory=list)  # delivered (from the feed)
    pending_attempts: list[AttemptIn] = field(default_factory=list)  # recorded, not delivered
    lease: Lease | None = None


@dataclass(frozen=True, slots=True)
class SyncStatus:
    """What the status bar shows about synchronisation."""

    online: bool
    outbox_depth: int
    needs_attention: int
    last_sync: datetime | None
    last_error: str | None
    tasks: int  # open tasks in the local queue
    live: bool = False  # the server's event stream is connected (changes arrive at once)

    def as_json(self) -> dict[str, Any]:
        return {
            "online": self.online,
            "outbox_depth": self.outbox_depth,
            "needs_attention": self.needs_attention,
            "last_sync": self.last_sync.isoformat() if self.last_sync else None,
            "last_error": self.last_error,
            "tasks": self.tasks,
            "live": self.live,
        }


@dataclass(frozen=True, slots=True)
class NeedsAttention:
    """An outbox entry the server refused (409/412/422); kept with the server's reply."""

    entry_id: str  # the outbox id, which was the Idempotency-Key
    kind: OutboxKind | str  # attempt, escalation, presence, claim
    status_code: int
    reply: dict[str, Any]  # the server's error body, e.g. {"error": {"code", "message"}}
    task_id: str | None = None
    created_at: datetime | None = None


__all__ = ["NeedsAttention", "QueueRow", "SyncStatus", "TaskContext"]
