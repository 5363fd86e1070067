"""The outbox's vocabulary: its kinds and states, one entry, one accepted delivery.

An entry is a local change waiting for the server, sent in recorded order with
its `id` as the `Idempotency-Key`. States: `pending` (to send), `delivered`
(the server accepted it; kept until retention purges it), `attention` (the
server refused it, or failed on it `poison_limit` times: kept for a person with
the server's answer, see `local_cache.sync`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class OutboxKind(StrEnum):
    """What an entry carries (its JSON body is the request sent)."""

    ATTEMPT = "attempt"  # POST /v1/attempts (AttemptIn)
    ESCALATION = "escalation"  # POST /v1/escalations (EscalationIn)
    PRESENCE = "presence"  # PUT /v1/presence {"state"}
    CLAIM = "claim"  # POST /v1/tasks/{id}/claim {"task_id"}


class OutboxState(StrEnum):
    """Where an entry is in its life."""

    PENDING = "pending"
    DELIVERED = "delivered"
    ATTENTION = "attention"


_KINDS = frozenset(k.value for k in OutboxKind)
ENTRY_COLUMNS = "seq, id, kind, task_id, body, state, attempts, server_errors, next_try_at"


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    seq: int  # delivery order
    id: str  # the Idempotency-Key sent with it
    kind: OutboxKind | str  # a str only for a kind this client does not know (set aside)
    task_id: str | None
    body: str | None  # JSON of what is sent
    state: OutboxState
    attempts: int  # how many times a send was tried
    server_errors: int = 0  # rounds in a row the (otherwise working) server failed on it
    next_try_at: str | None = None  # UTC text: not sent again before this (backoff)

    @classmethod
    def from_row(cls, row: Any) -> OutboxEntry:
        """From a row selected as `ENTRY_COLUMNS`."""
        seq, id_, kind, task_id, body, state, attempts, server_errors, next_try_at = row
        return cls(
            seq,
            id_,
            OutboxKind(kind) if kind in _KINDS else kind,
            task_id,
            body,
            OutboxState(state),
            attempts,
            server_errors,
            next_try_at,
        )


@dataclass(frozen=True, slots=True)
class Delivery:
    """The server accepted an entry; what it answered (kept in the cache)."""

    entry_id: str
    status_code: int
    task: Any = None  # TaskOut
    attempt: Any = None  # AttemptOut
    escalation: Any = None  # EscalationOut
    lease: Any = None  # Lease


__all__ = ["ENTRY_COLUMNS", "Delivery", "OutboxEntry", "OutboxKind", "OutboxState"]
