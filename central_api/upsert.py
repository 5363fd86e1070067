"""One create-or-update for every table: `INSERT … ON CONFLICT … DO UPDATE` on both databases.

A read-then-insert ("is there a row? no: add one") races: two requests both see
no row and the second insert fails on the primary key (a 500 on PostgreSQL; on
SQLite, BEGIN IMMEDIATE happens to serialize them). Every create-or-update in the
API goes through `upsert`, which the database performs atomically, so concurrent
first writes for one key all succeed and leave one row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Result
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def upsert(
    session: Session,
    model: type[Any],
    values: Mapping[str, Any],
    *,
    conflict: Sequence[str],
    update: Mapping[str, Any] | None = None,
    returning: Sequence[Any] = (),
) -> Result[Any]:
    """Insert `values` into `model`'s table, or on a conflict on `conflict` apply `update`.

    `update` maps column names to values or SQL expressions; in them
    `excluded(model, name)` is the value that was being inserted. With no
    `update`, a conflicting row is left as it is (`DO NOTHING`). `returning`
    columns come back from the row as it is after the statement (not for DO NOTHING
    on a conflict: no row is returned then). Runs in the caller's transaction.
    Raises ValueError for a database other than SQLite or PostgreSQL.
    """
    dialect = session.get_bind().dialect.name
    insert_fn: Any
    if dialect == "postgresql":
        insert_fn = postgresql.insert
    elif dialect == "sqlite":
        insert_fn = sqlite.insert
    else:
        raise ValueError(f"upsert is not implemented for {dialect}")
    stmt = insert_fn(model).values(dict(values))
    if update:
        stmt = stmt.on_conflict_do_update(index_elements=list(conflict), set_=dict(update))
    else:
        stmt = stmt.on_conflict_do_nothing(index_elements=list(conflict))
    if returning:
        stmt = stmt.returning(*returning)
    return session.execute(stmt)


def excluded(model: type[Any], name: str) -> Any:
    """The value the conflicting INSERT proposed for column `name` (SQL's `excluded.name`).

    Built as a plain column reference, so it works for either dialect's statement.
    """
    from sqlalchemy import literal_column

    column = model.__table__.c[name]
    return literal_column(f"excluded.{column.name}", type_=column.type)
