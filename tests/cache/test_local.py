"""The encrypted cache on its own (no server): encryption, queue, outbox, errors, retention."""

from __future__ import annotations

import secrets
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from followup_core.enums import ChangeKind, ChangeOp, EscalationRoute, Priority, TaskStatus
from followup_core.errors import FollowupError
from followup_core.schemas import Change, EscalationIn, SyncPage
from local_cache import (
    CacheCorrupt,
    CacheError,
    LocalCache,
    SyncEngine,
    WrongPassphrase,
    cache_path,
)
from local_cache.keys import KeyStore, MemoryKeyring
from local_cache.migrations import LATEST
from tests.cache import synthetic
from tests.cache.helpers import attempt_for


def _task(cache: LocalCache, i: int) -> Any:
    task = cache.task(f"task-{i}")
    assert task is not None
    return task


def test_file_is_encrypted_and_migrated(open_cache: Any) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(3))
    header = cache.path.read_bytes()[:16]
    assert header != b"SQLite format 3\x00"
    with cache._read() as conn:
        assert conn.exec_driver_sql("PRAGMA user_version").scalar_one() == LATEST
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar_one() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar_one() == 2  # FULL


def test_queue_is_priority_then_due(open_cache: Any) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(12))
    rows = cache.queue()
    assert len(rows) == 12
    keys = [(r.priority.rank, r.due_at) for r in rows]
    assert keys == sorted(keys)
    assert rows[0].priority == Priority.STAT
    assert rows[0].patient_label.startswith("Family")
    assert not any(r.pending for r in rows)


def test_record_attempt_moves_task_and_queues_it_in_one_commit(
    open_cache: Any, tmp_path: Path, keyring_backend: MemoryKeyring, passphrase: str
) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(4))
    attempt = attempt_for(_task(cache, 0))
    row = cache.record_attempt(attempt)
    assert row is not None and row.pending
    assert row.attempts == 1 and row.business_status == "no-answer"
    assert row.next_attempt_at is not None
    assert cache.outbox_depth() == 1
    cache.close()
    # Durable: a fresh open (as after a crash) sees the task moved and the entry queued.
    again = LocalCache.open(
        tmp_path / "client", "alice", passphrase, keyring_backend=keyring_backend
    )
    try:
        [entry] = again.outbox_entries()
        assert entry.id == str(attempt.id) and entry.kind == "attempt" and entry.state == "pending"
        context = again.task_context("task-0")
        assert context is not None
        assert context.task.attempts == 1
        assert [a.id for a in context.pending_attempts] == [attempt.id]
    finally:
        again.close()


def test_same_attempt_recorded_twice_is_one_entry(open_cache: Any) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(2))
    attempt = attempt_for(_task(cache, 1))
    cache.record_attempt(attempt)
    row = cache.record_attempt(attempt)
    assert cache.outbox_depth() == 1
    assert row is not None and row.attempts == 1


def test_invalid_attempt_records_nothing(open_cache: Any) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(2))
    before = cache.queue()
    with pytest.raises(FollowupError):
        cache.record_attempt(attempt_for(_task(cache, 0), outcome="no-such-outcome"))
    assert cache.outbox_depth() == 0
    assert cache.queue() == before


def test_feed_keeps_local_outcome_until_server_has_newer_version(open_cache: Any) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(2))
    cache.record_attempt(attempt_for(_task(cache, 0)))
    # The same server version arrives again (e.g. a replayed page): local state stays.
    cache.apply_page(synthetic.change_page(synthetic.task_change(0, version=1)))
    assert _task(cache, 0).attempts == 1
    # A newer server version wins.
    newer = synthetic.task_change(0, version=2, attempts=1, business_status="no-answer")
    cache.apply_page(synthetic.change_page(newer))
    assert _task(cache, 0).version == 2


def test_escalation_puts_the_task_on_hold_with_its_outbox_entry(open_cache: Any) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(2))
    esc = EscalationIn(
        id=uuid.uuid4(), task_id="task-1", route=EscalationRoute.COMPLAINT, reason="long wait"
    )
    cache.record_escalation(esc)
    cache.record_escalation(esc)  # the same escalation twice is one entry
    assert _task(cache, 1).status is TaskStatus.ON_HOLD
    assert [(e.id, e.kind) for e in cache.outbox_entries("pending")] == [
        (str(esc.id), "escalation")
    ]
    # The same server version arriving again does not take the hold back.
    cache.apply_page(synthetic.change_page(synthetic.task_change(1, version=1)))
    assert _task(cache, 1).status is TaskStatus.ON_HOLD


