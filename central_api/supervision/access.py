"""Who may observe whom, and the small shared reads of supervision (settings, sign-in).

Observers are supervisors and admins (every assistant of their practices) and
trainers (the assistants of the training practice: trainees). Assistants observe
no one: their role is refused with 403 by the route's dependency. An observer
asking about a user outside their practices, or about someone who is not an
assistant, gets the same audited 404 as any record they may not see.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central_api import models
from central_api.access import Scope, deny
from central_api.core.config import Settings
from followup_core.enums import AgentState, Role
from followup_core.supervision import DEFAULT_THRESHOLDS, SupervisionSettings

OBSERVER_ROLES = (Role.SUPERVISOR, Role.ADMIN, Role.TRAINER)


def practices_of(session: Session, user_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each user's practice ids, sorted (users with none are absent)."""
    out: dict[str, list[str]] = {}
    wanted = sorted(set(user_ids))
    if not wanted:
        return out
    rows = session.execute(
        select(models.UserPractice.user_id, models.UserPractice.practice_id)
        .where(models.UserPractice.user_id.in_(wanted))
        .order_by(models.UserPractice.user_id, models.UserPractice.practice_id)
    ).all()
    for uid, pid in rows:
        out.setdefault(uid, []).append(pid)
    return out


def assistants_in(session: Session, practice_ids: Iterable[str]) -> list[models.User]:
    """Active assistants linked to any of `practice_ids`, by display name."""
    pids = sorted(set(practice_ids))
    if not pids:
        return []
    linked = select(models.UserPractice.user_id).where(models.UserPractice.practice_id.in_(pids))
    return list(
        session.scalars(
            select(models.User)
            .where(
                models.User.id.in_(linked),
                models.User.role == str(Role.ASSISTANT),
                models.User.active.is_(True),
            )
            .order_by(models.User.display_name, models.User.id)
        )
    )


def subject_for(session: Session, scope: Scope, user_id: str, *, client: str) -> models.User:
    """The assistant `user_id` if the observer's practices include one of theirs; else 404.

    The refusal is audited (`denied-read`, committed) like every look at something
    the caller may not see.
    """
    user = session.get(models.User, user_id) if len(user_id) <= 64 else None
    if user is not None and user.role == str(Role.ASSISTANT):
        theirs = set(practices_of(session, [user.id]).get(user.id, []))
        if theirs & scope.practice_ids:
            return user
    raise deny(session, scope, resource=f"user:{user_id[:64]}", client=client, kind="user")


def settings_for(session: Session, practice_ids: Iterable[str]) -> dict[str, SupervisionSettings]:
    """Each practice's supervision settings; the defaults where a practice has no row."""
    pids = sorted(set(practice_ids))
    out = {pid: SupervisionSettings() for pid in pids}
    if not pids:
        return out
    for row in session.scalars(
        select(models.PracticeSupervision).where(models.PracticeSupervision.practice_id.in_(pids))
    ):
        out[row.practice_id] = settings_from_row(row)
    return out


def store_settings(
    session: Session, practice_id: str, settings: SupervisionSettings, now: datetime
) -> None:
    """Write a practice's supervision settings (caller audits and commits). The one write
    behind both `practice apply` (the file's [supervision]) and the admin's
    `PUT /v1/practices/{id}/supervision`; `practice export` reads the row back."""
    row = session.get(models.PracticeSupervision, practice_id)
    thresholds = {str(k): list(v) for k, v in settings.thresholds.items()}
    if row is None:
        session.add(
            models.PracticeSupervision(
                practice_id=practice_id,
                tell_observed=settings.tell_observed,
                thresholds=thresholds,
                updated_at=now,
            )
        )
    else:
        row.tell_observed = settings.tell_observed
        row.thresholds = thresholds
        row.updated_at = now
    session.flush()


def settings_from_row(row: models.PracticeSupervision) -> SupervisionSettings:
    thresholds = {AgentState(k): list(v) for k, v in DEFAULT_THRESHOLDS.items()}
    thresholds.update({AgentState(k): list(v) for k, v in (row.thresholds or {}).items()})
    return SupervisionSettings.model_validate(
        {"tell_observed": row.tell_observed, "thresholds": thresholds}, strict=False
    )


def is_told(session: Session, practice_ids: Iterable[str]) -> bool:
    """An assistant is told they are observed if any of their practices tells (default)."""
    settings = settings_for(session, practice_ids)
    return not settings or any(s.tell_observed for s in settings.values())


def sign_ins(
    session: Session, user_ids: Iterable[str], settings: Settings, now: datetime
) -> dict[str, tuple[bool, datetime | None]]:
    """Per user: (signed in now, last seen). Signed in = a token neither revoked, past its
    absolute expiry nor idle longer than `token_idle_minutes`; last seen = the latest
    use of any of their tokens (touched at most every few seconds, see `security`)."""
    wanted = sorted(set(user_ids))
    out: dict[str, tuple[bool, datetime | None]] = {uid: (False, None) for uid in wanted}
    if not wanted:
        return out
    token = models.Token
    idle_cutoff = now - timedelta(minutes=settings.token_idle_minutes)
    last_seen = dict(
        session.execute(
            select(token.user_id, func.max(token.last_used_at))
            .where(token.user_id.in_(wanted))
            .group_by(token.user_id)
        ).all()
    )
    live = set(
        session.scalars(
            select(token.user_id)
            .where(
                token.user_id.in_(wanted),
                token.revoked_at.is_(None),
                token.expires_at > now,
                token.last_used_at > idle_cutoff,
            )
            .distinct()
        )
    )
    for uid in wanted:
        seen = last_seen.get(uid)
        if seen is not None and seen.tzinfo is None:
            seen = seen.replace(tzinfo=now.tzinfo)
        out[uid] = (uid in live, seen)
    return out
