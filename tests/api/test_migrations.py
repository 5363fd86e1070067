"""Migrations build exactly the schema the ORM models describe (no drift)."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from central_api.db import alembic_config, make_engine, migrate
from central_api.models import Base


def _drift(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def _current(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def test_single_head() -> None:
    heads = ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads()
    assert len(heads) == 1, f"migration branches need merging: {heads}"


def test_sqlite_upgrade_matches_models(sqlite_url: str) -> None:
    migrate(sqlite_url)
    assert _drift(sqlite_url) == []
    head = ScriptDirectory.from_config(alembic_config(sqlite_url)).get_current_head()
    assert _current(sqlite_url) == head


def test_migrate_is_idempotent_and_reversible(sqlite_url: str) -> None:
    migrate(sqlite_url)
    migrate(sqlite_url)  # a second start must be a no-op
    command.downgrade(alembic_config(sqlite_url), "base")
    engine = make_engine(sqlite_url)
    try:
        tables = set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert tables <= {"alembic_version"}
    migrate(sqlite_url)
    assert _drift(sqlite_url) == []


def test_sqlite_pragmas(sqlite_url: str) -> None:
    migrate(sqlite_url)
    engine = make_engine(sqlite_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 1000
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_postgres_upgrade_matches_models(create_database: Callable[..., str]) -> None:
    url = create_database()
    migrate(url)
    migrate(url)
    assert _drift(url) == []


@pytest.mark.postgres
def test_concurrent_migrations_on_postgres(create_database: Callable[..., str]) -> None:
    """Several API processes may start (and migrate) at once: the advisory lock serializes them."""
    url = create_database()
    cli = str(Path(sys.executable).parent / "assistant-api")
    procs = [
        subprocess.Popen(
            [cli, "migrate", "--db", url],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        for _ in range(3)
    ]
    results = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], results
    assert _drift(url) == []


def test_migrate_from_threads_is_serialized(sqlite_url: str) -> None:
    errors: list[BaseException] = []

    def run() -> None:
        try:
            migrate(sqlite_url)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=run) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=120)
    assert not errors, errors
    assert _drift(sqlite_url) == []
