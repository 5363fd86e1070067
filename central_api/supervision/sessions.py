"""Shadow sessions and the snapshot an observer reads.

A shadow session is a row of `shadow_sessions` (open while `ended_at` is NULL),
so every API process sees who observes whom (the board, the assistant's
"observed by"); starting and stopping are audited by the routes. One observer
has at most one open session per subject: starting again returns the open one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_api import models
from central_api.core.config import Settings
from central_api.supervision.access import is_told, practices_of, sign_ins
from central_api.supervision.mirror import MirrorRecord, MirrorStore
from followup_core.enums import AgentState
from followup_core.supervision import (
    MirrorState,
    Observer,
    SessionSnapshot,
    SessionStatus,
    ShadowSession,
)


def observers_of(session: Session, subject_ids: Iterable[str]) -> dict[str, list[Observer]]:
    """Who shadows each subject now (open sessions), by display name."""
    wanted = sorted(set(subject_ids))
    out: dict[str, list[Observer]] = {uid: [] for uid in wanted}
    if not wanted:
        return out
    shadow = models.ShadowSessionRow
    rows = session.execute(
        select(shadow.subject_id, models.User.id, models.User.display_name)
        .join(models.User, models.User.id == shadow.observer_id)
        .where(shadow.subject_id.in_(wanted), shadow.ended_at.is_(None))
        .order_by(shadow.subject_id, models.User.display_name, models.User.id)
    ).all()
    for subject_id, uid, name in rows:
        if all(o.user_id != uid for o in out[subject_id]):
            out[subject_id].append(Observer(user_id=uid, display_name=name))
    return out


def open_session(
    session: Session, observer_id: str, subject_id: str
) -> models.ShadowSessionRow | None:
    shadow = models.ShadowSessionRow
    return session.scalars(
        select(shadow)
        .where(
            shadow.observer_id == observer_id,
            shadow.subject_id == subject_id,
            shadow.ended_at.is_(None),
        )
        .order_by(shadow.started_at)
        .limit(1)
    ).first()


def start(
    session: Session, observer_id: str, subject_id: str, now: datetime
) -> tuple[models.ShadowSessionRow, bool]:
    """The observer's open session on the subject, opened now if none (second value: new)."""
    row = open_session(session, observer_id, subject_id)
    if row is not None:
        return row, False
    row = models.ShadowSessionRow(
        observer_id=observer_id, subject_id=subject_id, started_at=now, ended_at=None
    )
    session.add(row)
    session.flush()
    return row, True


def stop(session: Session, observer_id: str, subject_id: str, now: datetime) -> list[str]:
    """End every open session of the observer on the subject; the ids ended."""
    shadow = models.ShadowSessionRow
    rows = session.scalars(
        select(shadow).where(
            shadow.observer_id == observer_id,
            shadow.subject_id == subject_id,
            shadow.ended_at.is_(None),
        )
    ).all()
    for row in rows:
        row.ended_at = now
    return [r.id for r in rows]


def shadow_out(
    row: models.ShadowSessionRow, snapshot: SessionSnapshot | None = None
) -> ShadowSession:
    return ShadowSession(
        id=row.id,
        observer_id=row.observer_id,
        subject_id=row.subject_id,
        started_at=row.started_at,
        ended_at=row.ended_at,
        snapshot=snapshot,
    )


def snapshot_for(
    session: Session,
    store: MirrorStore,
    subject: models.User,
    settings: Settings,
    now: datetime,
) -> SessionSnapshot:
    """The observer's view of `subject`'s workspace.

    `offline` (not signed in, or the workspace said it signed out) and `locked`
    answer an empty state: only the agent state survives, never a task field.
    """
    record: MirrorRecord | None = store.get_many([subject.id]).get(subject.id)
    online, _seen = sign_ins(session, [subject.id], settings, now)[subject.id]
    state = record.state if record is not None else MirrorState()
    if not online or state.signed_out:
        status = SessionStatus.OFFLINE
    elif state.locked:
        status = SessionStatus.LOCKED
    else:
        status = SessionStatus.ACTIVE
    if state.agent_state is None:
        presence = session.get(models.Presence, subject.id)
        if presence is not None and online:
            state = state.model_copy(update={"agent_state": AgentState(presence.state)})
    if status is not SessionStatus.ACTIVE:
        state = MirrorState(
            locked=state.locked, signed_out=state.signed_out, agent_state=state.agent_state
        )
    practices = practices_of(session, [subject.id]).get(subject.id, [])
    return SessionSnapshot(
        user_id=subject.id,
        display_name=subject.display_name,
        status=status,
        seq=record.seq if record is not None else 0,
        updated_at=record.updated_at if record is not None else None,
        state=state,
        observers=observers_of(session, [subject.id])[subject.id],
        told=is_told(session, practices),
    )
