"""The session mirror, shadowing and whispers (issue 8; DESIGN "Supervision").

- `POST /v1/sessions/me/events`: a workspace publishes its mirror events in batches.
- `GET /v1/sessions/{user_id}`: an observer reads an assistant's latest snapshot.
- `POST|DELETE /v1/sessions/{user_id}/shadow`: start / stop shadowing (audited).
- `GET /v1/sessions/me/observers`: who shadows me (empty unless my practice tells).
- `POST /v1/whispers`, `GET /v1/whispers`, `POST /v1/whispers/{id}/acknowledge`.

Every write goes through `supervision.access.scoped_write` (the `UnitOfWork`:
rows, audit rows last, commit, live events after the commit); every id is loaded
through its `InScope` (the caller's scope, or the audited 404).

Audit: shadow start and stop, every whisper sent and acknowledged, and a
snapshot read outside an open shadow session (`session.read`; reads inside one
are covered by its start row, so an observer following live does not write an
audit row per refresh). Whisper text never enters the audit log, notes,
attempts, escalations or the feed: it lives only in `whispers`.
"""

from __future__ import annotations

import threading
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from central_api import models
from central_api.api.deps import (
    ClientDep,
    CurrentUser,
    SessionDep,
    SettingsDep,
    Worker,
    require_roles,
)
from central_api.errors import AUTH_ERRORS, ApiError, responses
from central_api.events import note_observed, note_whisper
from central_api.supervision import sessions as shadowing
from central_api.supervision.access import (
    OBSERVER_ROLES,
    InScope,
    is_told,
    practices_of,
    scoped_write,
)
from central_api.supervision.live import announce_mirror, nudge_team, observer_cache
from central_api.supervision.mirror import FloodGuard, MirrorStore, make_store
from central_api.training.relay import RunTasks, relay
from followup_core.supervision import (
    MirrorAccepted,
    MirrorBatch,
    ObservedBy,
    SessionSnapshot,
    ShadowSession,
    WhisperIn,
    WhisperOut,
    WhisperStatus,
)

router = APIRouter(prefix="/v1", tags=["supervision"], responses=AUTH_ERRORS)

ObserverUser = Annotated[models.User, Depends(require_roles(*OBSERVER_ROLES))]

_state_lock = threading.Lock()


def get_mirror_store(request: Request) -> MirrorStore:
    """The app's mirror store, made on first use (memory on SQLite, the table on PostgreSQL)."""
    state = request.app.state
    store: MirrorStore | None = getattr(state, "mirror_store", None)
    if store is None:
        with _state_lock:
            store = getattr(state, "mirror_store", None)
            if store is None:
                store = make_store(state.engine, state.session_factory)
                state.mirror_store = store
    return store


def get_flood_guard(request: Request) -> FloodGuard:
    state = request.app.state
    guard: FloodGuard | None = getattr(state, "mirror_flood_guard", None)
    if guard is None:
        with _state_lock:
            guard = getattr(state, "mirror_flood_guard", None)
            if guard is None:
                settings = state.settings
                guard = FloodGuard(settings.mirror_batches_per_second, settings.mirror_burst)
                state.mirror_flood_guard = guard
    return guard


def get_run_tasks(request: Request) -> RunTasks:
    state = request.app.state
    known: RunTasks | None = getattr(state, "training_run_tasks", None)
    if known is None:
        with _state_lock:
            known = getattr(state, "training_run_tasks", None)
            if known is None:
                known = RunTasks()
                state.training_run_tasks = known
    return known


StoreDep = Annotated[MirrorStore, Depends(get_mirror_store)]
FloodDep = Annotated[FloodGuard, Depends(get_flood_guard)]
RunTasksDep = Annotated[RunTasks, Depends(get_run_tasks)]


# --- the mirror -------------------------------------------------------------------


