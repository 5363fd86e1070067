"""Counting failures per source address and per name, shared by every API process.

A `Limit` allows `max_hits` failures per `window`; the failure that reaches the
limit starts a hold of one `window`, during which `held` answers how long to wait
(the caller answers 429 with `Retry-After`). Counters live in the database
(`throttles`, one row per hashed key) and are bumped with one atomic upsert, so
concurrent failures are all counted, across processes too. Keys are SHA-256
hashes: no address or name is stored in the clear.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, select
from sqlalchemy.orm import Session

from central_api.models import Throttle
from central_api.upsert import excluded, upsert


@dataclass(frozen=True)
class Limit:
    """`max_hits` failures per `window` for each subject of `name` (e.g. "login-source")."""

    name: str
    max_hits: int
    window: timedelta


def _key(limit: Limit, subject: str) -> str:
    return hashlib.sha256(f"{limit.name}\n{subject}".encode("utf-8", "surrogatepass")).hexdigest()


def held(session: Session, limit: Limit, subject: str, now: datetime) -> int | None:
    """Seconds until `subject` may try again, or None if it is not held (runs in the
    caller's transaction; a pure read)."""
    row = session.execute(
        select(Throttle.hits, Throttle.window_started_at).where(
            Throttle.key == _key(limit, subject)
        )
    ).first()
    if row is None:
        return None
    hits, started = row
    ends = started + limit.window
    if hits < limit.max_hits or ends <= now:
        return None
    return max(1, math.ceil((ends - now).total_seconds()))


def hit(session: Session, limit: Limit, subject: str, now: datetime) -> int:
    """Count one failure of `subject` (in the caller's transaction); returns the count in
    the current window. The window restarts when it has ended, and also at the failure
    that reaches the limit, so the hold lasts one full window from that failure."""
    table = Throttle
    expired = table.window_started_at <= now - limit.window
    reaches = table.hits + 1 >= limit.max_hits
    result = upsert(
        session,
        Throttle,
        {"key": _key(limit, subject), "window_started_at": now, "hits": 1},
        conflict=["key"],
        update={
            "hits": case((expired, 1), else_=table.hits + 1),
            "window_started_at": case(
                (expired, excluded(Throttle, "window_started_at")),
                (reaches, excluded(Throttle, "window_started_at")),
                else_=table.window_started_at,
            ),
        },
        returning=[Throttle.hits],
    )
    return int(result.scalar_one())
