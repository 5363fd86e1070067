"""PostgreSQL fan-out: one dedicated LISTEN connection per API process.

Writers queue `pg_notify(CHANNEL, record)` inside their transaction
(`events.capture`); PostgreSQL delivers it at commit, in commit order, to every
listening connection, so each `assistant-api serve` process on the database
hands the same records, in the same order, to its own subscribers. If the
connection drops, notifications sent meanwhile are lost: after reconnecting, every
open stream gets a `resync`.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from central_api.events.broker import Broker
from central_api.events.capture import CHANNEL
from central_api.events.record import Record

log = logging.getLogger(__name__)

RECONNECT_SECONDS = (0.5, 1.0, 2.0, 5.0)


def libpq_dsn(sqlalchemy_url: str) -> str:
    """The libpq connection string of a `postgresql+psycopg://` SQLAlchemy URL."""
    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


async def listen(
    sqlalchemy_url: str, broker: Broker, *, ready: asyncio.Event | None = None
) -> None:
    """LISTEN on `CHANNEL` and dispatch each record to `broker` until cancelled.

    `ready` is set once the first LISTEN is in place (the app waits for it before
    serving, so a stream opened right after start-up misses nothing).
    """
    dsn = libpq_dsn(sqlalchemy_url)
    failures = 0
    connected_before = False
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(dsn, autocommit=True)
            async with conn:
                await conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                if connected_before:
                    broker.resync_all()
                connected_before = True
                failures = 0
                if ready is not None:
                    ready.set()
                async for note in conn.notifies():
                    try:
                        record = Record.decode(note.payload)
                    except (ValueError, TypeError, KeyError):
                        log.warning("ignoring a malformed live notification")
                        continue
                    broker.dispatch(record)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the database went away: retry, streams resync
            delay = RECONNECT_SECONDS[min(failures, len(RECONNECT_SECONDS) - 1)]
            failures += 1
            log.warning("live listener lost its connection (%s); retrying", type(exc).__name__)
            await asyncio.sleep(delay)
