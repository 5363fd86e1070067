"""Migrate and seed a database once, then hand out cheap copies of it.

Seeding (and its one argon2 hash) is the slow part of an API test module's
setup; copying a seeded SQLite file or cloning a PostgreSQL template database
is not.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

from sqlalchemy import text

from central_api.db import make_engine, make_session_factory, migrate
from central_api.seed import seed_database
from tests.support.postgres import PostgresServer, database_name


def migrate_and_seed(url: str, *, size: int, password: str, rng_seed: int = 7) -> dict[str, Any]:
    """Bring `url` to the latest schema, seed it, and close every connection."""
    migrate(url)
    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            summary = seed_database(session, size=size, demo_password=password, rng_seed=rng_seed)
    finally:
        engine.dispose()
    return summary


class SqliteTemplate:
    """A seeded SQLite file; `copy(dest_dir)` returns the URL of a private copy."""

    def __init__(self, path: Path, summary: dict[str, Any]) -> None:
        self.path = path
        self.summary = summary

    @classmethod
    def build(cls, directory: Path, *, size: int, password: str) -> SqliteTemplate:
        path = directory / "template.db"
        summary = migrate_and_seed(f"sqlite:///{path}", size=size, password=password)
        return cls(path, summary)

    def copy(self, dest_dir: Path, name: str = "api.db") -> str:
        dest = dest_dir / name
        # SQLite's backup API copies a consistent database, WAL contents included.
        with closing(sqlite3.connect(self.path)) as src, closing(sqlite3.connect(dest)) as dst:
            src.backup(dst)
        return f"sqlite:///{dest}"


class PostgresTemplate:
    """A seeded PostgreSQL database; `copy()` clones it with CREATE DATABASE … TEMPLATE."""

    def __init__(self, server: PostgresServer, name: str, summary: dict[str, Any]) -> None:
        self.server = server
        self.name = name
        self.summary = summary

    @classmethod
    def build(
        cls, server: PostgresServer, *, size: int, password: str, name: str = "seed_template"
    ) -> PostgresTemplate:
        url = server.create_database(name)
        summary = migrate_and_seed(url, size=size, password=password)
        return cls(server, database_name(url), summary)

    def copy(self) -> str:
        return self.server.create_database(template=self.name)


def table_counts(url: str, tables: list[str]) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables
            }
    finally:
        engine.dispose()