def test_remove_keeps_the_queued_attempt(open_cache: Any) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(3))
    attempt = attempt_for(_task(cache, 2))
    cache.record_attempt(attempt)
    cache.apply_page(synthetic.change_page(synthetic.remove_task(2)))
    assert cache.task("task-2") is None
    assert "task-2" not in {r.task_id for r in cache.queue()}
    assert [e.id for e in cache.outbox_entries("pending")] == [str(attempt.id)]


def test_wrong_passphrase_is_one_clear_line(
    open_cache: Any,
    tmp_path: Path,
    keyring_backend: MemoryKeyring,
    capfd: pytest.CaptureFixture[str],
) -> None:
    open_cache().close()
    with pytest.raises(WrongPassphrase) as caught:
        LocalCache.open(
            tmp_path / "client", "alice", "not-the-passphrase", keyring_backend=keyring_backend
        )
    message = str(caught.value)
    assert "\n" not in message and "passphrase" in message
    assert capfd.readouterr().err == ""


def test_corrupted_file_is_cache_corrupt_without_stderr_noise(
    open_cache: Any,
    tmp_path: Path,
    keyring_backend: MemoryKeyring,
    passphrase: str,
    capfd: pytest.CaptureFixture[str],
) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(50))
    path = cache.path
    cache.close()
    data = bytearray(path.read_bytes())
    data[:4096] = secrets.token_bytes(4096)  # page 1: the schema and the key check
    path.write_bytes(bytes(data))
    with pytest.raises(CacheCorrupt) as caught:
        LocalCache.open(tmp_path / "client", "alice", passphrase, keyring_backend=keyring_backend)
    assert "\n" not in str(caught.value)
    assert capfd.readouterr().err == ""


def test_damage_inside_the_file_is_reported_on_read(
    open_cache: Any, tmp_path: Path, keyring_backend: MemoryKeyring, passphrase: str
) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(300))
    path = cache.path
    cache.close()
    data = bytearray(path.read_bytes())
    assert len(data) > 8 * 4096
    for page in range(2, len(data) // 4096):
        data[page * 4096 + 100 : page * 4096 + 116] = secrets.token_bytes(16)
    path.write_bytes(bytes(data))
    with pytest.raises(CacheCorrupt):
        opened = LocalCache.open(
            tmp_path / "client", "alice", passphrase, keyring_backend=keyring_backend
        )
        try:
            opened.queue()
            opened.task_context("task-1")
        finally:
            opened.close()


def test_no_phi_in_database_wal_or_journal(open_cache: Any) -> None:
    marker = "Zq" + secrets.token_hex(6)
    notes_marker = "Nq" + secrets.token_hex(6)
    cache = open_cache()
    cache.apply_page(synthetic.page(40, marker=marker))
    cache.record_attempt(attempt_for(_task(cache, 3), notes=f"patient said {notes_marker}"))
    files = [Path(f"{cache.path}{s}") for s in ("", "-wal", "-shm", "-journal")]
    assert Path(f"{cache.path}-wal").exists()  # checked while the WAL still holds pages
    needles = [
        s.encode(enc) for s in (marker, notes_marker) for enc in ("utf-8", "utf-16-le", "utf-16-be")
    ]

    def scan() -> None:
        for file in files:
            if file.exists():
                blob = file.read_bytes()
                for needle in needles:
                    assert needle not in blob, f"plaintext found in {file.name}"

    scan()
    cache.close()
    scan()


def test_retention_purges_old_phi_but_not_undelivered_work(open_cache: Any) -> None:
    cache = open_cache(retention_days=14)
    cache.apply_page(synthetic.page(5))
    closed = synthetic.task_change(4, version=2, status="completed")
    cache.apply_page(synthetic.change_page(closed))
    attempt = attempt_for(_task(cache, 1))
    cache.record_attempt(attempt)
    now = datetime.now(UTC)
    # Within the period nothing goes.
    assert cache.purge_expired(now + timedelta(days=13)) == 0
    # Past it, with no sync in between: all PHI goes, the feed starts over.
    assert cache.purge_expired(now + timedelta(days=15)) > 0
    assert cache.queue() == []
    assert cache.cursor() is None
    with cache._read() as conn:
        kinds = {r[0] for r in conn.exec_driver_sql("SELECT kind FROM records").fetchall()}
    assert kinds == {"practice"}
    assert [e.id for e in cache.outbox_entries("pending")] == [str(attempt.id)]


def test_retention_drops_closed_tasks_of_a_cache_that_syncs(open_cache: Any) -> None:
    cache = open_cache(retention_days=14)
    cache.apply_page(synthetic.page(3))
    cache.apply_page(synthetic.change_page(synthetic.task_change(2, version=2, status="completed")))
    later = datetime.now(UTC) + timedelta(days=15)
    with cache._write() as conn:  # as if the user had synced just now, 15 days on
        conn.exec_driver_sql(
            "UPDATE sync_state SET value = ? WHERE key = 'last_sync'", (later.isoformat(),)
        )
    cache.purge_expired(later)
    assert cache.task("task-2") is None  # closed and old
    assert cache.task("task-0") is not None  # still assigned
    context = cache.task_context("task-0")
    assert context is not None and context.patient is not None


def test_wipe_removes_file_wal_and_key(
    open_cache: Any, tmp_path: Path, keyring_backend: MemoryKeyring
) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(3))
    path = cache.path
    cache.wipe()
    for suffix in ("", "-wal", "-shm", "-journal"):
        assert not Path(f"{path}{suffix}").exists()
    assert not KeyStore(tmp_path / "client", "alice", keyring_backend=keyring_backend).exists()


