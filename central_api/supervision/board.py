"""The team board and the queue board (reads only; no PHI: ids, codes and counts).

Definitions (also in the README):
- time in state: now - `presence.since`; a signed-out assistant shows `offline`
  with the time since their last authenticated request.
- level: how many of the practice's thresholds for that state were reached
  (`followup_core.supervision.threshold_level`; VICIdial's colours).
- today: the local day in the time zone of the assistant's first practice
  (queue board: of each practice).
- attempts today: attempts by the assistant that started today; handled today:
  the distinct tasks of those attempts.
- queue size: the assistant's open (non-terminal) tasks; SLA breaches: those past
  `due_at`.
- open escalations: escalations still `open` that they raised or that are on a
  task they own.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, or_, select
from sqlalchemy.orm import Session

from central_api import models
from central_api.core.config import Settings
from central_api.supervision.access import assistants_in, practices_of, settings_for, sign_ins
from central_api.supervision.mirror import MirrorStore
from central_api.supervision.sessions import observers_of
from followup_core.enums import TERMINAL_STATUSES, AgentState, EscalationStatus
from followup_core.supervision import (
    CurrentTask,
    QueueBoard,
    QueueRow,
    SessionStatus,
    SupervisionSettings,
    TeamBoard,
    TeamMember,
    TeamSummary,
    threshold_level,
)

_TERMINAL = [str(s) for s in TERMINAL_STATUSES]


def day_bounds(now: datetime, timezone: str) -> tuple[datetime, datetime]:
    """Start and end (UTC-aware) of `now`'s local day in `timezone`."""
    local = now.astimezone(ZoneInfo(timezone))
    start = local.replace(hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=1, hours=2)).replace(hour=0)  # across DST changes
    return start, end


def _timezones(session: Session, practice_ids: set[str]) -> dict[str, str]:
    if not practice_ids:
        return {}
    return dict(
        session.execute(
            select(models.Practice.id, models.Practice.timezone).where(
                models.Practice.id.in_(sorted(practice_ids))
            )
        ).all()
    )


