"""`Store`: one open cache file, its transactions and its write lock.

Every part of the cache (the UI's reads, the UI's commands, the sync engine's
replica writes, retention) works through one `Store`: a pooled connection per
call, so it is safe from worker threads; writers serialised by a lock and
`BEGIN IMMEDIATE`; database and disk failures turned into one-line CacheErrors.
"""

from __future__ import annotations

import errno
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError

from local_cache.errors import CacheError, DiskFull, describe


def now() -> datetime:
    """The current time, UTC (aware)."""
    return datetime.now(UTC)


class Store:
    """The engine of one SQLCipher cache file and its read/write transactions."""

    def __init__(self, path: Path, engine: Engine) -> None:
        self.path = path
        self.engine = engine
        self._write_lock = threading.RLock()
        self.closed = False

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.engine.dispose()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """One read transaction. Raises CacheError (closed, corrupt, unreadable)."""
        if self.closed:
            raise CacheError("the local cache is closed")
        try:
            with self.engine.connect() as conn, conn.begin():
                yield conn
        except DBAPIError as exc:
            raise describe(exc) from None

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One write transaction; any failure rolls it back whole.

        Raises DiskFull (ENOSPC: nothing of the change was saved) or CacheError.
        """
        if self.closed:
            raise CacheError("the local cache is closed")
        try:
            with (
                self._write_lock,
                self.engine.connect().execution_options(write=True) as conn,
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


__all__ = ["Store", "now"]
