"""One entry of the outbox, as the sync engine reads it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    seq: int  # delivery order
    id: str  # the Idempotency-Key sent with it
    kind: str  # attempt | escalation | presence | claim
    task_id: str | None
    body: str | None  # JSON of what is sent
    state: str  # pending | delivered | attention
    attempts: int  # how many times a send was tried


__all__ = ["OutboxEntry"]
