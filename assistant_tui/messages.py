"""Messages the App's workers post back to the UI thread.

Workers never touch widgets: they post one of these, and a handler on the UI
thread applies it. Frequent ones set `can_replace` so a burst collapses to one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from textual.message import Message

# Annotations only: importing local_cache pulls in SQLAlchemy.
if TYPE_CHECKING:
    from local_cache.views import QueueRow, SyncStatus, TaskContext


@dataclass
class QueueLoaded(Message):
    rows: list[QueueRow]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, QueueLoaded)


@dataclass
class ContextLoaded(Message):
    context: TaskContext


@dataclass
class LeaseChecked(Message):
    """The claim on an opened task came back.

    `held_by` is the server's own words ("Sam Lee is working this task (lease
    until 14:05 UTC)") when someone else holds the lease, else None; `queued`
    says the server could not be reached and the claim waits in the outbox.
    """

    task_id: str
    held_by: str | None
    queued: bool = False


@dataclass
class AttemptRecorded(Message):
    task_id: str
    outcome: str
    row: QueueRow | None


@dataclass
class EscalationRecorded(Message):
    task_id: str
    route: str
    escalation_id: str


@dataclass
class CacheFailed(Message):
    """A cache call failed; `what` says which, `error` is a one-line message (no PHI)."""

    what: str
    error: str


@dataclass
class SyncStatusChanged(Message):
    status: SyncStatus

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, SyncStatusChanged)


@dataclass
class PassphraseChecked(Message):
    ok: bool


@dataclass
class UndeliveredEscalations(Message):
    """Of the escalations `known` when the check began, those still `waiting` to go."""

    known: frozenset[str]
    waiting: frozenset[str]

    def can_replace(self, message: Message) -> bool:
        return isinstance(message, UndeliveredEscalations)


@dataclass
class FeedChanged(Message):
    """The sync engine applied a feed pull: these tasks changed (`full`: re-read them all).

    Posted from the engine's callback (`SyncEngine.subscribe_changes`), which may
    run on another thread; `post_message` is thread-safe.
    """

    task_ids: frozenset[str]
    full: bool


@dataclass
class RowsLoaded(Message):
    """Fresh queue rows of some tasks, read by a worker (None: no longer in the queue)."""

    rows: dict[str, QueueRow | None]


@dataclass
class LiveNudge(Message):
    """A non-feed event from the live stream (team, escalation, whisper, assignment).

    `kind` is the SSE event name; `data` holds ids and codes only, never PHI.
    """

    kind: str
    data: dict[str, Any]


@dataclass
class RefreshRequested(Message):
    """The user asked for fresh data with no sync engine running (offline): re-read."""
