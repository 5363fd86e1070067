"""`GET /v1/events`: the live event stream (Server-Sent Events, sse-starlette).

Small nudges without PHI (LIVE_CONTRACT.md): `feed`, `assignment`, `team`,
`escalation`, `resync`, each with an id a client echoes as `Last-Event-ID` when
it reconnects. Checked before the stream opens: the bearer token (401) and the
per-user stream limit (429 with `Retry-After`). While it is open, every heartbeat
(`events_heartbeat_seconds`, a `: ping` comment) and every logout of the user
re-checks the token without counting as use; a dead token, a deactivated
account or a changed role ends the stream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session, sessionmaker
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.background import BackgroundTask

from central_api.access import practice_ids_for
from central_api.api.deps import BearerToken, CurrentUser, SessionDep, SettingsDep
from central_api.core.config import Settings
from central_api.core.security import session_user
from central_api.db import begin_read
from central_api.errors import ApiError, responses
from central_api.events import Broker, Subscription, TooManyStreams, Viewer
from central_api.models import User

router = APIRouter(prefix="/v1", tags=["events"])

# Seconds a client should wait before opening another stream after a 429.
RETRY_AFTER_SECONDS = 5
# A send blocked this long (the client stopped reading entirely) ends the stream.
SEND_TIMEOUT_SECONDS = 60.0

_STREAM_DOC = """\
A `text/event-stream`. Each event has `id:` (opaque; send it back as `Last-Event-ID`
when reconnecting), `event:` one of `feed`, `assignment`, `team`, `escalation`,
`whisper`, `training`, `resync`, and `data:` one JSON object of ids and codes only:

- `feed` `{"task_ids": [...]}`: your feed moved, pull `/v1/sync` now;
- `assignment` `{"task_ids": [...]}`: tasks newly assigned to you;
- `team` `{"user_id", "practice_id", "state"}`: an assistant's agent state changed
  (supervisors, admins, managers);
- `escalation` `{"escalation_id", "practice_id", "route", "status"}`: the practice's
  escalation inbox changed (supervisors, admins, trainers, managers);
- `training` `{"run_id"}`: a training run you take part in has a new live patient
  line or was scored (its trainee and trainer); read it over `/v1/training/runs`;
- `resync` `{}`: events were missed; pull the feed and re-read everything.

A `: ping` comment is sent every 15 s.
"""


def _viewer(session: Session, user: User) -> Viewer:
    begin_read(session)
    try:
        return Viewer(user_id=user.id, role=user.role, practice_ids=practice_ids_for(session, user))
    finally:
        session.commit()


def _still_valid(
    factory: sessionmaker[Session], token: str, settings: Settings, viewer: Viewer
) -> bool:
    with factory() as session:
        user = session_user(session, token, settings)
    return user is not None and user.id == viewer.user_id and user.role == viewer.role


async def _stream(
    request: Request, broker: Broker, sub: Subscription, token: str, settings: Settings
) -> AsyncIterator[bytes]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    every = settings.events_heartbeat_seconds
    next_check = time.monotonic() + every
    try:
        while not sub.closed:
            batch = await sub.next(every)
            if sub.recheck or time.monotonic() >= next_check:
                sub.recheck = False
                next_check = time.monotonic() + every
                if not await run_in_threadpool(_still_valid, factory, token, settings, sub.viewer):
                    return
            if batch:
                # One write for everything pending; each event's bytes are encoded
                # once per process, whichever streams send them.
                yield b"".join(event.wire for event in batch)
    except asyncio.CancelledError:
        raise
    finally:
        broker.unsubscribe(sub)


@router.get(
    "/events",
    operation_id="events",
    summary="The live event stream (Server-Sent Events)",
    description=_STREAM_DOC,
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "The event stream (never ends by itself)",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        **responses(401, 429),
    },
)
async def events(
    request: Request,
    user: CurrentUser,
    token: BearerToken,
    session: SessionDep,
    settings: SettingsDep,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            max_length=200,
            description="The id of the last event received, to be replayed from there",
        ),
    ] = None,
) -> EventSourceResponse:
    broker: Broker = request.app.state.broker
    viewer = await run_in_threadpool(_viewer, session, user)
    try:
        sub = broker.subscribe(viewer, last_event_id)
    except TooManyStreams as exc:
        raise ApiError(
            429,
            "too-many-streams",
            f"at most {exc.limit} event streams per user; close one first",
            {"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from None
    return EventSourceResponse(
        _stream(request, broker, sub, token, settings),
        ping=settings.events_heartbeat_seconds,
        ping_message_factory=lambda: ServerSentEvent(comment="ping"),
        send_timeout=SEND_TIMEOUT_SECONDS,
        headers={"Cache-Control": "no-store"},
        # Also frees the stream's slot if the body never started (client gone at once).
        background=BackgroundTask(broker.unsubscribe, sub),
    )
