"""`LocalCache`: the encrypted offline store of one assistant on one machine.

Opening (key, file, schema), closing, wiping and retention live here; the
work is done by the parts it holds (reads.py, commands.py, replica.py, over
one store.py). Every public method is one local transaction and safe to call
from worker threads (a pooled connection per call; writers serialised by a
lock and `BEGIN IMMEDIATE`). A write that records work puts its outbox entry
in the same transaction, so once `record_attempt` returns the attempt is on
disk (fsynced: WAL, synchronous=FULL) and will be delivered exactly once.
"""

from __future__ import annotations

import errno
import hashlib
from collections.abc import Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine

from followup_core.enums import AgentState
from followup_core.schemas import (
    AttemptIn,
    AttemptOut,
    EscalationIn,
    EscalationOut,
    Lease,
    PracticeOut,
    SyncPage,
    TaskOut,
)
from local_cache import retention
from local_cache.commands import CacheCommands
from local_cache.engine import make_engine
from local_cache.errors import CacheCorrupt, CacheError, DiskFull, WrongPassphrase
from local_cache.migrations import migrate
from local_cache.outbox import Delivery, OutboxEntry, OutboxState
from local_cache.reads import CacheReads
from local_cache.replica import ReplicaWrites
from local_cache.store import Store
from local_cache.store import now as _now
from local_cache.views import NeedsAttention, QueueRow, TaskContext

DEFAULT_RETENTION = timedelta(days=14)
SIDE_FILES = ("-wal", "-shm", "-journal")


