"""The workspace's cache calls: each in a thread worker, each result back as a Message.

Kept apart from `workspace.py` so the rule is visible in one place: nothing
here touches a widget, and nothing else in the workspace calls the cache. The
messages are posted to the workspace screen (`post_message` is thread-safe).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from textual import work

from assistant_tui.messages import (
    AttemptRecorded,
    CacheFailed,
    ContextLoaded,
    EscalationRecorded,
    LeaseChecked,
    QueueLoaded,
    RowsLoaded,
    SyncStatusChanged,
    UndeliveredEscalations,
)
from assistant_tui.modes.base import ModeScreen
from followup_core.enums import AgentState
from followup_core.schemas import AttemptIn, EscalationIn

if TYPE_CHECKING:
    from collections.abc import Iterable

    from local_cache import LocalCache, SyncEngine
    from local_cache.views import SyncStatus


def _one_line(error: BaseException) -> str:
    """Cache errors are one line with no PHI; anything else is named by type only."""
    module = type(error).__module__
    if module.startswith(("local_cache", "followup_core", "backend_client")):
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"unexpected {type(error).__name__}"


def offline_status(depth: int, attention: int, tasks: int) -> SyncStatus:
    """The status bar's figures when no sync engine runs (the cache opened offline)."""
    from local_cache.views import SyncStatus  # already loaded with the cache

    return SyncStatus(
        online=False,
        outbox_depth=depth,
        needs_attention=attention,
        last_sync=None,
        last_error=None,
        tasks=tasks,
    )


class WorkspaceWorkers(ModeScreen):
    """Base of the workspace screen: the workers that read and write the local cache."""

    _tz: dict[str, str]

    @property
    def cache(self) -> LocalCache:
        return self.services.cache

    @property
    def sync(self) -> SyncEngine | None:
        return self.services.sync

    @work(thread=True, exclusive=True, group="queue", exit_on_error=False)
    def load_queue(self) -> None:
        try:
            for practice in self.cache.practices():
                self._tz[practice.id] = practice.timezone
            rows = self.cache.queue()
            depth = self.cache.outbox_depth()
            attention = len(self.cache.needs_attention())
        except Exception as error:
            self.post_message(CacheFailed("reading the queue", _one_line(error)))
            return
        self.post_message(QueueLoaded(rows))
        if self.sync is None:
            self.post_message(SyncStatusChanged(offline_status(depth, attention, len(rows))))

    @work(thread=True, group="rows", exit_on_error=False)
    def load_rows(self, task_ids: Iterable[str]) -> None:
        """Only these tasks' rows (the feed changed them): no full queue read."""
        try:
            rows = self.cache.queue_rows(task_ids)
        except Exception as error:
            self.post_message(CacheFailed("reading changed tasks", _one_line(error)))
            rows = {}
        # Posted even after a failure: the screen waits for it before the next read.
        self.post_message(RowsLoaded(rows))

    @work(thread=True, exclusive=True, group="status", exit_on_error=False)
    def load_status(self, tasks: int) -> None:
        """Offline only: the outbox figures for the status bar, without the queue."""
        try:
            depth = self.cache.outbox_depth()
            attention = len(self.cache.needs_attention())
        except Exception as error:
            self.post_message(CacheFailed("reading the outbox", _one_line(error)))
            return
        self.post_message(SyncStatusChanged(offline_status(depth, attention, tasks)))

    @work(thread=True, exclusive=True, group="context", exit_on_error=False)
    def load_context(self, task_id: str) -> None:
        try:
            context = self.cache.task_context(task_id)
        except Exception as error:
            self.post_message(CacheFailed("opening the task", _one_line(error)))
            return
        if context is not None:
            self.post_message(ContextLoaded(context))

    @work(exclusive=True, group="claim", exit_on_error=False)
    async def claim_lease(self, task_id: str) -> None:
        """Take the lease on the task just opened (POST /v1/tasks/{id}/claim).

        Online: at once, so a lease someone else holds is shown while the task
        is open (409 lease-held, the server naming the holder). If the server
        cannot be reached the claim waits in the cache's outbox (LocalCache.claim).
        Signed in offline (no sync engine) there is no one to claim from: nothing.
        """
        from backend_client.errors import ClientError, Conflict

        sync = self.sync
        if sync is None:
            return
        try:
            await sync.client.claim(task_id)
        except Conflict as error:
            self.post_message(LeaseChecked(task_id, held_by=error.message))
            return
        except ClientError:
            pass  # unreachable or refused for now: leave it to the outbox
        else:
            self.post_message(LeaseChecked(task_id, held_by=None))
            return
        try:
            await asyncio.to_thread(self.cache.claim, task_id)
        except Exception as error:
            self.post_message(CacheFailed("claiming the task", _one_line(error)))
            return
        self.post_message(LeaseChecked(task_id, held_by=None, queued=True))

    @work(thread=True, exclusive=True, group="attempt", exit_on_error=False)
    def record_attempt(self, attempt: AttemptIn) -> None:
        try:
            row = self.cache.record_attempt(attempt)
        except Exception as error:
            self.post_message(CacheFailed("saving the outcome", _one_line(error)))
            return
        self.post_message(AttemptRecorded(attempt.task_id, attempt.outcome, row))

    @work(thread=True, exclusive=True, group="escalation", exit_on_error=False)
    def record_escalation(self, escalation: EscalationIn) -> None:
        try:
            self.cache.record_escalation(escalation)
        except Exception as error:
            self.post_message(CacheFailed("saving the escalation", _one_line(error)))
            return
        self.post_message(
            EscalationRecorded(escalation.task_id, escalation.route.value, str(escalation.id))
        )

    @work(thread=True, exclusive=True, group="presence", exit_on_error=False)
    def record_presence(self, state: AgentState) -> None:
        try:
            self.cache.set_presence(state)
        except Exception as error:
            self.post_message(CacheFailed("saving your state", _one_line(error)))
            return
        sync = self.sync
        if sync is not None:
            # Send it now: the team board shows the state from the server, and the
            # next timed push can be minutes away while the stream is live.
            self.app.call_from_thread(sync.kick)

    @work(thread=True, exclusive=True, group="undelivered", exit_on_error=False)
    def count_undelivered(self, known: frozenset[str]) -> None:
        try:
            waiting = {
                entry.id
                for state in ("pending", "attention")
                for entry in self.cache.outbox_entries(state)
                if entry.kind == "escalation"
            }
        except Exception as error:
            self.post_message(CacheFailed("checking escalations", _one_line(error)))
            return
        self.post_message(UndeliveredEscalations(known, frozenset(waiting)))
