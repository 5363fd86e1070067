"""Shared helpers of the cache tests: attempts that the server accepts, server-side views."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import create_engine, text

from followup_core.enums import Channel
from followup_core.schemas import AttemptIn, Consent, TaskOut
from followup_core.workflows import WORKFLOWS


def attempt_for(task: TaskOut, *, notes: str = "", outcome: str = "no-answer") -> AttemptIn:
    """A phone no-answer on `task` as the assistant saw it (its current version)."""
    ended = datetime.now(UTC)
    return AttemptIn(
        id=uuid.uuid4(),
        task_id=task.id,
        task_version=task.version,
        channel=Channel.PHONE,
        outcome=outcome,
        started_at=ended - timedelta(seconds=45),
        ended_at=ended,
        identity_verified=False,
        next_step=None,
        notes=notes,
        script_id=None,
        script_version=None,
        escalation=None,
    )


def phone_ok(task: TaskOut, consent: Consent | None) -> bool:
    """Whether a phone no-answer is a valid attempt on this task."""
    workflow = WORKFLOWS[task.workflow]
    if Channel.PHONE not in workflow.channels:
        return False
    try:
        workflow.outcome("no-answer")
    except Exception:
        return False
    return consent is None or consent.phone


def server_attempts(db_url: str) -> dict[str, int]:
    """Attempt id -> rows with that id on the server (exactly once means every value is 1)."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT id, count(*) FROM attempts GROUP BY id")).all()
    finally:
        engine.dispose()
    return {str(r[0]): int(r[1]) for r in rows}


def server_rows(db_url: str, sql: str, **params: Any) -> list[Any]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text(sql), params).all())
    finally:
        engine.dispose()
