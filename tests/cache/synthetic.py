"""Synthetic feed pages for offline cache tests (no server): one practice, N tasks."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from followup_core.enums import ChangeKind, ChangeOp
from followup_core.schemas import Change, SyncPage

PRACTICE_ID = "practice-1"
PRIORITIES = ["routine", "urgent", "stat", "asap"]


def practice() -> dict[str, Any]:
    return {
        "id": PRACTICE_ID,
        "name": "Synthetic Family Practice",
        "timezone": "America/New_York",
        "phone": "555-0100",
        "business_hours": [
            {"weekday": d, "opens": "08:00", "closes": "17:00"} for d in range(1, 6)
        ],
        "escalation_contacts": [],
        "emergency_instruction": "If this is an emergency, hang up and dial 911.",
    }


def patient(i: int, marker: str = "") -> dict[str, Any]:
    return {
        "id": f"patient-{i}",
        "practice_id": PRACTICE_ID,
        "given_name": f"Given{marker}{i}",
        "family_name": f"Family{marker}{i}",
        "date_of_birth": "1970-01-01",
        "phone": f"555-01{i % 100:02d}",
        "timezone": "America/Chicago",
        "preferred_language": "en",
        "interpreter_needed": False,
        "consent": {"phone": True, "voicemail": True},
        "intake_status": "complete",
    }


def task(i: int, *, version: int = 1, now: datetime | None = None, **extra: Any) -> dict[str, Any]:
    now = now or datetime.now(UTC)
    data = {
        "id": f"task-{i}",
        "practice_id": PRACTICE_ID,
        "workflow": "appointment-confirmation",
        "status": "ready",
        "business_status": None,
        "priority": PRIORITIES[i % len(PRIORITIES)],
        "owner_id": "user-1",
        "patient_id": f"patient-{i}",
        "focus": None,
        "due_at": (now + timedelta(minutes=i)).isoformat(),
        "attempts": 0,
        "next_attempt_at": None,
        "next_action": None,
        "version": version,
        "script_id": None,
        "created_at": now.isoformat(),
        "updated_at": now.isoformat(),
    }
    data.update(extra)
    return data


def page(n: int, *, marker: str = "", cursor: str | None = None) -> SyncPage:
    changes = [
        Change(
            kind=ChangeKind.PRACTICE, id=PRACTICE_ID, op=ChangeOp.UPSERT, version=1, data=practice()
        )
    ]
    for i in range(n):
        changes.append(
            Change(
                kind=ChangeKind.PATIENT,
                id=f"patient-{i}",
                op=ChangeOp.UPSERT,
                version=1,
                data=patient(i, marker),
            )
        )
        changes.append(
            Change(
                kind=ChangeKind.TASK, id=f"task-{i}", op=ChangeOp.UPSERT, version=1, data=task(i)
            )
        )
    return SyncPage(cursor=cursor or secrets.token_hex(8), has_more=False, changes=changes)


def change_page(*changes: Change) -> SyncPage:
    return SyncPage(cursor=secrets.token_hex(8), has_more=False, changes=list(changes))


def task_change(i: int, **kwargs: Any) -> Change:
    data = task(i, **kwargs)
    return Change(
        kind=ChangeKind.TASK, id=data["id"], op=ChangeOp.UPSERT, version=data["version"], data=data
    )


def remove_task(i: int) -> Change:
    return Change(kind=ChangeKind.TASK, id=f"task-{i}", op=ChangeOp.REMOVE, version=99, data=None)
