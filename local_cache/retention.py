"""Retention of cached PHI.

Cached patient data lives on a laptop, so it is kept only as long as it is
useful: records (patients, appointments, referrals, escalations), tasks and
delivered attempts not refreshed by the server within the retention period are
deleted (closed tasks, then what no remaining task refers to), and so are
delivered outbox entries (they hold attempt notes). Open tasks stay: they are
still assigned, since a reassignment arrives from the feed as a remove.
Undelivered entries are never purged: they are work not yet on the server.
When the whole cache has not synced within the period, everything PHI is
deleted and the cursor reset, so the next sync downloads what is still
assigned. Practices and scripts are not PHI and stay.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from local_cache.rows import ts

PHI_RECORD_KINDS = ("patient", "appointment", "referral", "escalation")


def purge(conn: Connection, cutoff: datetime) -> int:
    """Delete PHI last refreshed before `cutoff`; returns rows removed."""
    limit = ts(cutoff)
    removed = 0
    last_sync = conn.exec_driver_sql(
        "SELECT value FROM sync_state WHERE key = 'last_sync'"
    ).scalar()
    stale_cache = last_sync is not None and datetime.fromisoformat(last_sync) < cutoff
    if stale_cache:
        # Nothing here is known to be current: drop it all, start the feed over.
        limit = "9999"
        conn.exec_driver_sql("DELETE FROM sync_state WHERE key = 'cursor'")
    placeholders = ", ".join("?" for _ in PHI_RECORD_KINDS)
    held = "SELECT patient_id FROM tasks WHERE patient_id IS NOT NULL"
    statements: list[tuple[str, tuple[str, ...]]] = [
        # Open tasks are still assigned (a reassignment arrives as a remove), so
        # only closed ones age out; with them go what no remaining task needs.
        ("DELETE FROM tasks WHERE (is_open = 0 OR ? = '9999') AND synced_at < ?", (limit, limit)),
        (
            "DELETE FROM attempts WHERE synced_at < ? AND task_id NOT IN (SELECT id FROM tasks)",
            (limit,),
        ),
        (
            f"DELETE FROM records WHERE kind IN ({placeholders}) AND synced_at < ? "
            f"AND CASE kind WHEN 'patient' THEN id ELSE coalesce(patient_id, '') END "
            f"NOT IN ({held})",
            (*PHI_RECORD_KINDS, limit),
        ),
        ("DELETE FROM leases WHERE expires_at < ?", (ts(cutoff),)),
        (
            "DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < ?",
            (ts(cutoff),),
        ),
    ]
    for sql, params in statements:
        result = conn.exec_driver_sql(sql, params)
        removed += max(result.rowcount, 0)
    return removed


__all__ = ["PHI_RECORD_KINDS", "purge"]
