"""Conversions between wire records and the cache's columns.

Datetimes become fixed-width UTC text so that text order is time order; queue
rows are built from raw tuples with enum lookups from dicts (no pydantic per
row), which is what keeps `queue()` fast at 100,000 tasks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from followup_core.enums import TERMINAL_STATUSES, Priority, TaskStatus, WorkflowId
from followup_core.schemas import TaskOut
from local_cache.views import QueueRow

_WORKFLOW = {m.value: m for m in WorkflowId}
_STATUS = {m.value: m for m in TaskStatus}
_PRIORITY = {m.value: m for m in Priority}
_RANK = {m: i for i, m in enumerate(Priority)}  # declaration order is urgency order
_TERMINAL = frozenset(s.value for s in TERMINAL_STATUSES)


def ts(at: datetime) -> str:
    """Fixed-width UTC text: `2026-11-27T15:02:11.000000Z`."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def ts_or_none(at: datetime | None) -> str | None:
    return None if at is None else ts(at)


def parse_ts(text: str) -> datetime:
    return datetime.fromisoformat(text)


def is_open(status: str) -> bool:
    return status not in _TERMINAL


def task_columns(task: TaskOut, synced_at: str, *, local_outcome: int = 0) -> dict[str, Any]:
    status = task.status.value
    return {
        "id": task.id,
        "practice_id": task.practice_id,
        "workflow": task.workflow.value,
        "status": status,
        "business_status": task.business_status,
        "priority": task.priority.value,
        "priority_rank": _RANK[task.priority],
        "due_at": ts(task.due_at),
        "attempts": task.attempts,
        "next_attempt_at": ts_or_none(task.next_attempt_at),
        "patient_id": task.patient_id,
        "caller_phone": task.caller_phone,
        "is_open": 1 if is_open(status) else 0,
        "version": task.version,
        "local_outcome": local_outcome,
        "data": task.model_dump_json(),
        "synced_at": synced_at,
    }


QUEUE_COLUMNS = (
    "t.id, t.practice_id, t.workflow, t.status, t.business_status, t.priority, t.due_at, "
    "t.attempts, t.next_attempt_at, t.patient_label, "
    "t.id IN (SELECT task_id FROM outbox WHERE kind = 'attempt' "
    "AND state IN ('pending', 'attention')) AS pending"
)


def queue_row(r: Sequence[Any]) -> QueueRow:
    fromiso = datetime.fromisoformat
    return QueueRow(
        r[0],
        r[1],
        _WORKFLOW[r[2]],
        _STATUS[r[3]],
        r[4],
        _PRIORITY[r[5]],
        fromiso(r[6]),
        r[7],
        fromiso(r[8]) if r[8] else None,
        r[9],
        bool(r[10]),
    )


def patient_label(given: str, family: str) -> str:
    return f"{family}, {given}"


__all__ = [
    "QUEUE_COLUMNS",
    "is_open",
    "parse_ts",
    "patient_label",
    "queue_row",
    "task_columns",
    "ts",
    "ts_or_none",
]
