"""The UI's reads of the cache: the queue, one task's context, status counts.

Also the reads the sync engine needs to find its place (the cursor, the
pending outbox). Each method is one read transaction on the `Store`; nothing
here writes.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from followup_core.schemas import (
    AppointmentOut,
    AttemptIn,
    AttemptOut,
    Lease,
    PatientOut,
    PracticeOut,
    ReferralOut,
    ScriptOut,
    TaskOut,
)
from local_cache.errors import CacheError
from local_cache.outbox import ENTRY_COLUMNS, OutboxEntry, OutboxKind, OutboxState
from local_cache.rows import QUEUE_COLUMNS, queue_row, ts
from local_cache.store import Store
from local_cache.store import now as _now
from local_cache.views import NeedsAttention, QueueRow, TaskContext


def record_json(conn: Connection, kind: str, record_id: str | None) -> str | None:
    """The JSON of one synced record (practice, patient, script, ...), or None."""
    if record_id is None:
        return None
    value = conn.exec_driver_sql(
        "SELECT data FROM records WHERE kind = ? AND id = ?", (kind, record_id)
    ).scalar()
    return str(value) if value is not None else None


def queue_row_of(conn: Connection, task_id: str) -> QueueRow | None:
    """One task's queue row in the caller's transaction; None if not in the open queue."""
    row = conn.exec_driver_sql(
        f"SELECT {QUEUE_COLUMNS} FROM tasks t WHERE t.id = ? AND t.is_open = 1", (task_id,)
    ).first()
    return queue_row(row) if row else None


# `+t.is_open` keeps SQLite off the tasks_queue index (is_open first), which it
# otherwise picks and scans whole: 350 ms at 100,000 tasks against 0.4 ms by
# primary key (bench_tui feed_patch).
QUEUE_ROWS_SQL = (
    f"SELECT {QUEUE_COLUMNS} FROM tasks t WHERE +t.is_open = 1 "
    "AND t.id IN (SELECT value FROM json_each(?))"
)


class CacheReads:
    """Read-only queries of one cache (the workspace, the status bar, the sync engine)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def queue(self) -> list[QueueRow]:
        """Open tasks, most urgent priority first, then earliest due."""
        sql = (
            f"SELECT {QUEUE_COLUMNS} FROM tasks t WHERE t.is_open = 1 "
            "ORDER BY t.priority_rank, t.due_at"
        )
        with self._store.read() as conn:
            # The driver's cursor directly: SQLAlchemy's Row wrapping costs more
            # than the query at 100,000 rows.
            raw = conn.connection.driver_connection
            assert raw is not None
            rows = raw.execute(sql).fetchall()
        # 100,000 rows allocate ~300,000 objects that all survive: pausing the
        # cyclic GC while building them saves its repeated full passes (~35%).
        paused = gc.isenabled()
        gc.disable()
        try:
            return [queue_row(r) for r in rows]
        finally:
            if paused:
                gc.enable()

    def owner_queue(self, owner_id: str, limit: int = 2000) -> list[QueueRow]:
        """The open tasks one person owns, in queue order (at most `limit` rows).

        What that assistant's own queue pane shows, read from a cache that holds
        their practice's records (a supervisor's): the supervisor's shadow view
        and the reassignment dialog. The owner lives in the task's JSON, so this
        reads open tasks' rows in queue order until `limit` of theirs are found:
        at 100,000 open tasks of which few are theirs, ~2 s on a loaded 2-core
        machine (0.1 s when 2,000 of the first are theirs). Call it off the UI
        thread, and only when their queue can have changed.
        """
        sql = (
            f"SELECT {QUEUE_COLUMNS} FROM tasks t WHERE t.is_open = 1 "
            "AND json_extract(t.data, '$.owner_id') = ? "
            "ORDER BY t.priority_rank, t.due_at, t.id LIMIT ?"
        )
        with self._store.read() as conn:
            return [queue_row(r) for r in conn.exec_driver_sql(sql, (owner_id, limit))]

    def queue_row(self, task_id: str) -> QueueRow | None:
        with self._store.read() as conn:
            return queue_row_of(conn, task_id)

    def queue_rows(self, task_ids: Iterable[str]) -> dict[str, QueueRow | None]:
        """The current queue rows of these tasks, in one read.

        Every id asked for is a key; its value is None when the task is not in
        the open queue any more (finished, removed, reassigned away).
        """
        wanted = list(dict.fromkeys(task_ids))
        found: dict[str, QueueRow | None] = dict.fromkeys(wanted)
        if not wanted:
            return found
        with self._store.read() as conn:
            for r in conn.exec_driver_sql(QUEUE_ROWS_SQL, (json.dumps(wanted),)):
                row = queue_row(r)
                found[row.task_id] = row
        return found

    def task(self, task_id: str) -> TaskOut | None:
        with self._store.read() as conn:
            data = conn.exec_driver_sql("SELECT data FROM tasks WHERE id = ?", (task_id,)).scalar()
        return TaskOut.model_validate_json(data) if data else None

    def practice(self, practice_id: str) -> PracticeOut | None:
        with self._store.read() as conn:
            data = record_json(conn, "practice", practice_id)
        return PracticeOut.model_validate_json(data) if data else None

    def practices(self) -> list[PracticeOut]:
        with self._store.read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT data FROM records WHERE kind = 'practice' ORDER BY id"
            ).scalars()
            return [PracticeOut.model_validate_json(r) for r in rows]

    def task_context(self, task_id: str) -> TaskContext | None:
        """The task with its patient, focus, script, practice and attempts; None if unknown."""
        with self._store.read() as conn:
            data = conn.exec_driver_sql("SELECT data FROM tasks WHERE id = ?", (task_id,)).scalar()
            if data is None:
                return None
            task = TaskOut.model_validate_json(data)
            practice_json = record_json(conn, "practice", task.practice_id)
            if practice_json is None:
                raise CacheError("this task's practice has not been synced yet; sync first")
            patient = record_json(conn, "patient", task.patient_id)
            appointment = referral = None
            if task.focus is not None:
                focus = record_json(conn, task.focus.kind.value, task.focus.id)
                if focus and task.focus.kind.value == "appointment":
                    appointment = AppointmentOut.model_validate_json(focus)
                elif focus:
                    referral = ReferralOut.model_validate_json(focus)
            script = record_json(conn, "script", task.script_id)
            if script is None:
                script = conn.exec_driver_sql(
                    "SELECT data FROM records WHERE kind = 'script' AND label = ? "
                    "ORDER BY version DESC LIMIT 1",
                    (task.workflow.value,),
                ).scalar()
            attempts = conn.exec_driver_sql(
                "SELECT data FROM attempts WHERE task_id = ? ORDER BY started_at", (task_id,)
            ).scalars()
            delivered = [AttemptOut.model_validate_json(a) for a in attempts]
            pending = conn.exec_driver_sql(
                "SELECT body FROM outbox WHERE task_id = ? AND kind = 'attempt' "
                "AND state IN ('pending', 'attention') ORDER BY seq",
                (task_id,),
            ).scalars()
            pending_attempts = [AttemptIn.model_validate_json(p) for p in pending]
            lease_row = conn.exec_driver_sql(
                "SELECT holder_id, expires_at FROM leases WHERE task_id = ? AND expires_at > ?",
                (task_id, ts(_now())),
            ).first()
        return TaskContext(
            task=task,
            patient=PatientOut.model_validate_json(patient) if patient else None,
            appointment=appointment,
            referral=referral,
            script=ScriptOut.model_validate_json(script) if script else None,
            practice=PracticeOut.model_validate_json(practice_json),
            attempts=delivered,
            pending_attempts=pending_attempts,
            lease=(
                Lease(task_id=task_id, holder_id=lease_row[0], expires_at=lease_row[1])
                if lease_row
                else None
            ),
        )

    def outbox_depth(self) -> int:
        """Entries still waiting to be delivered."""
        with self._store.read() as conn:
            return int(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM outbox WHERE state = 'pending'"
                ).scalar_one()
            )

    def needs_attention(self) -> list[NeedsAttention]:
        with self._store.read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT entry_id, kind, status_code, reply, task_id, created_at "
                "FROM needs_attention ORDER BY created_at, entry_id"
            ).fetchall()
        return [
            NeedsAttention(
                entry_id=r[0],
                kind=OutboxKind(r[1]) if r[1] in set(OutboxKind) else r[1],
                status_code=r[2],
                reply=json.loads(r[3]),
                task_id=r[4],
                created_at=datetime.fromisoformat(r[5]),
            )
            for r in rows
        ]

    def counts(self) -> dict[str, Any]:
        """What the status bar needs, in one read: outbox depth, attention, tasks, last sync."""
        with self._store.read() as conn:
            depth, attention, tasks, last_sync = conn.exec_driver_sql(
                "SELECT (SELECT count(*) FROM outbox WHERE state = 'pending'), "
                "(SELECT count(*) FROM needs_attention), "
                "(SELECT count(*) FROM tasks WHERE is_open = 1), "
                "(SELECT value FROM sync_state WHERE key = 'last_sync')"
            ).one()
        return {
            "outbox_depth": int(depth),
            "needs_attention": int(attention),
            "tasks": int(tasks),
            "last_sync": datetime.fromisoformat(last_sync) if last_sync else None,
        }

    def cursor(self) -> str | None:
        with self._store.read() as conn:
            value = conn.exec_driver_sql(
                "SELECT value FROM sync_state WHERE key = 'cursor'"
            ).scalar()
        return str(value) if value is not None else None

    def outbox_entries(self, state: OutboxState | str | None = None) -> list[OutboxEntry]:
        """The outbox in order (for tests, diagnostics and the drain)."""
        sql = f"SELECT {ENTRY_COLUMNS} FROM outbox"
        params: tuple[Any, ...] = ()
        if state is not None:
            sql += " WHERE state = ?"
            params = (OutboxState(state).value,)
        with self._store.read() as conn:
            rows = conn.exec_driver_sql(sql + " ORDER BY seq", params).fetchall()
        return [OutboxEntry.from_row(r) for r in rows]

    def attention_bodies(self) -> dict[str, str | None]:
        """What each needs-attention entry would send (its JSON), by entry id."""
        with self._store.read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id, body FROM outbox WHERE state = 'attention'"
            ).fetchall()
        return {r[0]: r[1] for r in rows}

    def pending_after(self, after_seq: int = 0, limit: int = 100) -> list[OutboxEntry]:
        """Up to `limit` undelivered entries after `after_seq`, in order."""
        with self._store.read() as conn:
            rows = conn.exec_driver_sql(
                f"SELECT {ENTRY_COLUMNS} FROM outbox "
                "WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [OutboxEntry.from_row(r) for r in rows]

    def next_pending(self, after_seq: int = 0) -> OutboxEntry | None:
        """The oldest undelivered entry after `after_seq`."""
        with self._store.read() as conn:
            row = conn.exec_driver_sql(
                f"SELECT {ENTRY_COLUMNS} FROM outbox "
                "WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT 1",
                (after_seq,),
            ).first()
        return OutboxEntry.from_row(row) if row else None


__all__ = ["CacheReads", "queue_row_of", "record_json"]
