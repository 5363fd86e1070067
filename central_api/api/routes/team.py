"""The supervisor's control surface (issue 8): the team and queue boards, reassignment,
forcing an agent state, the paged escalation inbox and the practice's supervision settings.

Roles: supervisors and admins (their practices), trainers (the training practice).
Assistants get 403 on every route here. Ids outside the caller's practices get the
audited 404 of `central_api.access`. Writes are audited: `task.reassign` per task,
`presence.force`, `practice.supervision`; inbox pages `escalation.list`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from sqlalchemy import and_, or_, select

from central_api import models
from central_api.access import audit_access, not_found, scope_for, task_for
from central_api.api.deps import ClientDep, SessionDep, SettingsDep, require_roles
from central_api.api.routes.sessions import ObserverUser, StoreDep
from central_api.assignment import reassign
from central_api.errors import AUTH_ERRORS, ApiError, responses
from central_api.feed import lock_for_write
from central_api.serialize import task_out
from central_api.supervision import board
from central_api.supervision.access import (
    practices_of,
    settings_for,
    store_settings,
    subject_for,
)
from central_api.supervision.live import nudge_team
from central_api.supervision.sessions import snapshot_for
from followup_core.enums import TERMINAL_STATUSES, AgentState, EscalationRoute, Role, TaskStatus
from followup_core.schemas import PresenceOut, TaskOut
from followup_core.supervision import (
    ForcedState,
    InboxItem,
    InboxPage,
    QueueBoard,
    ReassignIn,
    SessionStatus,
    SupervisionSettings,
    TeamBoard,
    age_minutes,
)

router = APIRouter(prefix="/v1", tags=["supervision"], responses=AUTH_ERRORS)

AdminUser = Annotated[models.User, Depends(require_roles(Role.ADMIN))]
PracticeFilter = Annotated[
    str | None, Query(max_length=64, description="only this practice (one of yours)")
]


def _practices(session_scope: frozenset[str], practice_id: str | None) -> frozenset[str]:
    if practice_id is None:
        return session_scope
    if practice_id not in session_scope:
        raise not_found("practice")
    return frozenset({practice_id})


@router.get(
    "/team",
    response_model=TeamBoard,
    operation_id="get_team_board",
    responses=responses(404),
    summary="The team board: one row per assistant of your practices",
)
def get_team(
    user: ObserverUser,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    practice_id: PracticeFilter = None,
) -> TeamBoard:
    scope = scope_for(session, user)
    out = board.team_board(
        session, store, _practices(scope.practice_ids, practice_id), settings, models.utcnow()
    )
    session.commit()
    return out


@router.get(
    "/team/queues",
    response_model=QueueBoard,
    operation_id="get_queue_board",
    responses=responses(404),
    summary="The queue board: per practice and workflow, open, overdue, due today, unassigned",
)
def get_queues(
    user: ObserverUser, session: SessionDep, practice_id: PracticeFilter = None
) -> QueueBoard:
    scope = scope_for(session, user)
    out = board.queue_board(session, _practices(scope.practice_ids, practice_id), models.utcnow())
    session.commit()
    return out


@router.post(
    "/team/reassign",
    response_model=list[TaskOut],
    operation_id="reassign_tasks",
    responses=responses(404, 409),
    summary="Hand one or many tasks to another assistant of the task's practice (all or none)",
)
def reassign_tasks(
    body: ReassignIn, user: ObserverUser, session: SessionDep, client: ClientDep
) -> list[TaskOut]:
    scope = scope_for(session, user)
    lock_for_write(session)  # before the tasks' row locks
    target = session.get(models.User, body.to_user_id)
    target_practices = (
        set(practices_of(session, [target.id]).get(target.id, []))
        if target is not None and target.active and target.role == str(Role.ASSISTANT)
        else set()
    )
    tasks: list[models.Task] = []
    for task_id in dict.fromkeys(body.task_ids):  # once each, in the order given
        task = task_for(session, scope, task_id, client=client, for_update=True)
        if TaskStatus(task.status) in TERMINAL_STATUSES:
            raise ApiError(409, "task-finished", "a finished task cannot be reassigned")
        if task.practice_id not in target_practices:
            raise ApiError(
                422,
                "invalid-request",
                "to_user_id: not an active assistant of the task's practice",
            )
        tasks.append(task)
    for task in tasks:
        if task.owner_id != body.to_user_id:
            reassign(session, task, body.to_user_id)
        audit_access(
            session, scope, action="task.reassign", resource=f"task:{task.id}", client=client
        )
    out = [task_out(t) for t in tasks]
    session.commit()
    return out


@router.put(
    "/team/{user_id}/state",
    response_model=PresenceOut,
    operation_id="force_agent_state",
    responses=responses(404, 409),
    summary="Set an assistant's agent state (refused while they are documenting a call)",
)
def force_state(
    user_id: str,
    body: ForcedState,
    user: ObserverUser,
    session: SessionDep,
    settings: SettingsDep,
    store: StoreDep,
    client: ClientDep,
) -> PresenceOut:
    """409 `documenting-call` while the assistant is on-call or in wrap-up with a task open
    in an unlocked, signed-in workspace (Amazon Connect refuses a state change while the
    agent is on a contact). A stuck wrap-up with no task open, or an assistant who is
    offline or locked, may be moved."""
    scope = scope_for(session, user)
    subject = subject_for(session, scope, user_id, client=client)
    now = models.utcnow()
    row = session.get(models.Presence, subject.id, with_for_update=True)
    if row is not None and row.state in (AgentState.ON_CALL, AgentState.WRAP_UP):
        snap = snapshot_for(session, store, subject, settings, now)
        if snap.status is SessionStatus.ACTIVE and snap.state.task_id is not None:
            raise ApiError(
                409, "documenting-call", "the assistant is documenting a call; try after they save"
            )
    if row is None:
        row = models.Presence(user_id=subject.id, state=str(body.state), since=now)
        session.add(row)
    elif row.state != body.state:
        row.state = str(body.state)
        row.since = now
    audit_access(
        session, scope, action="presence.force", resource=f"user:{subject.id}", client=client
    )
    session.flush()
    nudge_team(session, subject.id)
    out = PresenceOut(user_id=row.user_id, state=AgentState(row.state), since=row.since)
    session.commit()
    return out


# --- the escalation inbox, paged ---------------------------------------------------

_INBOX_CURSOR_KEY = b"assistant-tui/escalation-inbox/v1"


def _encode_cursor(due: datetime, esc_id: str) -> str:
    raw = json.dumps([due.isoformat(), esc_id], separators=(",", ":")).encode()
    mac = hmac.new(_INBOX_CURSOR_KEY, raw, hashlib.sha256).digest()[:8]
    return base64.urlsafe_b64encode(mac + raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, str]:
    bad = ApiError(400, "bad-cursor", "cursor: not a cursor this inbox gave out")
    try:
        blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        mac, raw = blob[:8], blob[8:]
        if not hmac.compare_digest(
            mac, hmac.new(_INBOX_CURSOR_KEY, raw, hashlib.sha256).digest()[:8]
        ):
            raise bad
        due, esc_id = json.loads(raw)
        parsed = datetime.fromisoformat(due)
        if parsed.tzinfo is None or not isinstance(esc_id, str):
            raise bad
        return parsed, esc_id
    except (binascii.Error, ValueError, TypeError) as exc:
        raise bad from exc


@router.get(
    "/team/escalations",
    response_model=InboxPage,
    operation_id="escalation_inbox",
    responses=responses(404),
    summary="The escalation inbox, paged: oldest acknowledgement due first",
)
def escalation_inbox(
    user: ObserverUser,
    session: SessionDep,
    client: ClientDep,
    status: Annotated[
        Literal["active", "open", "acknowledged", "resolved", "all"],
        Query(
            description="active (open or acknowledged; default), open, acknowledged, resolved, all"
        ),
    ] = "active",
    route: Annotated[EscalationRoute | None, Query(description="only this route")] = None,
    min_age_minutes: Annotated[
        int | None, Query(ge=0, le=525_600, description="raised at least this many minutes ago")
    ] = None,
    overdue: Annotated[
        bool, Query(description="only open escalations past their acknowledgement target")
    ] = False,
    practice_id: PracticeFilter = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> InboxPage:
    scope = scope_for(session, user)
    practices = _practices(scope.practice_ids, practice_id)
    now = models.utcnow()
    esc = models.Escalation
    stmt = select(esc).where(esc.practice_id.in_(sorted(practices)))
    if status == "active":
        stmt = stmt.where(esc.status != "resolved")
    elif status != "all":
        stmt = stmt.where(esc.status == status)
    if route is not None:
        stmt = stmt.where(esc.route == str(route))
    if min_age_minutes is not None:
        stmt = stmt.where(esc.raised_at <= now - timedelta(minutes=min_age_minutes))
    if overdue:
        stmt = stmt.where(esc.status == "open", esc.ack_due_at < now)
    if cursor is not None:
        due, last_id = _decode_cursor(cursor)
        stmt = stmt.where(or_(esc.ack_due_at > due, and_(esc.ack_due_at == due, esc.id > last_id)))
    rows = list(session.scalars(stmt.order_by(esc.ack_due_at, esc.id).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [
        InboxItem.model_validate(
            {
                "id": e.id,
                "practice_id": e.practice_id,
                "task_id": e.task_id,
                "route": e.route,
                "status": e.status,
                "raised_by": e.raised_by,
                "raised_at": e.raised_at,
                "ack_due_at": e.ack_due_at,
                "acknowledged_at": e.acknowledged_at,
                "age_minutes": age_minutes(e.raised_at, now),
                "overdue": e.status == "open" and e.ack_due_at < now,
            },
            strict=False,
        )
        for e in rows
    ]
    audit_access(
        session, scope, action="escalation.list", resource=f"escalations:{status}", client=client
    )
    session.commit()
    next_cursor = _encode_cursor(rows[-1].ack_due_at, rows[-1].id) if more and rows else None
    return InboxPage(as_of=now, items=items, next_cursor=next_cursor)


# --- practice supervision settings -----------------------------------------------


@router.get(
    "/practices/{practice_id}/supervision",
    response_model=SupervisionSettings,
    operation_id="get_supervision_settings",
    responses=responses(404),
    summary="A practice's supervision settings (told when observed; colour thresholds)",
)
def get_settings(practice_id: str, user: ObserverUser, session: SessionDep) -> SupervisionSettings:
    scope = scope_for(session, user)
    if practice_id not in scope.practice_ids:
        raise not_found("practice")
    out = settings_for(session, [practice_id])[practice_id]
    session.commit()
    return out


@router.put(
    "/practices/{practice_id}/supervision",
    response_model=SupervisionSettings,
    operation_id="put_supervision_settings",
    responses=responses(404),
    summary="Replace a practice's supervision settings (admins; audited; the file's [supervision])",
)
def put_settings(
    practice_id: str,
    body: SupervisionSettings,
    user: AdminUser,
    session: SessionDep,
    client: ClientDep,
) -> SupervisionSettings:
    scope = scope_for(session, user)
    if practice_id not in scope.practice_ids:
        raise not_found("practice")
    store_settings(session, practice_id, body, models.utcnow())
    audit_access(
        session,
        scope,
        action="practice.supervision",
        resource=f"practice:{practice_id}",
        client=client,
    )
    out = settings_for(session, [practice_id])[practice_id]
    session.commit()
    return out
