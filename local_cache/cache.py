"""`LocalCache`: the encrypted offline store of one assistant on one machine.

Every public method is one local transaction and safe to call from worker
threads (a pooled connection per call; writers serialised by a lock and
`BEGIN IMMEDIATE`). A write that records work puts its outbox entry in the
same transaction, so once `record_attempt` returns the attempt is on disk
(fsynced: WAL, synchronous=FULL) and will be delivered exactly once.
"""

from __future__ import annotations

import errno
import gc
import hashlib
import json
import threading
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from followup_core.enums import TERMINAL_STATUSES, AgentState, TaskStatus
from followup_core.schemas import (
    AppointmentOut,
    AttemptIn,
    AttemptOut,
    EscalationIn,
    EscalationOut,
    Lease,
    PatientOut,
    PracticeOut,
    ReferralOut,
    ScriptOut,
    SyncPage,
    TaskOut,
)
from local_cache import feed_apply, retention
from local_cache.engine import make_engine
from local_cache.errors import CacheCorrupt, CacheError, DiskFull, WrongPassphrase, describe
from local_cache.migrations import migrate
from local_cache.outbox import Delivery, OutboxEntry
from local_cache.outcomes import advance
from local_cache.rows import QUEUE_COLUMNS, queue_row, task_columns, ts
from local_cache.views import NeedsAttention, QueueRow, TaskContext

DEFAULT_RETENTION = timedelta(days=14)
SIDE_FILES = ("-wal", "-shm", "-journal")


def cache_path(data_dir: Path, username: str) -> Path:
    """The cache file of one user; the name does not reveal the username."""
    digest = hashlib.sha256(username.encode("utf-8")).hexdigest()[:16]
    return Path(data_dir) / f"cache-{digest}.db"


def _now() -> datetime:
    return datetime.now(UTC)


def _keystore(data_dir: Path, username: str, keyring_backend: Any) -> Any:
    from local_cache.keys import KeyStore

    return KeyStore(data_dir, username, keyring_backend=keyring_backend)


def _unlock_or_create(keystore: Any, passphrase: str, path: Path) -> bytes:
    """The cache's data key: unlocked with the passphrase, or created on first run."""
    try:
        if keystore.exists():
            return bytes(keystore.unlock(passphrase))
        if path.exists():
            raise CacheError(
                "the key of the local cache is missing, so the cache cannot be read; "
                "wipe it to start a fresh one"
            )
        return bytes(keystore.create(passphrase))
    except CacheError:
        raise
    except Exception as exc:
        # D1's KeyStore may raise its own WrongPassphrase: same meaning, our type.
        if type(exc).__name__ == "WrongPassphrase":
            raise WrongPassphrase() from None
        raise CacheError(f"the cache key could not be read: {type(exc).__name__}") from None


