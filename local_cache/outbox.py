"""One entry of the outbox, as the sync engine reads it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    seq: int  # delivery order
    id: str  # the Idempotency-Key sent with it
    kind: str  # attempt | escalation | presence | claim
    task_id: str | None
    body: str | None  # JSON of what is sent
    state: str  # pending | delivered | attention
    attempts: int  # how many times a send was tried
    server_errors: int = 0  # rounds in a row the (otherwise working) server failed on it
    next_try_at: str | None = None  # UTC text: not sent again before this (backoff)


@dataclass(frozen=True, slots=True)
class Delivery:
    """The server accepted an entry; what it answered (kept in the cache)."""

    entry_id: str
    status_code: int
    task: Any = None  # TaskOut
    attempt: Any = None  # AttemptOut
    escalation: Any = None  # EscalationOut
    lease: Any = None  # Lease


__all__ = ["Delivery", "OutboxEntry"]
