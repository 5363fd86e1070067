"""A SQLAlchemy engine on one SQLCipher 4 file, keyed with a raw 256-bit key.

Why a small dialect subclass: SQLAlchemy's `pysqlcipher` dialect always runs
`PRAGMA key=<url password>`, so a raw key would have to travel in the URL (and
an empty password makes SQLCipher refuse). We keep the `pysqlcipher` driver and
its behaviour, drop only that pragma, and key each new connection in a pool
`connect` event with `PRAGMA key = "x'…'"` (no KDF, the key is already random).

Journal: WAL with `synchronous=FULL`. Every commit is fsynced before it
returns (a recorded attempt survives a power cut), readers (the queue) never
wait for the sync engine's page writes, and SQLCipher encrypts WAL frames the
same as database pages, so the WAL holds no plaintext. `-shm` holds only the
WAL index (page numbers), never record contents.

Transactions: the driver runs in autocommit mode and we emit `BEGIN` ourselves
(`BEGIN IMMEDIATE` for writers, chosen with the `write` execution option), so
a writer takes the lock up front instead of failing on upgrade with SQLITE_BUSY.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlcipher import SQLiteDialect_pysqlcipher
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.engine import URL
from sqlalchemy.pool import QueuePool

DIALECT_NAME = "sqlite.pysqlcipher_rawkey"


class RawKeySQLCipherDialect(SQLiteDialect_pysqlcipher):
    """`pysqlcipher` without the URL passphrase pragma; the key comes from a connect event."""

    supports_statement_cache = True

    def on_connect_url(self, url: URL) -> Any:
        return SQLiteDialect_pysqlite.on_connect_url(self, url)

    @classmethod
    def get_pool_class(cls, url: URL) -> type[QueuePool]:
        return QueuePool


registry.register(DIALECT_NAME, __name__, "RawKeySQLCipherDialect")


def make_engine(path: Path, key: bytes) -> Engine:
    """An engine whose every connection is keyed, verified and set up before use."""
    if len(key) != 32:
        raise ValueError("the cache key must be 32 bytes")
    hex_key = key.hex()
    url = URL.create("sqlite+pysqlcipher_rawkey", database=str(path))
    engine = create_engine(
        url,
        poolclass=QueuePool,
        # Two kept connections (each with its own page cache) serve the
        # workspace's reader and the sync engine's writer; bursts open more,
        # which are closed when returned.
        pool_size=2,
        max_overflow=10,
        pool_timeout=30,
        connect_args={"check_same_thread": False, "timeout": 10},
    )

    @event.listens_for(engine, "connect", insert=True)
    def _key_and_configure(dbapi_conn: Any, _record: Any) -> None:
        # Autocommit at the driver level; `_begin` below emits BEGIN.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            # Before the key: SQLCipher would otherwise print HMAC failures on stderr.
            cur.execute("PRAGMA cipher_log_level = NONE")
            cur.execute(f"PRAGMA key = \"x'{hex_key}'\"")
            # Reads page 1: a wrong key or a foreign file fails here, not mid-work.
            cur.execute("SELECT count(*) FROM sqlite_master").fetchall()
            cur.execute("PRAGMA journal_mode = WAL").fetchall()
            cur.execute("PRAGMA synchronous = FULL")
            cur.execute("PRAGMA busy_timeout = 10000")
            cur.execute("PRAGMA foreign_keys = ON")
            cur.execute("PRAGMA temp_store = MEMORY")
            # Decrypted pages kept per connection (decrypting costs more than I/O).
            # 8 MiB: the queue read is one scan of the tasks table's index and
            # columns and costs the same with 8 or 32 MiB at 100,000 tasks
            # (~0.35 s either way), while 32 MiB on each pooled connection let
            # the page caches alone reach ~128 MiB of the workspace's memory.
            cur.execute("PRAGMA cache_size = -8000")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        write = conn.get_execution_options().get("write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine


__all__ = ["DIALECT_NAME", "RawKeySQLCipherDialect", "make_engine"]
