"""Who may observe whom, the one way supervision routes load what they act on, and
the small shared reads of supervision (settings, sign-in).

Observers are supervisors and admins (every assistant of their practices) and
trainers (the assistants of the training practice: trainees). Assistants observe
no one: their role is refused with 403 by the route's dependency. An observer
asking about a user outside their practices, or about someone who is not an
assistant, gets the same audited 404 as any record they may not see.

`InScope` is the "load it in the caller's scope, or the audited 404" step every
supervision and escalation-inbox route shares (an assistant, an escalation, a
whisper addressed to the caller, a practice); `scoped_write` wraps it in the
`UnitOfWork` (feed lock, rows, audit last, commit, events after the commit).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from central_api import models
from central_api.access import Scope, audit_access, deny, escalation_for, scope_for
from central_api.core.config import Settings
from central_api.errors import ApiError
from central_api.uow import UnitOfWork
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


class InScope:
    """One request's caller, their scope, and loaders that answer a record or raise.

    Each loader answers the record when the caller may act on it, and otherwise
    raises the audited 404 of `central_api.access.deny` (a `denied-read` row,
    committed, the same answer for "missing" and "not yours"). `audit` appends a
    row (ids only) as the transaction's last. Used directly by reads (which commit
    themselves) and through `scoped_write` by writes.
    """

    def __init__(self, session: Session, user: models.User, *, client: str) -> None:
        self.session = session
        self.user = user
        self.client = client
        self.scope = scope_for(session, user)

    def subject(self, user_id: str) -> models.User:
        """The assistant `user_id`, if one of their practices is the caller's (see
        `subject_for`); raises the audited 404 otherwise."""
        return subject_for(self.session, self.scope, user_id, client=self.client)

    def escalation(self, escalation_id: str, *, for_update: bool = False) -> models.Escalation:
        """The escalation, if the caller may see it (`central_api.access.escalation_for`)."""
        return escalation_for(
            self.session, self.scope, escalation_id, client=self.client, for_update=for_update
        )

    def whisper_to_me(self, whisper_id: str, *, for_update: bool = False) -> models.Whisper:
        """A whisper addressed to the caller; anyone else's (or none) is the audited 404."""
        row = None
        if len(whisper_id) <= 64:
            stmt = select(models.Whisper).where(models.Whisper.id == whisper_id)
            if for_update:
                stmt = stmt.with_for_update()
            row = self.session.scalars(stmt).one_or_none()
        if row is None or row.to_user_id != self.user.id:
            raise self.refuse("whisper", whisper_id)
        return row

    def practices(self, practice_id: str | None) -> frozenset[str]:
        """The caller's practices, or just `practice_id` if it is one of them (else the
        audited 404); None means all of theirs."""
        if practice_id is None:
            return self.scope.practice_ids
        if practice_id not in self.scope.practice_ids:
            raise self.refuse("practice", practice_id)
        return frozenset({practice_id})

    def refuse(self, kind: str, record_id: str) -> ApiError:
        """Audit a refused look at `kind:record_id` (committed now) and return the 404."""
        return deny(
            self.session,
            self.scope,
            resource=f"{kind}:{record_id[:64]}",
            client=self.client,
            kind=kind,
        )

    def audit(self, action: str, resource: str) -> None:
        """One audit row by the caller (ids only), the transaction's last row."""
        audit_access(self.session, self.scope, action=action, resource=resource, client=self.client)


@contextmanager
def scoped_write(
    session: Session, user: models.User, *, client: str, feed: bool = False
) -> Iterator[InScope]:
    """One supervision write: a `UnitOfWork` (feed lock first when `feed`; commit on a
    clean exit, rollback and re-raise on an exception; live events after the commit)
    around an `InScope` for the caller."""
    with UnitOfWork(session, actor_id=user.id, client=client, feed=feed):
        yield InScope(session, user, client=client)


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
