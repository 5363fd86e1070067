"""Alembic environment: the database URL comes from `config.attributes["url"]`.

There is no alembic.ini: `central_api.db.alembic_config(url)` builds the config
in code. On PostgreSQL a session-level advisory lock serializes migrators, so
several API processes may start (and migrate) at once.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import text

from central_api.db import make_engine
from central_api.models import Base

MIGRATION_LOCK_KEY = 0x6D69677261  # "migra"

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migrations")
    return str(url)


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as connection:
            postgres = connection.dialect.name == "postgresql"
            if postgres:
                connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK_KEY})
                connection.commit()
            try:
                _run(connection)
            finally:
                if postgres:
                    connection.execute(
                        text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK_KEY}
                    )
                    connection.commit()
    finally:
        engine.dispose()


def _run(connection: object) -> None:
    context.configure(
        connection=connection,  # type: ignore[arg-type]
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    if hasattr(connection, "commit"):
        connection.commit()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
