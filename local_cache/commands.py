"""The UI's commands: local writes, each in one transaction with its outbox entry.

Recording an attempt, an escalation, a presence change or a claim writes the
local effect (the task moved by `followup_core.task_state.apply_attempt`, put
on hold) and the outbox entry together, so once a command returns the work is
on disk (WAL, synchronous=FULL) and will be delivered exactly once.
"""

from __future__ import annotations

import json
import uuid

from sqlalchemy import Connection

from followup_core.enums import TERMINAL_STATUSES, AgentState, TaskStatus
from followup_core.schemas import AttemptIn, EscalationIn, PatientOut, PracticeOut, TaskOut
from local_cache.outbox import OutboxKind
from local_cache.outcomes import advance
from local_cache.reads import queue_row_of, record_json
from local_cache.rows import task_columns, ts
from local_cache.store import Store
from local_cache.store import now as _now
from local_cache.views import QueueRow


class CacheCommands:
    """What the assistant does, recorded locally and queued for the server."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def _enqueue(
        self,
        conn: Connection,
        *,
        entry_id: str,
        kind: OutboxKind,
        body: str,
        task_id: str | None = None,
        task_version: int | None = None,
    ) -> None:
        conn.exec_driver_sql(
            "INSERT INTO outbox (id, kind, task_id, task_version, body, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (entry_id, kind.value, task_id, task_version, body, ts(_now())),
        )

    def _exists(self, conn: Connection, entry_id: str) -> bool:
        return (
            conn.exec_driver_sql("SELECT 1 FROM outbox WHERE id = ?", (entry_id,)).first()
            is not None
        )

    def record_attempt(self, attempt: AttemptIn) -> QueueRow | None:
        """Record an attempt and move its task on locally; returns the task's new queue row.

        Returns None when the task left the open queue (completed, failed) or is
        not in the cache (reassigned away: the attempt is still kept and
        delivered). Recording the same attempt id twice is a no-op.
        """
        entry_id = str(attempt.id)
        with self._store.write() as conn:
            if not self._exists(conn, entry_id):
                self._advance_task(conn, attempt)
                self._enqueue(
                    conn,
                    entry_id=entry_id,
                    kind=OutboxKind.ATTEMPT,
                    body=attempt.model_dump_json(),
                    task_id=attempt.task_id,
                    task_version=attempt.task_version,
                )
            return queue_row_of(conn, attempt.task_id)

    def _advance_task(self, conn: Connection, attempt: AttemptIn) -> None:
        data = conn.exec_driver_sql(
            "SELECT data FROM tasks WHERE id = ?", (attempt.task_id,)
        ).scalar()
        if data is None:
            return
        task = TaskOut.model_validate_json(data)
        practice = record_json(conn, "practice", task.practice_id)
        if practice is None:
            return
        patient = record_json(conn, "patient", task.patient_id)
        moved = advance(
            task,
            attempt,
            PracticeOut.model_validate_json(practice),
            PatientOut.model_validate_json(patient) if patient else None,
        )
        if moved is None:
            return
        self._store_local_task(conn, moved)

    def _hold_task(self, conn: Connection, task_id: str) -> int | None:
        """Escalated work waits for the named contact: on hold unless already finished.

        Returns the task version the hold was made against (None if not cached).
        """
        data = conn.exec_driver_sql("SELECT data FROM tasks WHERE id = ?", (task_id,)).scalar()
        if data is None:
            return None
        task = TaskOut.model_validate_json(data)
        if task.status not in TERMINAL_STATUSES and task.status is not TaskStatus.ON_HOLD:
            self._store_local_task(conn, task.model_copy(update={"status": TaskStatus.ON_HOLD}))
        return task.version

    def _store_local_task(self, conn: Connection, moved: TaskOut) -> None:
        """Write a task as moved locally; the server's next version replaces it."""
        cols = task_columns(moved, ts(_now()), local_outcome=1)
        conn.exec_driver_sql(
            "UPDATE tasks SET status = ?, business_status = ?, attempts = ?, "
            "next_attempt_at = ?, is_open = ?, local_outcome = 1, data = ? WHERE id = ?",
            (
                cols["status"],
                cols["business_status"],
                cols["attempts"],
                cols["next_attempt_at"],
                cols["is_open"],
                cols["data"],
                moved.id,
            ),
        )

    def record_escalation(self, esc: EscalationIn) -> None:
        """Queue an escalation and put its task on hold, in one transaction."""
        with self._store.write() as conn:
            if not self._exists(conn, str(esc.id)):
                self._enqueue(
                    conn,
                    entry_id=str(esc.id),
                    kind=OutboxKind.ESCALATION,
                    body=esc.model_dump_json(),
                    task_id=esc.task_id,
                    task_version=self._hold_task(conn, esc.task_id),
                )

    def set_presence(self, state: AgentState | str) -> None:
        """Queue a presence change; only the latest undelivered one is worth sending."""
        value = AgentState(state).value
        with self._store.write() as conn:
            conn.exec_driver_sql("DELETE FROM outbox WHERE kind = 'presence' AND state = 'pending'")
            self._enqueue(
                conn,
                entry_id=str(uuid.uuid4()),
                kind=OutboxKind.PRESENCE,
                body=json.dumps({"state": value}),
            )

    def claim(self, task_id: str) -> None:
        """Queue a lease request for the task (delivered with the rest of the outbox)."""
        with self._store.write() as conn:
            self._enqueue(
                conn,
                entry_id=str(uuid.uuid4()),
                kind=OutboxKind.CLAIM,
                body=json.dumps({"task_id": task_id}),
                task_id=task_id,
            )

    def retry_attention(self, entry_id: str) -> None:
        """Send a needs-attention entry again (after the person fixed the cause)."""
        with self._store.write() as conn:
            conn.exec_driver_sql("DELETE FROM needs_attention WHERE entry_id = ?", (entry_id,))
            conn.exec_driver_sql(
                "UPDATE outbox SET state = 'pending', server_errors = 0, next_try_at = NULL "
                "WHERE id = ? AND state = 'attention'",
                (entry_id,),
            )

    def drop_attention(self, entry_id: str) -> None:
        """Give up a needs-attention entry: it is never sent, and it is deleted with
        its reply (an attempt's notes are PHI: nothing undelivered is kept past its
        use). The task's local copy is corrected by the next pull of the feed."""
        with self._store.write() as conn:
            conn.exec_driver_sql("DELETE FROM needs_attention WHERE entry_id = ?", (entry_id,))
            conn.exec_driver_sql(
                "DELETE FROM outbox WHERE id = ? AND state = 'attention'", (entry_id,)
            )


__all__ = ["CacheCommands"]
