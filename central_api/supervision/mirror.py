"""Where each workspace's latest mirror lives, and the flood guard in front of it.

The snapshot is best-effort live state (facts travel only through the outbox),
published about once a second per assistant, so it must cost the server little
and never queue behind, or in front of, real work:

- SQLite (one API process by design): the snapshot lives in this process's
  memory (`MemoryMirrorStore`); publishing takes no database write lock at all.
- PostgreSQL (several API processes behind one address): an assistant may
  publish to one process while a supervisor reads through another, so the
  snapshot is a row of `session_mirrors` (`DatabaseMirrorStore`): one short
  transaction per batch (a row lock on that one user's row; no feed lock, no
  audit chain), readable from every process.

Both fold events with `followup_core.supervision.apply_events`, so they agree.
`seq` increases by one per accepted batch; observers are nudged with it and fetch.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from central_api import models
from central_api.db import begin_read
from followup_core.supervision import MirrorEvent, MirrorState, apply_events


@dataclass(frozen=True)
class MirrorRecord:
    """One user's mirror: the merged state, its sequence number and when it last changed (UTC)."""

    state: MirrorState
    seq: int
    updated_at: datetime


class MirrorStore(Protocol):
    def publish(
        self, user_id: str, events: list[MirrorEvent]
    ) -> tuple[MirrorState | None, MirrorRecord]:
        """Fold `events` into `user_id`'s mirror; returns the state before (None: first
        batch) and the new record (seq + 1)."""
        ...

    def get_many(self, user_ids: Iterable[str]) -> dict[str, MirrorRecord]:
        """The mirrors of those users that have one."""
        ...


class MemoryMirrorStore:
    """Mirrors in this process's memory (SQLite: the only process)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, MirrorRecord] = {}

    def publish(
        self, user_id: str, events: list[MirrorEvent]
    ) -> tuple[MirrorState | None, MirrorRecord]:
        with self._lock:
            old = self._records.get(user_id)
            state = apply_events(old.state if old else MirrorState(), events)
            record = MirrorRecord(state, (old.seq if old else 0) + 1, models.utcnow())
            self._records[user_id] = record
            return (old.state if old else None), record

    def get_many(self, user_ids: Iterable[str]) -> dict[str, MirrorRecord]:
        with self._lock:
            return {uid: self._records[uid] for uid in user_ids if uid in self._records}


class DatabaseMirrorStore:
    """Mirrors in `session_mirrors` (PostgreSQL: shared by every API process).

    Uses its own sessions, so a batch commits on its own, outside any request
    transaction; the row lock serialises two batches of one user.
    """

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def publish(
        self, user_id: str, events: list[MirrorEvent]
    ) -> tuple[MirrorState | None, MirrorRecord]:
        now = models.utcnow()
        old: MirrorState | None = None
        with self._factory() as session:
            row = session.scalars(
                select(models.SessionMirror)
                .where(models.SessionMirror.user_id == user_id)
                .with_for_update()
            ).one_or_none()
            if row is None:
                state = apply_events(MirrorState(), events)
                row = models.SessionMirror(
                    user_id=user_id, seq=1, state=state.model_dump(mode="json"), updated_at=now
                )
                session.add(row)
            else:
                old = MirrorState.model_validate(row.state, strict=False)
                state = apply_events(old, events)
                row.seq += 1
                row.state = state.model_dump(mode="json")
                row.updated_at = now
            seq = row.seq
            session.commit()
        return old, MirrorRecord(state, seq, now)

    def get_many(self, user_ids: Iterable[str]) -> dict[str, MirrorRecord]:
        wanted = sorted(set(user_ids))
        if not wanted:
            return {}
        with self._factory() as session:
            begin_read(session)
            rows = session.execute(
                select(
                    models.SessionMirror.user_id,
                    models.SessionMirror.state,
                    models.SessionMirror.seq,
                    models.SessionMirror.updated_at,
                ).where(models.SessionMirror.user_id.in_(wanted))
            ).all()
            session.commit()
        return {
            uid: MirrorRecord(MirrorState.model_validate(state, strict=False), seq, at)
            for uid, state, seq, at in rows
        }


def make_store(engine: Engine, session_factory: sessionmaker[Session]) -> MirrorStore:
    """Memory on SQLite (one process), the shared table on PostgreSQL (several)."""
    if engine.dialect.name == "sqlite":
        return MemoryMirrorStore()
    return DatabaseMirrorStore(session_factory)


class FloodGuard:
    """A token bucket per user: `rate` batches a second on average, bursts up to `burst`.

    `take(user_id)` returns 0 when the batch may go, else the whole seconds to wait
    (the 429's Retry-After). One process's view: with N processes a client that
    spreads its flood over all of them gets N times the rate, which still bounds it.
    The check is O(1) under one lock, so a flooding client is refused before it
    costs more than its own authentication.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # user -> (tokens, at)

    def take(self, user_id: str) -> int:
        now = time.monotonic()
        with self._lock:
            tokens, at = self._buckets.get(user_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[user_id] = (tokens - 1.0, now)
                return 0
            self._buckets[user_id] = (tokens, now)
            return max(1, math.ceil((1.0 - tokens) / self.rate))
