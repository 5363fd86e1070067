"""The sync engine's writes: the replica of the server's feed and the outbox's fate.

Feed pages with their cursor (one transaction each: a checkpoint), the
server's answers to delivered entries, refusals and server failures kept for a
person. Only `local_cache.sync.SyncEngine` calls these.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import Connection

from followup_core.schemas import AttemptOut, EscalationOut, Lease, SyncPage, TaskOut
from local_cache import feed_apply
from local_cache.outbox import Delivery
from local_cache.rows import ts
from local_cache.store import Store
from local_cache.store import now as _now


class ReplicaWrites:
    """Writes of the sync engine: feed pages, deliveries, refusals."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def apply_page(self, page: SyncPage, touched: set[str] | None = None) -> int:
        """Apply one feed page and its cursor in one transaction (a checkpoint).

        Returns the number of changes applied; adds the ids of the tasks it
        changed to `touched` if given (see `feed_apply.apply_changes`).
        """
        with self._store.write() as conn:
            count = feed_apply.apply_changes(conn, page.changes, ts(_now()), touched)
            feed_apply.set_state(conn, "cursor", page.cursor)
            feed_apply.set_state(conn, "last_sync", _now().isoformat())
        return count

    def reset_cursor(self) -> None:
        """Read the feed from the start at the next sync (the server refused our cursor)."""
        with self._store.write() as conn:
            conn.exec_driver_sql("DELETE FROM sync_state WHERE key = 'cursor'")

    def mark_synced(self) -> None:
        """Note a completed sync round (the feed was read to the end)."""
        with self._store.write() as conn:
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
        with self._store.write() as conn:
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
        with self._store.write() as conn:
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
        with self._store.write() as conn:
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
        with self._store.write() as conn:
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


__all__ = ["ReplicaWrites"]
