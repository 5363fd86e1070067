"""A full disk: a clear error, the failed change not half-written, earlier work intact."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_cache import DiskFull, LocalCache
from local_cache.keys import MemoryKeyring
from tests.cache import synthetic
from tests.cache.helpers import attempt_for


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 3 MiB tmpfs (needs root, which the test machine has; skipped otherwise)."""
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=3m,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here (not root?)")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_full_disk_is_a_clear_error_and_loses_nothing_committed(
    small_disk: Path, passphrase: str
) -> None:
    keyring = MemoryKeyring()
    cache = LocalCache.open(small_disk, "alice", passphrase, keyring_backend=keyring)
    cache.apply_page(synthetic.page(20))
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * 512 * 1024)  # what the user deletes to make room
    tasks = [cache.task(f"task-{i}") for i in range(20)]
    committed: list[str] = []
    error: DiskFull | None = None
    for n in range(5000):
        task = tasks[n % 20]
        assert task is not None
        attempt = attempt_for(task, notes="x" * 3900)
        try:
            cache.record_attempt(attempt)
        except DiskFull as exc:
            error = exc
            break
        committed.append(str(attempt.id))
    assert error is not None, "the disk never filled"
    assert "\n" not in str(error) and "disk is full" in str(error)
    assert committed
    # Still readable while full, and the refused change is not there.
    assert {e.id for e in cache.outbox_entries()} == set(committed)
    cache.close()
    ballast.unlink()
    again = LocalCache.open(small_disk, "alice", passphrase, keyring_backend=keyring)
    try:
        assert {e.id for e in again.outbox_entries("pending")} == set(committed)
        again.record_attempt(attempt_for(tasks[0], notes="after freeing space"))  # type: ignore[arg-type]
        assert again.outbox_depth() == len(committed) + 1
    finally:
        again.close()