@router.post(
    "/sessions/me/events",
    response_model=MirrorAccepted,
    operation_id="post_session_events",
    responses=responses(429),
    summary="Publish a batch of the caller's workspace mirror events (best effort, not facts)",
)
def post_session_events(
    body: MirrorBatch,
    user: Worker,
    store: StoreDep,
    guard: FloodDep,
    runs: RunTasksDep,
    session: SessionDep,
    request: Request,
) -> MirrorAccepted:
    """One batch of mirror events, merged into the caller's snapshot (all or nothing).

    Flood guard: a token bucket per user and API process, checked before the batch
    is merged (O(1) under one lock), so a flooding client costs no more than its own
    sign-in check and never refuses anyone else's batches (each user has their own
    bucket). Limits:
    `ASSISTANT_API_MIRROR_BATCHES_PER_SECOND` batches a second on average (default
    10) with bursts of `ASSISTANT_API_MIRROR_BURST` (default 30); a workspace sends at
    most 4 a second. Over the limit: 429 `too-many-events` with Retry-After
    (seconds), and nothing of that batch is applied. With N API processes a client
    spreading its flood over all of them gets at most N times the rate.
    """
    session.close()  # nothing more to read: do not hold a connection while merging
    wait = guard.take(user.id)
    if wait:
        raise ApiError(
            429,
            "too-many-events",
            "mirror events are arriving too fast; batch them and retry later",
            {"Retry-After": str(wait)},
        )
    old, record = store.publish(user.id, list(body.events))
    announce_mirror(request.app.state, user.id, old, record)
    # A training run's task: its scoring events are recorded into the run (issue 9).
    relay(session, runs, user, old, body.events)
    return MirrorAccepted(seq=record.seq)


@router.get(
    "/sessions/me/observers",
    response_model=ObservedBy,
    operation_id="get_my_observers",
    summary="Who shadows the caller now (empty when the caller's practice does not tell)",
)
def my_observers(user: CurrentUser, session: SessionDep) -> ObservedBy:
    told = is_told(session, practices_of(session, [user.id]).get(user.id, []))
    observers = shadowing.observers_of(session, [user.id])[user.id] if told else []
    session.commit()
    return ObservedBy(told=told, observers=observers)


@router.get(
    "/sessions/{user_id}",
    response_model=SessionSnapshot,
    operation_id="get_session_snapshot",
    responses=responses(404),
    summary="An assistant's latest workspace snapshot (offline or locked: no task fields)",
)
def get_snapshot(
    user_id: str,
    user: ObserverUser,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    client: ClientDep,
) -> SessionSnapshot:
    caller = InScope(session, user, client=client)
    subject = caller.subject(user_id)
    now = models.utcnow()
    snapshot = shadowing.snapshot_for(session, store, subject, settings, now)
    if shadowing.open_session(session, user.id, subject.id) is None:
        caller.audit("session.read", f"user:{subject.id}")
    session.commit()
    return snapshot


@router.post(
    "/sessions/{user_id}/shadow",
    response_model=ShadowSession,
    status_code=201,
    operation_id="start_shadow",
    responses=responses(404),
    summary="Start shadowing an assistant (audited); answers the snapshot to render first",
)
def start_shadow(
    request: Request,
    user_id: str,
    user: ObserverUser,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    client: ClientDep,
) -> ShadowSession:
    with scoped_write(session, user, client=client) as caller:
        subject = caller.subject(user_id)
        now = models.utcnow()
        row, new = shadowing.start(session, user.id, subject.id, now)
        if new:
            caller.audit("shadow.start", f"shadow:{row.id}")
            nudge_team(session, subject.id)
            note_observed(session, subject.id)  # they re-read who observes them
        snapshot = shadowing.snapshot_for(session, store, subject, settings, now)
        out = shadowing.shadow_out(row, snapshot)
    if new:  # after the commit, so the next batch's re-read sees this observer
        observer_cache(request.app.state).forget(subject.id)
    return out


@router.delete(
    "/sessions/{user_id}/shadow",
    status_code=204,
    response_class=Response,
    operation_id="stop_shadow",
    responses=responses(404),
    summary="Stop shadowing an assistant (audited; stopping twice changes nothing)",
)
def stop_shadow(
    request: Request, user_id: str, user: ObserverUser, session: SessionDep, client: ClientDep
) -> Response:
    with scoped_write(session, user, client=client) as caller:
        subject = caller.subject(user_id)
        ended_ids = shadowing.stop(session, user.id, subject.id, models.utcnow())
        for ended in ended_ids:
            caller.audit("shadow.stop", f"shadow:{ended}")
        if ended_ids:
            nudge_team(session, subject.id)
            note_observed(session, subject.id)
    if ended_ids:
        observer_cache(request.app.state).forget(subject.id)
    return Response(status_code=204)