def team_board(
    session: Session,
    store: MirrorStore,
    practice_ids: frozenset[str],
    settings: Settings,
    now: datetime,
) -> TeamBoard:
    """One row per active assistant of `practice_ids` (sorted by display name)."""
    users = assistants_in(session, practice_ids)
    ids = [u.id for u in users]
    memberships = practices_of(session, ids)
    all_practices = {p for ps in memberships.values() for p in ps} | set(practice_ids)
    zones = _timezones(session, all_practices)
    practice_settings = settings_for(session, practice_ids)
    presence = (
        {
            p.user_id: p
            for p in session.scalars(
                select(models.Presence).where(models.Presence.user_id.in_(ids))
            )
        }
        if ids
        else {}
    )
    signed = sign_ins(session, ids, settings, now)
    mirrors = store.get_many(ids)
    observers = observers_of(session, ids)

    task = models.Task
    queue: dict[str, tuple[int, int]] = {}
    if ids:
        for owner, size, breaches in session.execute(
            select(
                task.owner_id,
                func.count(),
                func.sum(case((task.due_at < now, 1), else_=0)),
            )
            .where(task.owner_id.in_(ids), task.status.not_in(_TERMINAL))
            .group_by(task.owner_id)
        ).all():
            queue[owner] = (int(size), int(breaches or 0))

    starts = {
        uid: day_bounds(now, zones.get(memberships.get(uid, [""])[0], "UTC"))[0] for uid in ids
    }
    attempts: Counter[str] = Counter()
    handled: dict[str, set[str]] = defaultdict(set)
    if ids:
        earliest = min(starts.values())
        attempt = models.Attempt
        for uid, task_id, started in session.execute(
            select(attempt.assistant_id, attempt.task_id, attempt.started_at).where(
                attempt.assistant_id.in_(ids), attempt.started_at >= earliest
            )
        ).all():
            if started >= starts[uid]:
                attempts[uid] += 1
                handled[uid].add(task_id)

    open_escalations: Counter[str] = Counter()
    if ids:
        esc = models.Escalation
        id_set = set(ids)
        for raised_by, owner in session.execute(
            select(esc.raised_by, task.owner_id)
            .join(task, task.id == esc.task_id)
            .where(
                esc.status == str(EscalationStatus.OPEN),
                or_(esc.raised_by.in_(ids), task.owner_id.in_(ids)),
            )
        ).all():
            for who in {raised_by, owner} & id_set:
                if who is not None:
                    open_escalations[who] += 1

    unread: dict[str, int] = {}
    if ids:
        whisper = models.Whisper
        unread = {
            uid: int(n)
            for uid, n in session.execute(
                select(whisper.to_user_id, func.count())
                .where(whisper.to_user_id.in_(ids), whisper.acknowledged_at.is_(None))
                .group_by(whisper.to_user_id)
            ).all()
        }

    current_ids = {
        m.state.task_id
        for uid, m in mirrors.items()
        if m.state.task_id and signed[uid][0] and not m.state.locked and not m.state.signed_out
    }
    current = (
        {t.id: t for t in session.scalars(select(task).where(task.id.in_(sorted(current_ids))))}
        if current_ids
        else {}
    )

    members: list[TeamMember] = []
    summary: Counter[str] = Counter()
    for user in users:
        online, last_seen = signed[user.id]
        mirror = mirrors.get(user.id)
        row = presence.get(user.id)
        since: datetime | None
        if online and row is not None:
            state, since = AgentState(row.state), row.since
        else:
            state, since = AgentState.OFFLINE, last_seen
        seconds = max(0, int((now - since).total_seconds())) if since else 0
        first = (memberships.get(user.id) or [""])[0]
        limits = practice_settings.get(first, SupervisionSettings()).thresholds.get(state, [])
        if not online or (mirror is not None and mirror.state.signed_out):
            status = SessionStatus.OFFLINE
        elif mirror is not None and mirror.state.locked:
            status = SessionStatus.LOCKED
        else:
            status = SessionStatus.ACTIVE
        current_task = None
        if status is SessionStatus.ACTIVE and mirror is not None and mirror.state.task_id:
            t = current.get(mirror.state.task_id)
            if t is not None:
                current_task = CurrentTask.model_validate(
                    {
                        "task_id": t.id,
                        "workflow": t.workflow,
                        "due_at": t.due_at,
                        "overdue": t.due_at < now,
                    },
                    strict=False,
                )
        size, breaches = queue.get(user.id, (0, 0))
        members.append(
            TeamMember(
                user_id=user.id,
                username=user.username,
                display_name=user.display_name,
                practice_ids=memberships.get(user.id, []),
                state=state,
                state_since=since,
                seconds_in_state=seconds,
                level=threshold_level(limits, seconds),
                session=status,
                current_task=current_task,
                attempts_today=attempts[user.id],
                handled_today=len(handled[user.id]),
                queue_size=size,
                sla_breaches=breaches,
                open_escalations=open_escalations[user.id],
                online=online,
                last_seen=last_seen,
                observers=observers[user.id],
                unread_whispers=unread.get(user.id, 0),
            )
        )
        if online:
            summary["signed_in"] += 1
            summary[state.value] += 1
    return TeamBoard(
        as_of=now,
        summary=TeamSummary(
            signed_in=summary["signed_in"],
            on_call=summary[AgentState.ON_CALL.value],
            waiting=summary[AgentState.AVAILABLE.value],
            paused=summary[AgentState.BREAK.value],
            wrap_up=summary[AgentState.WRAP_UP.value],
        ),
        members=members,
        settings=practice_settings,
    )


def queue_board(session: Session, practice_ids: frozenset[str], now: datetime) -> QueueBoard:
    """Per practice and workflow: open, overdue, due today (practice's day), unassigned, oldest due."""
    task = models.Task
    zones = _timezones(session, set(practice_ids))
    rows: list[QueueRow] = []
    for pid in sorted(practice_ids):
        start, end = day_bounds(now, zones.get(pid, "UTC"))
        for workflow, count, overdue, due_today, unassigned, oldest in session.execute(
            select(
                task.workflow,
                func.count(),
                func.sum(case((task.due_at < now, 1), else_=0)),
                func.sum(case(((task.due_at >= start) & (task.due_at < end), 1), else_=0)),
                func.sum(case((task.owner_id.is_(None), 1), else_=0)),
                func.min(task.due_at),
            )
            .where(task.practice_id == pid, task.status.not_in(_TERMINAL))
            .group_by(task.workflow)
            .order_by(task.workflow)
        ).all():
            rows.append(
                QueueRow.model_validate(
                    {
                        "practice_id": pid,
                        "workflow": workflow,
                        "open": int(count),
                        "overdue": int(overdue or 0),
                        "due_today": int(due_today or 0),
                        "unassigned": int(unassigned or 0),
                        "oldest_due_at": oldest,
                    },
                    strict=False,
                )
            )
    return QueueBoard(as_of=now, rows=rows)
