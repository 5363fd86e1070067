"""The cache's schema, as a short versioned list applied in one transaction.

Why not Alembic here: the cache is one embedded file owned by one process, its
schema is small, and SQLite DDL is transactional, so a numbered list of
statements plus `PRAGMA user_version` (updated in the same transaction as the
DDL) gives atomic, ordered upgrades with no version table, no env.py and no
import-time cost on start-up. A cache written by a newer client is refused
rather than guessed at.

Datetimes are stored as UTC text `YYYY-MM-DDTHH:MM:SS.ffffffZ`, so text order is
time order and the queue index sorts them directly.
"""

from __future__ import annotations

from sqlalchemy import Connection

from local_cache.errors import CacheError

MIGRATIONS: list[tuple[int, tuple[str, ...]]] = [
    (
        1,
        (
            # Synced reference records (practice, script, patient, appointment,
            # referral, escalation): the *Out JSON plus what lookups need.
            """CREATE TABLE records (
                kind TEXT NOT NULL,
                id TEXT NOT NULL,
                version INTEGER NOT NULL,
                practice_id TEXT,
                patient_id TEXT,
                label TEXT,
                data TEXT NOT NULL,
                synced_at TEXT NOT NULL,
                PRIMARY KEY (kind, id)
            ) WITHOUT ROWID""",
            "CREATE INDEX records_patient ON records (kind, patient_id)",
            # Tasks: the queue's columns, indexed, plus the (possibly locally
            # advanced) TaskOut JSON.
            """CREATE TABLE tasks (
                id TEXT PRIMARY KEY,
                practice_id TEXT NOT NULL,
                workflow TEXT NOT NULL,
                status TEXT NOT NULL,
                business_status TEXT,
                priority TEXT NOT NULL,
                priority_rank INTEGER NOT NULL,
                due_at TEXT NOT NULL,
                attempts INTEGER NOT NULL,
                next_attempt_at TEXT,
                patient_id TEXT,
                caller_phone TEXT,
                patient_label TEXT NOT NULL DEFAULT '',
                is_open INTEGER NOT NULL,
                version INTEGER NOT NULL,
                local_outcome INTEGER NOT NULL DEFAULT 0,
                data TEXT NOT NULL,
                synced_at TEXT NOT NULL
            )""",
            # Covering index: the queue is read from the index alone, in order,
            # without visiting the (large, JSON-holding) table rows; with
            # SQLCipher every page visited is a page decrypted.
            """CREATE INDEX tasks_queue ON tasks (is_open, priority_rank, due_at, id,
                practice_id, workflow, status, business_status, priority, attempts,
                next_attempt_at, patient_label)""",
            "CREATE INDEX tasks_patient ON tasks (patient_id)",
            # Delivered attempts, as the server stored them (AttemptOut JSON).
            """CREATE TABLE attempts (
                id TEXT PRIMARY KEY,
                task_id TEXT NOT NULL,
                started_at TEXT NOT NULL,
                data TEXT NOT NULL,
                synced_at TEXT NOT NULL
            )""",
            "CREATE INDEX attempts_task ON attempts (task_id, started_at)",
            "CREATE TABLE sync_state (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID",
            # Local changes waiting for the server, in order. `id` is the
            # Idempotency-Key; state: pending | delivered | attention.
            """CREATE TABLE outbox (
                seq INTEGER PRIMARY KEY AUTOINCREMENT,
                id TEXT NOT NULL UNIQUE,
                kind TEXT NOT NULL,
                task_id TEXT,
                task_version INTEGER,
                body TEXT,
                created_at TEXT NOT NULL,
                state TEXT NOT NULL DEFAULT 'pending',
                attempts INTEGER NOT NULL DEFAULT 0,
                last_status INTEGER,
                last_reply TEXT,
                delivered_at TEXT
            )""",
            "CREATE INDEX outbox_state ON outbox (state, seq)",
            "CREATE INDEX outbox_task ON outbox (task_id, state)",
            # Outbox entries the server refused (409/412/422/4xx): kept with its reply.
            """CREATE TABLE needs_attention (
                entry_id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                task_id TEXT,
                status_code INTEGER NOT NULL,
                reply TEXT NOT NULL,
                created_at TEXT NOT NULL
            )""",
            """CREATE TABLE leases (
                task_id TEXT PRIMARY KEY,
                holder_id TEXT NOT NULL,
                expires_at TEXT NOT NULL
            )""",
        ),
    ),
    (
        2,
        (
            # A poisoned entry (issue 14, item 1): how many rounds in a row the
            # server, otherwise working, failed on this entry (5xx other than
            # 502/503/504), and when it may be sent again (UTC text, backoff).
            "ALTER TABLE outbox ADD COLUMN server_errors INTEGER NOT NULL DEFAULT 0",
            "ALTER TABLE outbox ADD COLUMN next_try_at TEXT",
        ),
    ),
]

LATEST = MIGRATIONS[-1][0]


def migrate(conn: Connection) -> int:
    """Bring the schema to LATEST inside the caller's write transaction."""
    current = int(conn.exec_driver_sql("PRAGMA user_version").scalar_one())
    if current > LATEST:
        raise CacheError(
            f"the local cache was written by a newer assistant-tui (schema {current}); upgrade"
        )
    for version, statements in MIGRATIONS:
        if version <= current:
            continue
        for statement in statements:
            conn.exec_driver_sql(statement)
        # PRAGMA cannot take parameters; version is our own integer.
        conn.exec_driver_sql(f"PRAGMA user_version = {int(version)}")
    return LATEST


__all__ = ["LATEST", "MIGRATIONS", "migrate"]