def cache_path(data_dir: Path, username: str) -> Path:
    """The cache file of one user; the name does not reveal the username."""
    digest = hashlib.sha256(username.encode("utf-8")).hexdigest()[:16]
    return Path(data_dir) / f"cache-{digest}.db"


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
    """The encrypted cache. Build it with `LocalCache.open(...)`.

    The one object the App holds, made of parts split by who uses them:
    `reads` (the UI's queries, `CacheReads`), `commands` (the UI's outbox
    writes, `CacheCommands`), `replica` (the sync engine's writes,
    `ReplicaWrites`), with the key (`local_cache.keys`) and retention
    (`local_cache.retention`) here. Each part's methods are also methods of
    this façade, so callers need not know the split.
    """

    def __init__(
        self, path: Path, engine: Engine, keystore: Any, *, retention_period: timedelta
    ) -> None:
        self.path = path
        self.store = Store(path, engine)
        self._keystore = keystore
        self.retention = retention_period
        self.reads = CacheReads(self.store)
        self.commands = CacheCommands(self.store)
        self.replica = ReplicaWrites(self.store)

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
        self.store.close()

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

    # --- transactions (for the parts, and tests that look inside) ------------------

    def _read(self) -> AbstractContextManager[Connection]:
        return self.store.read()

    def _write(self) -> AbstractContextManager[Connection]:
        return self.store.write()

    # --- the UI's reads (CacheReads) ----------------------------------------------

    def queue(self) -> list[QueueRow]:
        """See `CacheReads.queue`."""
        return self.reads.queue()

    def owner_queue(self, owner_id: str, limit: int = 2000) -> list[QueueRow]:
        """See `CacheReads.owner_queue`."""
        return self.reads.owner_queue(owner_id, limit)

    def queue_row(self, task_id: str) -> QueueRow | None:
        """See `CacheReads.queue_row`."""
        return self.reads.queue_row(task_id)

    def queue_rows(self, task_ids: Iterable[str]) -> dict[str, QueueRow | None]:
        """See `CacheReads.queue_rows`."""
        return self.reads.queue_rows(task_ids)

    def task(self, task_id: str) -> TaskOut | None:
        """See `CacheReads.task`."""
        return self.reads.task(task_id)

    def practice(self, practice_id: str) -> PracticeOut | None:
        """See `CacheReads.practice`."""
        return self.reads.practice(practice_id)

    def practices(self) -> list[PracticeOut]:
        """See `CacheReads.practices`."""
        return self.reads.practices()

    def task_context(self, task_id: str) -> TaskContext | None:
        """See `CacheReads.task_context`."""
        return self.reads.task_context(task_id)

    def outbox_depth(self) -> int:
        """See `CacheReads.outbox_depth`."""
        return self.reads.outbox_depth()

    def needs_attention(self) -> list[NeedsAttention]:
        """See `CacheReads.needs_attention`."""
        return self.reads.needs_attention()

    def counts(self) -> dict[str, Any]:
        """See `CacheReads.counts`."""
        return self.reads.counts()

    def cursor(self) -> str | None:
        """See `CacheReads.cursor`."""
        return self.reads.cursor()

    def outbox_entries(self, state: OutboxState | str | None = None) -> list[OutboxEntry]:
        """See `CacheReads.outbox_entries`."""
        return self.reads.outbox_entries(state)

    def attention_bodies(self) -> dict[str, str | None]:
        """See `CacheReads.attention_bodies`."""
        return self.reads.attention_bodies()

    def pending_after(self, after_seq: int = 0, limit: int = 100) -> list[OutboxEntry]:
        """See `CacheReads.pending_after`."""
        return self.reads.pending_after(after_seq, limit)

    def next_pending(self, after_seq: int = 0) -> OutboxEntry | None:
        """See `CacheReads.next_pending`."""
        return self.reads.next_pending(after_seq)

    # --- the UI's commands (CacheCommands) ----------------------------------------

    def record_attempt(self, attempt: AttemptIn) -> QueueRow | None:
        """See `CacheCommands.record_attempt`."""
        return self.commands.record_attempt(attempt)

    def record_escalation(self, esc: EscalationIn) -> None:
        """See `CacheCommands.record_escalation`."""
        return self.commands.record_escalation(esc)

    def set_presence(self, state: AgentState | str) -> None:
        """See `CacheCommands.set_presence`."""
        return self.commands.set_presence(state)

    def claim(self, task_id: str) -> None:
        """See `CacheCommands.claim`."""
        return self.commands.claim(task_id)

    def retry_attention(self, entry_id: str) -> None:
        """See `CacheCommands.retry_attention`."""
        return self.commands.retry_attention(entry_id)

    def drop_attention(self, entry_id: str) -> None:
        """See `CacheCommands.drop_attention`."""
        return self.commands.drop_attention(entry_id)

    # --- the sync engine's writes (ReplicaWrites) ---------------------------------

    def apply_page(self, page: SyncPage, touched: set[str] | None = None) -> int:
        """See `ReplicaWrites.apply_page`."""
        return self.replica.apply_page(page, touched)

    def reset_cursor(self) -> None:
        """See `ReplicaWrites.reset_cursor`."""
        return self.replica.reset_cursor()

    def mark_synced(self) -> None:
        """See `ReplicaWrites.mark_synced`."""
        return self.replica.mark_synced()

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
        """See `ReplicaWrites.mark_delivered`."""
        return self.replica.mark_delivered(
            entry_id,
            status_code=status_code,
            task=task,
            attempt=attempt,
            escalation=escalation,
            lease=lease,
        )

    def mark_delivered_many(self, deliveries: Sequence[Delivery]) -> None:
        """See `ReplicaWrites.mark_delivered_many`."""
        return self.replica.mark_delivered_many(deliveries)

    def mark_attention(self, entry_id: str, status_code: int, reply: Any) -> None:
        """See `ReplicaWrites.mark_attention`."""
        return self.replica.mark_attention(entry_id, status_code, reply)

    def note_failure(self, entry_id: str, status_code: int | None, message: str) -> None:
        """See `ReplicaWrites.note_failure`."""
        return self.replica.note_failure(entry_id, status_code, message)

    def note_server_error(
        self, entry_id: str, status_code: int, reply: Any, *, limit: int, backoff: float
    ) -> bool:
        """See `ReplicaWrites.note_server_error`."""
        return self.replica.note_server_error(
            entry_id, status_code, reply, limit=limit, backoff=backoff
        )

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
