"""Supervision's live events (over `GET /v1/events`, see `central_api.events`).

Decision (DESIGN "Supervision", LIVE_CONTRACT): mirror content carries PHI (what
is typed), so it never travels on the event stream. A mirror batch of a shadowed
assistant becomes a `session` event `{"user_id", "seq"}` sent only to the users
shadowing them now; each observer then fetches `GET /v1/sessions/{user_id}`
(authenticated, covered by the audited shadow session). A batch of an assistant
nobody shadows publishes nothing.

Board-relevant changes become `team` events for the practice's supervisors and
admins: agent state (the presence route), a forced state, shadow start/stop
(the observers column), a whisper sent or read (unread count), and a mirror
batch that changed the current task, the lock or the sign-out.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session, sessionmaker

from central_api import models
from central_api.db import begin_read
from central_api.events import CHANNEL, Record, note_team
from central_api.supervision.access import practices_of
from central_api.supervision.mirror import MirrorRecord
from followup_core.enums import AgentState
from followup_core.supervision import MirrorState


def agent_state(session: Session, user_id: str) -> str:
    row = session.get(models.Presence, user_id)
    return row.state if row is not None else str(AgentState.OFFLINE)


def nudge_team(session: Session, user_id: str) -> None:
    """A `team` event for `user_id`'s practices when this transaction commits."""
    practices = practices_of(session, [user_id]).get(user_id, [])
    if practices:
        note_team(session, user_id, practices, agent_state(session, user_id))


OBSERVERS_TTL = 1.0  # seconds a subject's observer list is reused between batches


class ObserverCache:
    """Each subject's observer ids, re-read at most every `OBSERVERS_TTL` seconds.

    Used on SQLite (one process), where every shadow start and stop `forget`s the
    subject after its commit: a mirror batch then costs no database read in the
    common case (nobody watches).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, list[str]]] = {}

    def get(self, subject_id: str) -> list[str] | None:
        with self._lock:
            entry = self._entries.get(subject_id)
        if entry is None or time.monotonic() - entry[0] > OBSERVERS_TTL:
            return None
        return entry[1]

    def put(self, subject_id: str, observers: list[str]) -> None:
        with self._lock:
            self._entries[subject_id] = (time.monotonic(), observers)

    def forget(self, subject_id: str) -> None:
        with self._lock:
            self._entries.pop(subject_id, None)


def observer_cache(app_state: Any) -> ObserverCache:
    cache: ObserverCache | None = getattr(app_state, "observer_cache", None)
    if cache is None:
        with _CACHE_LOCK:
            cache = getattr(app_state, "observer_cache", None)
            if cache is None:
                cache = ObserverCache()
                app_state.observer_cache = cache
    return cache


_CACHE_LOCK = threading.Lock()


def observer_ids(session: Session, subject_id: str) -> list[str]:
    shadow = models.ShadowSessionRow
    return sorted(
        set(
            session.scalars(
                select(shadow.observer_id).where(
                    shadow.subject_id == subject_id, shadow.ended_at.is_(None)
                )
            )
        )
    )


def board_changed(old: MirrorState | None, new: MirrorState) -> bool:
    """Did a batch change what the team board shows of a session?"""
    if old is None:
        return True
    return (old.task_id, old.locked, old.signed_out, old.agent_state) != (
        new.task_id,
        new.locked,
        new.signed_out,
        new.agent_state,
    )


def announce_mirror(
    app_state: Any, user_id: str, old: MirrorState | None, record: MirrorRecord
) -> None:
    """After a mirror batch: `session` to the subject's observers, `team` if the board moved.

    Runs outside the request's transaction (the mirror is not a database write on
    SQLite). SQLite: the record goes to this process's broker. PostgreSQL:
    `pg_notify` in a short transaction, so every API process's observers hear it.
    """
    factory: sessionmaker[Session] = app_state.session_factory
    # SQLite is one process: every shadow start/stop passes here and `forget`s. With
    # several PostgreSQL processes a start on another one would go unseen for the TTL,
    # so there the observers are read with each batch.
    cache = observer_cache(app_state) if app_state.engine.dialect.name == "sqlite" else None
    observers = cache.get(user_id) if cache is not None else None
    changed = board_changed(old, record.state)
    if observers is not None and not observers and not changed:
        return  # nobody watches and the board did not move: nothing to say, no read
    with factory() as session:
        begin_read(session)
        if observers is None:
            observers = observer_ids(session, user_id)
            if cache is not None:
                cache.put(user_id, observers)
        live = Record()
        if observers:
            live.session.append((user_id, record.seq, observers))
        if changed:
            practices = practices_of(session, [user_id]).get(user_id, [])
            if practices:
                live.team.append((user_id, practices, agent_state(session, user_id)))
        if live.empty():
            session.commit()
            return
        if session.get_bind().dialect.name == "postgresql":
            session.execute(
                text("SELECT pg_notify(:channel, :payload)"),
                {"channel": CHANNEL, "payload": live.encode()},
            )
            session.commit()
            return
        session.commit()
    broker = getattr(app_state, "broker", None)
    if broker is not None:
        broker.publish_threadsafe(live)
