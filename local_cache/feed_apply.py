"""Writing feed changes into the cache (inside the caller's transaction).

Rules:
- A record is replaced only by the same or a newer version (a replayed or
  late page never rolls a record back).
- A task on which an attempt is still waiting in the outbox keeps the state
  the local outcome gave it until the server sends a version newer than the
  one the attempt was recorded against (the server has then seen the attempt,
  or moved on, and its word wins).
- `remove` deletes the cached record; it never touches the outbox, so an
  attempt on a task reassigned away is still delivered.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import Connection

from followup_core.enums import ChangeKind, ChangeOp
from followup_core.schemas import (
    CHANGE_SCHEMAS,
    AttemptOut,
    Change,
    PatientOut,
    ScriptOut,
    TaskOut,
)
from local_cache.errors import CacheError
from local_cache.rows import patient_label, task_columns, ts

_TASK_COLS = (
    "id, practice_id, workflow, status, business_status, priority, priority_rank, due_at, "
    "attempts, next_attempt_at, patient_id, caller_phone, is_open, version, local_outcome, "
    "data, synced_at"
)
_TASK_PARAMS = ", ".join(f":{c.strip()}" for c in _TASK_COLS.split(","))
_TASK_SET = ", ".join(
    f"{c.strip()} = excluded.{c.strip()}" for c in _TASK_COLS.split(",") if c.strip() != "id"
)
UPSERT_TASK = (
    f"INSERT INTO tasks ({_TASK_COLS}) VALUES ({_TASK_PARAMS}) "
    f"ON CONFLICT (id) DO UPDATE SET {_TASK_SET} WHERE excluded.version >= tasks.version"
)
UPDATE_TASK = (
    "UPDATE tasks SET "
    + ", ".join(f"{c.strip()} = :{c.strip()}" for c in _TASK_COLS.split(",") if c.strip() != "id")
    + " WHERE id = :id AND version <= :version"
)
UPSERT_RECORD = (
    "INSERT INTO records (kind, id, version, practice_id, patient_id, label, data, synced_at) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (kind, id) DO UPDATE SET "
    "version = excluded.version, practice_id = excluded.practice_id, "
    "patient_id = excluded.patient_id, label = excluded.label, data = excluded.data, "
    "synced_at = excluded.synced_at WHERE excluded.version >= records.version"
)
UPSERT_ATTEMPT = (
    "INSERT INTO attempts (id, task_id, started_at, data, synced_at) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO UPDATE SET data = excluded.data, synced_at = excluded.synced_at"
)
LABEL_FOR_TASK = (
    "UPDATE tasks SET patient_label = COALESCE((SELECT label FROM records r "
    "WHERE r.kind = 'patient' AND r.id = tasks.patient_id), caller_phone, '') WHERE id = ?"
)


_LABEL = (
    "UPDATE tasks SET patient_label = COALESCE((SELECT label FROM records r "
    "WHERE r.kind = 'patient' AND r.id = tasks.patient_id), caller_phone, '') "
)
LABELS_FOR_TASKS = _LABEL + "WHERE id IN (SELECT value FROM json_each(?))"
LABELS_FOR_PATIENTS = _LABEL + "WHERE patient_id IN (SELECT value FROM json_each(?))"
TASKS_OF_PATIENTS = "SELECT id FROM tasks WHERE patient_id IN (SELECT value FROM json_each(?))"


def set_state(conn: Connection, key: str, value: str) -> None:
    conn.exec_driver_sql(
        "INSERT INTO sync_state (key, value) VALUES (?, ?) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


def _record_row(kind: str, model: BaseModel, now: str) -> tuple[Any, ...]:
    version = int(getattr(model, "version", 1) or 1)
    label: str | None = None
    if isinstance(model, PatientOut):
        label = patient_label(model.given_name, model.family_name)
    elif isinstance(model, ScriptOut):
        label = model.workflow.value
    return (
        kind,
        model.id,  # type: ignore[attr-defined]
        version,
        getattr(model, "practice_id", None),
        getattr(model, "patient_id", None),
        label,
        model.model_dump_json(),
        now,
    )


def upsert_record(conn: Connection, kind: str, model: BaseModel, now: str) -> None:
    conn.exec_driver_sql(UPSERT_RECORD, _record_row(kind, model, now))


def upsert_attempt(conn: Connection, attempt: AttemptOut, now: str) -> None:
    conn.exec_driver_sql(
        UPSERT_ATTEMPT,
        (attempt.id, attempt.task_id, ts(attempt.started_at), attempt.model_dump_json(), now),
    )


def upsert_task(conn: Connection, task: TaskOut, now: str, *, update_only: bool = False) -> None:
    cols = task_columns(task, now)
    conn.exec_driver_sql(UPDATE_TASK if update_only else UPSERT_TASK, cols)
    conn.exec_driver_sql(LABEL_FOR_TASK, (task.id,))


def _pending_bases(conn: Connection) -> dict[str, int]:
    """Per task, the newest version an undelivered attempt or escalation was made against.

    The feed does not overwrite a task moved locally until the server has a newer version.
    """
    rows = conn.exec_driver_sql(
        "SELECT task_id, max(task_version) FROM outbox "
        "WHERE kind IN ('attempt', 'escalation') AND state = 'pending' GROUP BY task_id"
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows if r[0] is not None and r[1] is not None}


def apply_changes(
    conn: Connection, changes: Iterable[Change], now: str, touched: set[str] | None = None
) -> int:
    """Apply feed changes in order; returns how many were applied.

    If `touched` is given, the ids of the tasks whose queue row or context may
    have changed are added to it: tasks upserted or removed, tasks of an
    upserted or removed attempt, and the tasks of an upserted patient (their
    label). A task kept back by a pending local outcome is not added.
    """
    bases = _pending_bases(conn)
    tasks: list[dict[str, Any]] = []
    records: list[tuple[Any, ...]] = []
    attempts: list[tuple[Any, ...]] = []
    patients: dict[str, None] = {}  # ordered set of patient ids upserted
    count = 0

    def flush() -> None:
        # Writes are batched, but a remove must see the upserts before it.
        if tasks:
            conn.exec_driver_sql(UPSERT_TASK, tasks)
        if records:
            conn.exec_driver_sql(UPSERT_RECORD, records)
        if attempts:
            conn.exec_driver_sql(UPSERT_ATTEMPT, attempts)
        # Labels in two set-based statements (ids passed as one JSON array).
        if tasks:
            conn.exec_driver_sql(LABELS_FOR_TASKS, (json.dumps([t["id"] for t in tasks]),))
        if patients:
            conn.exec_driver_sql(LABELS_FOR_PATIENTS, (json.dumps(list(patients)),))
            if touched is not None:
                touched.update(
                    conn.exec_driver_sql(TASKS_OF_PATIENTS, (json.dumps(list(patients)),)).scalars()
                )
        if touched is not None:
            touched.update(t["id"] for t in tasks)
            touched.update(a[1] for a in attempts)
        tasks.clear()
        records.clear()
        attempts.clear()
        patients.clear()

    for change in changes:
        count += 1
        kind = change.kind
        if change.op == ChangeOp.REMOVE or change.data is None:
            flush()
            if kind == ChangeKind.TASK:
                if touched is not None:
                    touched.add(change.id)
                conn.exec_driver_sql("DELETE FROM tasks WHERE id = ?", (change.id,))
                conn.exec_driver_sql("DELETE FROM leases WHERE task_id = ?", (change.id,))
            elif kind == ChangeKind.ATTEMPT:
                if touched is not None:
                    touched.update(
                        conn.exec_driver_sql(
                            "SELECT task_id FROM attempts WHERE id = ?", (change.id,)
                        ).scalars()
                    )
                conn.exec_driver_sql("DELETE FROM attempts WHERE id = ?", (change.id,))
            else:
                conn.exec_driver_sql(
                    "DELETE FROM records WHERE kind = ? AND id = ?", (kind.value, change.id)
                )
            continue
        try:
            model = CHANGE_SCHEMAS[kind].model_validate(change.data)
        except ValidationError:
            # Not the details: they would quote the record's values (PHI).
            raise CacheError(
                f"the server sent a {kind.value} record this client cannot read; "
                "the sync stopped before it (update assistant-tui?)"
            ) from None
        if isinstance(model, TaskOut):
            base = bases.get(model.id)
            if base is not None and model.version <= base and _has_task(conn, model.id):
                continue  # our undelivered outcome is newer than this server state
            tasks.append(task_columns(model, now))
        elif isinstance(model, AttemptOut):
            attempts.append(
                (model.id, model.task_id, ts(model.started_at), model.model_dump_json(), now)
            )
        else:
            records.append(_record_row(kind.value, model, now))
            if isinstance(model, PatientOut):
                patients[model.id] = None
    flush()
    return count


def _has_task(conn: Connection, task_id: str) -> bool:
    return conn.exec_driver_sql("SELECT 1 FROM tasks WHERE id = ?", (task_id,)).first() is not None


__all__ = ["apply_changes", "set_state", "upsert_attempt", "upsert_record", "upsert_task"]
