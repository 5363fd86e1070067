"""The App's cache calls: each in a thread worker, each result back as a Message.

Kept apart from `app.py` so the rule is visible in one place: nothing here
touches a widget, and nothing outside here calls the cache.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work
from textual.app import App

from assistant_tui.messages import (
    AttemptRecorded,
    CacheFailed,
    ContextLoaded,
    EscalationRecorded,
    PassphraseChecked,
    QueueLoaded,
    SyncStatusChanged,
    UndeliveredEscalations,
)
from followup_core.enums import AgentState
from followup_core.schemas import AttemptIn, EscalationIn

if TYPE_CHECKING:
    from local_cache import LocalCache, SyncEngine


def _one_line(error: BaseException) -> str:
    """Cache errors are one line with no PHI; anything else is named by type only."""
    module = type(error).__module__
    if module.startswith(("local_cache", "followup_core", "backend_client")):
        return str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"unexpected {type(error).__name__}"


class CacheWorkers(App[None]):
    """Base of the workspace App: the workers that read and write the local cache."""

    cache: LocalCache
    sync: SyncEngine | None
    _tz: dict[str, str]

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
            from local_cache.views import SyncStatus  # already loaded with the cache

            self.post_message(
                SyncStatusChanged(SyncStatus(False, depth, attention, None, None, len(rows)))
            )

    @work(thread=True, exclusive=True, group="status", exit_on_error=False)
    def load_status(self, tasks: int) -> None:
        """Offline only: the outbox figures for the status bar, without the queue."""
        try:
            depth = self.cache.outbox_depth()
            attention = len(self.cache.needs_attention())
        except Exception as error:
            self.post_message(CacheFailed("reading the outbox", _one_line(error)))
            return
        from local_cache.views import SyncStatus  # already loaded with the cache

        self.post_message(SyncStatusChanged(SyncStatus(False, depth, attention, None, None, tasks)))

    @work(thread=True, exclusive=True, group="context", exit_on_error=False)
    def load_context(self, task_id: str) -> None:
        try:
            context = self.cache.task_context(task_id)
        except Exception as error:
            self.post_message(CacheFailed("opening the task", _one_line(error)))
            return
        if context is not None:
            self.post_message(ContextLoaded(context))

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

    @work(thread=True, exclusive=True, group="passphrase", exit_on_error=False)
    def check_passphrase(self, passphrase: str) -> None:
        self.post_message(PassphraseChecked(self.cache.verify_passphrase(passphrase)))

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