# --- whispers ----------------------------------------------------------------------


def _whisper_out(row: models.Whisper, from_name: str) -> WhisperOut:
    return WhisperOut(
        id=row.id,
        from_user_id=row.from_user_id,
        from_display_name=from_name,
        to_user_id=row.to_user_id,
        text=row.text,
        step=row.step,
        status=WhisperStatus.READ if row.acknowledged_at else WhisperStatus.UNREAD,
        created_at=row.created_at,
        acknowledged_at=row.acknowledged_at,
    )


def _names(session: Session, user_ids: set[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    return dict(
        session.execute(
            select(models.User.id, models.User.display_name).where(
                models.User.id.in_(sorted(user_ids))
            )
        ).all()
    )


@router.post(
    "/whispers",
    response_model=WhisperOut,
    status_code=201,
    operation_id="post_whisper",
    responses=responses(404),
    summary="Whisper a private line to an assistant of your practices (never patient-facing)",
)
def post_whisper(
    body: WhisperIn, user: ObserverUser, session: SessionDep, client: ClientDep
) -> WhisperOut:
    with scoped_write(session, user, client=client) as caller:
        subject = caller.subject(body.to_user_id)
        row = models.Whisper(
            from_user_id=user.id,
            to_user_id=subject.id,
            text=body.text,
            step=body.step,
            created_at=models.utcnow(),
        )
        session.add(row)
        session.flush()
        caller.audit("whisper.send", f"whisper:{row.id}")
        note_whisper(session, row.id, [subject.id])  # delivered as a `whisper` event
        nudge_team(session, subject.id)
        out = _whisper_out(row, user.display_name)
    return out


@router.get(
    "/whispers",
    response_model=list[WhisperOut],
    operation_id="list_whispers",
    summary="Whispers to the caller (or, with sent=true, from the caller), newest last",
)
def list_whispers(
    user: CurrentUser,
    session: SessionDep,
    status: Annotated[
        Literal["unread", "read", "all"], Query(description="unread (default), read or all")
    ] = "unread",
    sent: Annotated[bool, Query(description="whispers the caller sent instead")] = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[WhisperOut]:
    whisper = models.Whisper
    mine = whisper.from_user_id == user.id if sent else whisper.to_user_id == user.id
    stmt = select(whisper).where(mine)
    if status == "unread":
        stmt = stmt.where(whisper.acknowledged_at.is_(None))
    elif status == "read":
        stmt = stmt.where(whisper.acknowledged_at.is_not(None))
    rows = list(session.scalars(stmt.order_by(whisper.created_at.desc(), whisper.id).limit(limit)))
    rows.reverse()
    names = _names(session, {r.from_user_id for r in rows})
    out = [_whisper_out(r, names.get(r.from_user_id, "")) for r in rows]
    session.commit()
    return out


@router.post(
    "/whispers/{whisper_id}/acknowledge",
    response_model=WhisperOut,
    operation_id="acknowledge_whisper",
    responses=responses(404),
    summary="The recipient marks a whisper read (repeating it changes nothing)",
)
def acknowledge_whisper(
    whisper_id: str, user: CurrentUser, session: SessionDep, client: ClientDep
) -> WhisperOut:
    with scoped_write(session, user, client=client) as caller:
        row = caller.whisper_to_me(whisper_id, for_update=True)
        if row.acknowledged_at is None:
            row.acknowledged_at = models.utcnow()
            caller.audit("whisper.acknowledge", f"whisper:{row.id}")
            note_whisper(session, row.id, [row.from_user_id])  # the sender sees it read
            nudge_team(session, user.id)
        out = _whisper_out(row, _names(session, {row.from_user_id}).get(row.from_user_id, ""))
    return out
