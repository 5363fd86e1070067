"""Engines, sessions and migrations for SQLite (embedded) and PostgreSQL (scale).

SQLite runs in WAL with foreign keys on. Transactions that may write start with
`BEGIN IMMEDIATE` (the default): a deferred transaction that reads and then
writes fails at once with SQLITE_BUSY(_SNAPSHOT) when another writer committed
in between, instead of waiting its turn. Pure reads opt out with `begin_read`
(a deferred transaction: a WAL snapshot, no write lock), so a token check or a
read-only route never queues behind writers or blocks them. We chose "IMMEDIATE
unless declared read-only" over "deferred + retry on BUSY" because a retry would
have to replay a whole request's work (idempotency record, audit chain, change
log) and every write path would need to be retry-safe; declaring the few pure
reads is local and cannot silently lose a write.

Writers in one process also queue on a Python lock taken just before `BEGIN
IMMEDIATE` and released right after COMMIT/ROLLBACK. SQLite's own busy handler
polls with sleeps of up to 100 ms, so under load a waiting writer slept long
after the lock was free (p99 in seconds); the Python lock hands over at once.
Other processes (the CLI, a second server) still meet SQLite's busy timeout.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SQLITE_BUSY_TIMEOUT_MS = 30_000
# Execution option read by the SQLite "begin" hook: "DEFERRED" for pure reads.
SQLITE_BEGIN_OPTION = "sqlite_begin"
_READ_ONLY = {SQLITE_BEGIN_OPTION: "DEFERRED"}


def begin_read(session: Session) -> None:
    """Start `session`'s next transaction as a pure read (SQLite: deferred, no write lock).

    Call it when the session has no transaction yet; the transaction must not write
    (on SQLite a write in it may fail with "database is locked"). No effect on
    PostgreSQL, whose transactions take no lock until they write.
    """
    if session.in_transaction():
        return
    session.connection(execution_options=_READ_ONLY)


class _WriterQueuedConnection(sqlite3.Connection):
    """An sqlite3 connection that holds its engine's writer lock from BEGIN IMMEDIATE
    until COMMIT or ROLLBACK has actually run (so the next writer never meets BUSY)."""

    writer_lock: threading.Lock | None = None
    holds_writer_lock = False

    def take_writer_lock(self) -> None:
        lock = self.writer_lock
        # Bounded like SQLite's own wait: past it, fall through to BEGIN IMMEDIATE and
        # let SQLite's busy timeout decide (e.g. a thread that opened a second writer).
        if lock is not None and lock.acquire(timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            self.holds_writer_lock = True

    def release_writer_lock(self) -> None:
        if self.holds_writer_lock and self.writer_lock is not None:
            self.holds_writer_lock = False
            self.writer_lock.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            if not self.in_transaction:
                self.release_writer_lock()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self.release_writer_lock()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.release_writer_lock()


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    """An engine for `url`; parameters never appear in error messages or logs (PHI)."""
    parsed = make_url(url)
    kwargs.setdefault("hide_parameters", True)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, **kwargs)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # A bare postgresql:// would pick psycopg2, which is not installed.
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(parsed, **kwargs)


def _sqlite_engine(url: str, **kwargs: Any) -> Engine:
    parsed = make_url(url)
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    connect_args = kwargs.pop("connect_args", {})
    connect_args.setdefault("check_same_thread", False)
    connect_args.setdefault("timeout", SQLITE_BUSY_TIMEOUT_MS / 1000)
    connect_args.setdefault("factory", _WriterQueuedConnection)
    engine = create_engine(url, connect_args=connect_args, **kwargs)
    writer_lock = threading.Lock()

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_connection.isolation_level = None
        if isinstance(dbapi_connection, _WriterQueuedConnection):
            dbapi_connection.writer_lock = writer_lock
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if connection.get_execution_options().get(SQLITE_BEGIN_OPTION) == "DEFERRED":
            connection.exec_driver_sql("BEGIN")
            return
        dbapi_connection = connection.connection.dbapi_connection
        if isinstance(dbapi_connection, _WriterQueuedConnection):
            dbapi_connection.take_writer_lock()
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            if isinstance(dbapi_connection, _WriterQueuedConnection):
                dbapi_connection.release_writer_lock()
            raise

    return engine


def make_session_factory(
    engine: Engine, *, info: dict[str, Any] | None = None
) -> sessionmaker[Session]:
    """Sessions on `engine` that keep loaded objects usable after commit; `info` is
    copied into each session's `Session.info` (the app puts its live broker there)."""
    return sessionmaker(engine, expire_on_commit=False, info=info)


def alembic_config(url: str) -> Any:
    """An Alembic config built in code: no alembic.ini; env.py reads the URL from attributes."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["url"] = url
    return config


# Alembic's `context` is module-global: one migration at a time per process. Across
# processes, env.py takes a PostgreSQL advisory lock (SQLite's write lock suffices).
_migrate_lock = threading.Lock()


def migrate(url: str, revision: str = "head") -> None:
    """Bring the database at `url` up to `revision` (Alembic upgrade)."""
    from alembic import command

    with _migrate_lock:
        command.upgrade(alembic_config(url), revision)