class LocalCache:
    """The encrypted cache. Build it with `LocalCache.open(...)`."""

    def __init__(
        self, path: Path, engine: Engine, keystore: Any, *, retention_period: timedelta
    ) -> None:
        self.path = path
        self._engine = engine
        self._keystore = keystore
        self.retention = retention_period
        self._write_lock = threading.RLock()
        self._closed = False

    # --- opening, closing, wiping ------------------------------------------------

    @classmethod
    def open(
        cls,
        data_dir: Path | str,
        username: str,
        passphrase: str,
        *,
        keyring_backend: Any = None,
        retention_days: float | None = None,
    ) -> LocalCache:
        """Unlock (or on first run create) the user's cache; raises one-line CacheErrors."""
        data_dir = Path(data_dir)
        try:
            data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as exc:
            raise CacheError(f"the data directory cannot be created: {exc.strerror}") from None
        path = cache_path(data_dir, username)
        keystore = _keystore(data_dir, username, keyring_backend)
        key = _unlock_or_create(keystore, passphrase, path)
        period = DEFAULT_RETENTION if retention_days is None else timedelta(days=retention_days)
        try:
            # Owner-only from the start; SQLite gives -wal/-shm the same mode.
            path.touch(mode=0o600, exist_ok=True)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DiskFull("the disk is full: the cache file cannot be created") from None
            raise CacheError(f"the cache file cannot be created: {exc.strerror}") from None
        engine = make_engine(path, key)
        cache = cls(path, engine, keystore, retention_period=period)
        try:
            with cache._write() as conn:
                migrate(conn)
            cache.purge_expired(_now())
        except BaseException:
            engine.dispose()
            raise
        return cache

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._engine.dispose()

    def wipe(self) -> None:
        """Remove the cache file, its WAL/journal and its key (logout with wipe)."""
        self.close()
        for suffix in ("", *SIDE_FILES):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        self._keystore.wipe()

    def verify_passphrase(self, passphrase: str) -> bool:
        """For the idle lock: does this passphrase unlock the cache key?"""
        try:
            return bool(self._keystore.verify(passphrase))
        except Exception:
            return False

    def __enter__(self) -> LocalCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions --------------------------------------------------------------

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        if self._closed:
            raise CacheError("the local cache is closed")
        try:
            with self._engine.connect() as conn, conn.begin():
                yield conn
        except DBAPIError as exc:
            raise describe(exc) from None

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        """One write transaction; any failure rolls it back whole."""
        if self._closed:
            raise CacheError("the local cache is closed")
        try:
            with (
                self._write_lock,
                self._engine.connect().execution_options(write=True) as conn,
                conn.begin(),
            ):
                yield conn
        except DBAPIError as exc:
            raise describe(exc) from None
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise DiskFull(
                    "the disk is full: the change was not saved (earlier work is safe)"
                ) from None
            raise CacheError(f"the local cache could not be written: {exc.strerror}") from None

    # --- reads ----------------------------------------------------------------------

    def queue(self) -> list[QueueRow]:
        """Open tasks, most urgent priority first, then earliest due."""
        sql = (
            f"SELECT {QUEUE_COLUMNS} FROM tasks t WHERE t.is_open = 1 "
            "ORDER BY t.priority_rank, t.due_at"
        )
        with self._read() as conn:
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

    def queue_row(self, task_id: str) -> QueueRow | None:
        with self._read() as conn:
            return self._queue_row(conn, task_id)

    def _queue_row(self, conn: Connection, task_id: str) -> QueueRow | None:
        row = conn.exec_driver_sql(
            f"SELECT {QUEUE_COLUMNS} FROM tasks t WHERE t.id = ? AND t.is_open = 1", (task_id,)
        ).first()
        return queue_row(row) if row else None

    def queue_rows(self, task_ids: Iterable[str]) -> dict[str, QueueRow | None]:
        """The current queue rows of these tasks, in one read.

        Every id asked for is a key; its value is None when the task is not in
        the open queue any more (finished, removed, reassigned away).
        """
        wanted = list(dict.fromkeys(task_ids))
        found: dict[str, QueueRow | None] = dict.fromkeys(wanted)
        if not wanted:
            return found
        sql = (
            f"SELECT {QUEUE_COLUMNS} FROM tasks t WHERE t.is_open = 1 "
            "AND t.id IN (SELECT value FROM json_each(?))"
        )
        with self._read() as conn:
            for r in conn.exec_driver_sql(sql, (json.dumps(wanted),)):
                row = queue_row(r)
                found[row.task_id] = row
        return found

    def task(self, task_id: str) -> TaskOut | None:
        with self._read() as conn:
            data = conn.exec_driver_sql("SELECT data FROM tasks WHERE id = ?", (task_id,)).scalar()
        return TaskOut.model_validate_json(data) if data else None

    def _record(self, conn: Connection, kind: str, record_id: str | None) -> str | None:
        if record_id is None:
            return None
        value = conn.exec_driver_sql(
            "SELECT data FROM records WHERE kind = ? AND id = ?", (kind, record_id)
        ).scalar()
        return str(value) if value is not None else None

    def practice(self, practice_id: str) -> PracticeOut | None:
        with self._read() as conn:
            data = self._record(conn, "practice", practice_id)
        return PracticeOut.model_validate_json(data) if data else None

    def practices(self) -> list[PracticeOut]:
        with self._read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT data FROM records WHERE kind = 'practice' ORDER BY id"
            ).scalars()
            return [PracticeOut.model_validate_json(r) for r in rows]

    def task_context(self, task_id: str) -> TaskContext | None:
        """The task with its patient, focus, script, practice and attempts; None if unknown."""
        with self._read() as conn:
            data = conn.exec_driver_sql("SELECT data FROM tasks WHERE id = ?", (task_id,)).scalar()
            if data is None:
                return None
            task = TaskOut.model_validate_json(data)
            practice_json = self._record(conn, "practice", task.practice_id)
            if practice_json is None:
                raise CacheError("this task's practice has not been synced yet; sync first")
            patient = self._record(conn, "patient", task.patient_id)
            appointment = referral = None
            if task.focus is not None:
                focus = self._record(conn, task.focus.kind.value, task.focus.id)
                if focus and task.focus.kind.value == "appointment":
                    appointment = AppointmentOut.model_validate_json(focus)
                elif focus:
                    referral = ReferralOut.model_validate_json(focus)
            script = self._record(conn, "script", task.script_id)
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
        with self._read() as conn:
            return int(
                conn.exec_driver_sql(
                    "SELECT count(*) FROM outbox WHERE state = 'pending'"
                ).scalar_one()
            )

    def needs_attention(self) -> list[NeedsAttention]:
        with self._read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT entry_id, kind, status_code, reply, task_id, created_at "
                "FROM needs_attention ORDER BY created_at, entry_id"
            ).fetchall()
        return [
            NeedsAttention(
                entry_id=r[0],
                kind=r[1],
                status_code=r[2],
                reply=json.loads(r[3]),
                task_id=r[4],
                created_at=datetime.fromisoformat(r[5]),
            )
            for r in rows
        ]

    def counts(self) -> dict[str, Any]:
        """What the status bar needs, in one read: outbox depth, attention, tasks, last sync."""
        with self._read() as conn:
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
        with self._read() as conn:
            value = conn.exec_driver_sql(
                "SELECT value FROM sync_state WHERE key = 'cursor'"
            ).scalar()
        return str(value) if value is not None else None

    def outbox_entries(self, state: str | None = None) -> list[OutboxEntry]:
        """The outbox in order (for tests, diagnostics and the drain)."""
        sql = (
            "SELECT seq, id, kind, task_id, body, state, attempts, server_errors, next_try_at "
            "FROM outbox"
        )
        params: tuple[Any, ...] = ()
        if state is not None:
            sql += " WHERE state = ?"
            params = (state,)
        with self._read() as conn:
            rows = conn.exec_driver_sql(sql + " ORDER BY seq", params).fetchall()
        return [OutboxEntry(*r) for r in rows]

    def pending_after(self, after_seq: int = 0, limit: int = 100) -> list[OutboxEntry]:
        """Up to `limit` undelivered entries after `after_seq`, in order."""
        with self._read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT seq, id, kind, task_id, body, state, attempts, server_errors, next_try_at "
                "FROM outbox "
                "WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            ).fetchall()
        return [OutboxEntry(*r) for r in rows]

    def next_pending(self, after_seq: int = 0) -> OutboxEntry | None:
        """The oldest undelivered entry after `after_seq`."""
        with self._read() as conn:
            row = conn.exec_driver_sql(
                "SELECT seq, id, kind, task_id, body, state, attempts, server_errors, next_try_at "
                "FROM outbox "
                "WHERE state = 'pending' AND seq > ? ORDER BY seq LIMIT 1",
                (after_seq,),
            ).first()
        return OutboxEntry(*row) if row else None

    # --- local writes (each with its outbox entry) ----------------------------------

    def _enqueue(
        self,
        conn: Connection,
        *,
        entry_id: str,
        kind: str,
        body: str,
        task_id: str | None = None,
        task_version: int | None = None,
    ) -> None:
        conn.exec_driver_sql(
            "INSERT INTO outbox (id, kind, task_id, task_version, body, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (entry_id, kind, task_id, task_version, body, ts(_now())),
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
        with self._write() as conn:
            if not self._exists(conn, entry_id):
                self._advance_task(conn, attempt)
                self._enqueue(
                    conn,
                    entry_id=entry_id,
                    kind="attempt",
                    body=attempt.model_dump_json(),
                    task_id=attempt.task_id,
                    task_version=attempt.task_version,
                )
            return self._queue_row(conn, attempt.task_id)

    def _advance_task(self, conn: Connection, attempt: AttemptIn) -> None:
        data = conn.exec_driver_sql(
            "SELECT data FROM tasks WHERE id = ?", (attempt.task_id,)
        ).scalar()
        if data is None:
            return
        task = TaskOut.model_validate_json(data)
        practice = self._record(conn, "practice", task.practice_id)
        if practice is None:
            return
        patient = self._record(conn, "patient", task.patient_id)
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
        with self._write() as conn:
            if not self._exists(conn, str(esc.id)):
                self._enqueue(
                    conn,
                    entry_id=str(esc.id),
                    kind="escalation",
                    body=esc.model_dump_json(),
                    task_id=esc.task_id,
                    task_version=self._hold_task(conn, esc.task_id),
                )

    def set_presence(self, state: AgentState | str) -> None:
        """Queue a presence change; only the latest undelivered one is worth sending."""
        value = AgentState(state).value
        with self._write() as conn:
            conn.exec_driver_sql("DELETE FROM outbox WHERE kind = 'presence' AND state = 'pending'")
            self._enqueue(
                conn,
                entry_id=str(uuid.uuid4()),
                kind="presence",
                body=json.dumps({"state": value}),
            )

    def claim(self, task_id: str) -> None:
        """Queue a lease request for the task (delivered with the rest of the outbox)."""
        with self._write() as conn:
            self._enqueue(
                conn,
                entry_id=str(uuid.uuid4()),
                kind="claim",
                body=json.dumps({"task_id": task_id}),
                task_id=task_id,
            )

    # --- what the sync engine writes -----------------------------------------------

    def apply_page(self, page: SyncPage, touched: set[str] | None = None) -> int:
        """Apply one feed page and its cursor in one transaction (a checkpoint).

        Returns the number of changes applied; adds the ids of the tasks it
        changed to `touched` if given (see `feed_apply.apply_changes`).
        """
        with self._write() as conn:
            count = feed_apply.apply_changes(conn, page.changes, ts(_now()), touched)
            feed_apply.set_state(conn, "cursor", page.cursor)
            feed_apply.set_state(conn, "last_sync", _now().isoformat())
        return count

    def reset_cursor(self) -> None:
        """Read the feed from the start at the next sync (the server refused our cursor)."""
        with self._write() as conn:
            conn.exec_driver_sql("DELETE FROM sync_state WHERE key = 'cursor'")

    def mark_synced(self) -> None:
        """Note a completed sync round (the feed was read to the end)."""
        with self._write() as conn:
            feed_apply.set_state(conn, "last_sync", _now().isoformat())

    def mark_delivered(
        self,
        entry_id: str,
        *,
        status_code: int,
        task: TaskOut | None = None,
        attempt: AttemptOut | None = None,
        escalation: EscalationOut | None = None,
        lease: Lease | None = None,
    ) -> None:
        """The server accepted the entry: record that and what it answered, atomically."""
        self.mark_delivered_many(
            [Delivery(entry_id, status_code, task, attempt, escalation, lease)]
        )

    def mark_delivered_many(self, deliveries: Sequence[Delivery]) -> None:
        """Record several accepted entries in one transaction (one fsync), in order.

        Safe to batch: until this commits, the entries still look pending, and
        if the process dies first they are sent again with the same
        Idempotency-Key, which the server answers by replaying its first reply.
        """
        if not deliveries:
            return
        now = ts(_now())
        with self._write() as conn:
            for d in deliveries:
                conn.exec_driver_sql(
                    "UPDATE outbox SET state = 'delivered', delivered_at = ?, last_status = ?, "
                    "attempts = attempts + 1, last_reply = NULL WHERE id = ?",
                    (now, d.status_code, d.entry_id),
                )
                if d.attempt is not None:
                    feed_apply.upsert_attempt(conn, d.attempt, now)
                if d.task is not None:
                    # Only a task we still hold: one reassigned away stays away.
                    feed_apply.upsert_task(conn, d.task, now, update_only=True)
                if d.escalation is not None:
                    feed_apply.upsert_record(conn, "escalation", d.escalation, now)
                if d.lease is not None:
                    conn.exec_driver_sql(
                        "INSERT INTO leases (task_id, holder_id, expires_at) VALUES (?, ?, ?) "
                        "ON CONFLICT (task_id) DO UPDATE SET holder_id = excluded.holder_id, "
                        "expires_at = excluded.expires_at",
                        (d.lease.task_id, d.lease.holder_id, ts(d.lease.expires_at)),
                    )

    def mark_attention(self, entry_id: str, status_code: int, reply: Any) -> None:
        """The server refused the entry: keep it, with the server's reply, for a person."""
        with self._write() as conn:
            self._mark_attention(conn, entry_id, status_code, reply)

    def _mark_attention(
        self, conn: Connection, entry_id: str, status_code: int, reply: Any
    ) -> None:
        now = ts(_now())
        body = json.dumps(reply if reply is not None else {})
        row = conn.exec_driver_sql(
            "SELECT kind, task_id FROM outbox WHERE id = ?", (entry_id,)
        ).first()
        if row is None:
            return
        conn.exec_driver_sql(
            "UPDATE outbox SET state = 'attention', attempts = attempts + 1, "
            "last_status = ?, last_reply = ? WHERE id = ?",
            (status_code, body, entry_id),
        )
        conn.exec_driver_sql(
            "INSERT INTO needs_attention (entry_id, kind, task_id, status_code, reply, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (entry_id) DO UPDATE SET "
            "status_code = excluded.status_code, reply = excluded.reply",
            (entry_id, row[0], row[1], status_code, body, now),
        )

    def note_failure(self, entry_id: str, status_code: int | None, message: str) -> None:
        """A transient failure: the entry stays pending; remember what happened."""
        with self._write() as conn:
            conn.exec_driver_sql(
                "UPDATE outbox SET attempts = attempts + 1, last_status = ?, last_reply = ? "
                "WHERE id = ? AND state = 'pending'",
                (status_code, json.dumps({"error": message}), entry_id),
            )

    def note_server_error(
        self, entry_id: str, status_code: int, reply: Any, *, limit: int, backoff: float
    ) -> bool:
        """The server, working otherwise, failed on this entry again (a 5xx for it alone).

        Counts the failure in the cache (so the count survives a restart). Below
        `limit` failures the entry stays pending but is not sent again before
        `backoff * 2**(failures-1)` seconds (capped at one hour); at `limit` it
        moves to "needs attention" with the server's reply, and the entries
        behind it go on. Returns True when it moved. (Issue 14, item 1.)
        """
        with self._write() as conn:
            row = conn.exec_driver_sql(
                "SELECT server_errors FROM outbox WHERE id = ? AND state = 'pending'",
                (entry_id,),
            ).first()
            if row is None:
                return False
            failures = int(row[0]) + 1
            wait = min(3600.0, backoff * 2 ** (failures - 1))
            conn.exec_driver_sql(
                "UPDATE outbox SET server_errors = ?, next_try_at = ?, attempts = attempts + 1, "
                "last_status = ?, last_reply = ? WHERE id = ?",
                (
                    failures,
                    ts(_now() + timedelta(seconds=wait)),
                    status_code,
                    json.dumps(reply if reply is not None else {}),
                    entry_id,
                ),
            )
            if failures < limit:
                return False
            self._mark_attention(conn, entry_id, status_code, reply)
            return True

    def retry_attention(self, entry_id: str) -> None:
        """Send a needs-attention entry again (after the person fixed the cause)."""
        with self._write() as conn:
            conn.exec_driver_sql("DELETE FROM needs_attention WHERE entry_id = ?", (entry_id,))
            conn.exec_driver_sql(
                "UPDATE outbox SET state = 'pending', server_errors = 0, next_try_at = NULL "
                "WHERE id = ? AND state = 'attention'",
                (entry_id,),
            )

    def drop_attention(self, entry_id: str) -> None:
        """Give up a needs-attention entry: it is never sent. The outbox row stays
        (state 'dropped') as the local record of what was not delivered; the task's
        own copy is corrected by the next pull of the feed."""
        with self._write() as conn:
            conn.exec_driver_sql("DELETE FROM needs_attention WHERE entry_id = ?", (entry_id,))
            conn.exec_driver_sql(
                "UPDATE outbox SET state = 'dropped' WHERE id = ? AND state = 'attention'",
                (entry_id,),
            )

    def attention_bodies(self) -> dict[str, str | None]:
        """What each needs-attention entry would send (its JSON), by entry id."""
        with self._read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT id, body FROM outbox WHERE state = 'attention'"
            ).fetchall()
        return {r[0]: r[1] for r in rows}

    # --- retention ------------------------------------------------------------------

    def purge_expired(self, now: datetime) -> int:
        """Delete cached PHI older than the retention period; returns rows removed."""
        with self._write() as conn:
            return retention.purge(conn, now - self.retention)


__all__ = [
    "DEFAULT_RETENTION",
    "CacheCorrupt",
    "CacheError",
    "LocalCache",
    "WrongPassphrase",
    "cache_path",
]