def test_missing_key_with_existing_file_is_clear(
    open_cache: Any, tmp_path: Path, keyring_backend: MemoryKeyring, passphrase: str
) -> None:
    open_cache().close()
    KeyStore(tmp_path / "client", "alice", keyring_backend=keyring_backend).path.unlink()
    with pytest.raises(CacheError, match="key"):
        LocalCache.open(tmp_path / "client", "alice", passphrase, keyring_backend=keyring_backend)
    assert cache_path(tmp_path / "client", "alice").exists()  # nothing destroyed


def test_newer_schema_is_refused(
    open_cache: Any, tmp_path: Path, keyring_backend: MemoryKeyring, passphrase: str
) -> None:
    cache = open_cache()
    with cache._write() as conn:
        conn.exec_driver_sql(f"PRAGMA user_version = {LATEST + 1}")
    cache.close()
    with pytest.raises(CacheError, match="newer"):
        LocalCache.open(tmp_path / "client", "alice", passphrase, keyring_backend=keyring_backend)


def test_worker_threads_record_and_read_concurrently(open_cache: Any) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(40))
    tasks = [_task(cache, i) for i in range(40)]
    errors: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(offset, 40, 8):
                cache.record_attempt(attempt_for(tasks[i]))
                cache.queue()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert cache.outbox_depth() == 40
    assert all(r.attempts == 1 for r in cache.queue())
    assert {r.status for r in cache.queue()} <= {TaskStatus.READY, TaskStatus.IN_PROGRESS}


def test_unreadable_record_stops_the_page_whole(open_cache: Any) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(2, cursor="c1"))
    bad = synthetic.task(7)
    bad["priority"] = "whenever"  # not a priority
    page = synthetic.change_page(
        synthetic.task_change(8),
        Change(kind=ChangeKind.TASK, id="task-7", op=ChangeOp.UPSERT, version=1, data=bad),
    )
    with pytest.raises(CacheError) as caught:
        cache.apply_page(page)
    assert "whenever" not in str(caught.value) and "\n" not in str(caught.value)
    assert cache.cursor() == "c1"  # the checkpoint stays before the page
    assert cache.task("task-8") is None  # nothing of the page was applied


class _OneBadPage:
    """The client edge: a server that sends one unreadable page."""

    async def sync(self, after: str | None, limit: int) -> SyncPage:
        bad = synthetic.task(1)
        bad["status"] = "lost"
        return synthetic.change_page(
            Change(kind=ChangeKind.TASK, id="task-1", op=ChangeOp.UPSERT, version=9, data=bad)
        )


async def test_engine_reports_a_bad_page_as_status_not_exception(open_cache: Any) -> None:
    cache = open_cache()
    status = await SyncEngine(cache, _OneBadPage()).sync_once()
    assert status.online and status.last_error and "task record" in status.last_error
    assert cache.cursor() is None


def test_cache_files_are_owner_only(open_cache: Any) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(2))
    for suffix in ("", "-wal"):
        mode = Path(f"{cache.path}{suffix}").stat().st_mode & 0o777
        assert mode == 0o600, f"{suffix or 'db'}: {oct(mode)}"
