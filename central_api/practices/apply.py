"""`practice diff` and `practice apply`: what a file changes, and changing it.

`plan(session, file)` lists the changes without writing; `apply_file` makes them
in the caller's transaction (the CLI commits once: all or nothing) and audits
each. A script whose text differs from the practice's latest version becomes a
new DRAFT version authored by the person applying (approval is separate, by
someone else: `central_api.practices.approval`). New staff get a one-time set-up
code; nobody's password is ever in the file. Applying a file whose content is
already stored changes nothing and writes nothing.

Staff the file leaves out leave the practice. Their open tasks of the practice
are left unassigned (owner cleared, lease released, the task removed from their
cache through the feed) for a supervisor to reassign: the queue board counts
them as "unassigned" and `POST /v1/team/reassign` hands them on. Someone left in
no practice at all is deactivated: `active` false (sign-in refused), every token
revoked (open event streams end on their next check), any set-up code deleted.
Listing them again reactivates them with their old password (or a new set-up
code if they never chose one). The file is refused whole if it would deactivate
the person applying it or leave the installation without an active admin.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from central_api import audit, feed, models
from central_api.assignment import reassign
from central_api.core.security import token_digest
from central_api.events import note_session_ended
from central_api.practices.setup_codes import UNUSABLE_PASSWORD, issue_setup_code
from central_api.practices.state import (
    comparable_body,
    config_for,
    enabled_workflows,
    latest_scripts,
    members,
)
from central_api.supervision.access import settings_for, store_settings
from followup_core.enums import TERMINAL_STATUSES, ChangeKind, Role, TaskStatus
from followup_core.practice_file import PracticeFile

APPLIERS = frozenset({Role.ADMIN.value, Role.SUPERVISOR.value})
# FHIR Task.businessStatus of a task cancelled because its practice stopped running
# its workflow (Task.status cancelled; see `_cancel_turned_off`).
WORKFLOW_OFF = "workflow-turned-off"


class PracticeApplyError(ValueError):
    """The file cannot be applied as asked (unknown or unauthorised author, …)."""


@dataclass
class Plan:
    """What applying a file would do, one human line per change."""

    practice_id: str
    new_practice: bool
    practice_fields: list[str] = field(default_factory=list)
    supervision: list[str] = field(default_factory=list)  # what of [supervision] changes
    scripts: list[str] = field(default_factory=list)  # workflows whose text changes
    new_staff: list[str] = field(default_factory=list)
    changed_staff: list[str] = field(default_factory=list)
    joining_staff: list[str] = field(default_factory=list)
    leaving_staff: list[str] = field(default_factory=list)
    deactivated_staff: list[str] = field(default_factory=list)  # leaving, and in no practice
    reactivated_staff: list[str] = field(default_factory=list)
    unassigned_tasks: dict[str, int] = field(default_factory=dict)  # leaver -> open tasks here
    # Why the file cannot be applied as it is (the last active admin would go).
    refusals: list[str] = field(default_factory=list)
    # Open tasks of each workflow the file turns off: cancelled on apply.
    cancelled_tasks: dict[str, int] = field(default_factory=dict)
    # Informative: what happens to open work of workflows the file turns off.
    notes: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.new_practice
            or self.practice_fields
            or self.supervision
            or self.scripts
            or self.new_staff
            or self.changed_staff
            or self.joining_staff
            or self.leaving_staff
            or self.reactivated_staff
        )

    def lines(self) -> list[str]:
        out: list[str] = []
        if self.new_practice:
            out.append(f"+ practice {self.practice_id} (new)")
        out += [f"~ practice {name}" for name in self.practice_fields]
        out += [f"~ supervision {name}" for name in self.supervision]
        out += [f"+ script {wid}: new draft version (needs approval)" for wid in self.scripts]
        out += [f"+ staff {name} (new; gets a one-time set-up code)" for name in self.new_staff]
        out += [f"~ staff {name}" for name in self.changed_staff]
        out += [f"+ staff {name} joins the practice" for name in self.joining_staff]
        out += [f"+ staff {name} is reactivated" for name in self.reactivated_staff]
        for name in self.leaving_staff:
            line = f"- staff {name} leaves the practice"
            if name in self.deactivated_staff:
                line += " and is deactivated (sessions ended)"
            if self.unassigned_tasks.get(name):
                line += (
                    f"; {self.unassigned_tasks[name]} open task(s) left unassigned for reassignment"
                )
            out.append(line)
        out += [f"! cannot apply: {why}" for why in self.refusals]
        out += [f"! {note}" for note in self.notes]
        return out or ["no changes"]


@dataclass
class ApplyResult:
    plan: Plan
    setup_codes: dict[str, str] = field(default_factory=dict)  # username -> code, shown once
    webhook_key: str | None = None  # a new practice's missed-call webhook key, shown once
    drafts: dict[str, str] = field(default_factory=dict)  # workflow -> new draft script id


def _identity(pf: PracticeFile) -> dict[str, Any]:
    p = pf.practice
    return {"name": p.name, "timezone": p.timezone, "phone": p.phone, "is_training": p.training}


def plan(session: Session, pf: PracticeFile) -> Plan:
    """The changes `apply_file` would make, computed without writing."""
    pid = pf.practice.id
    practice = session.get(models.Practice, pid)
    out = Plan(practice_id=pid, new_practice=practice is None)
    if practice is not None:
        for key, value in _identity(pf).items():
            if getattr(practice, key) != value:
                out.practice_fields.append(key)
        stored = practice.config or {}
        for key, value in config_for(pf).items():
            if stored.get(key) != value:
                out.practice_fields.append(key)
        turned_off = enabled_workflows(stored) - {w.value for w in pf.workflow_ids()}
        for wid in sorted(turned_off):
            still_open = session.scalar(
                select(func.count())
                .select_from(models.Task)
                .where(
                    models.Task.practice_id == pid,
                    models.Task.workflow == wid,
                    models.Task.status.not_in([str(s) for s in TERMINAL_STATUSES]),
                )
            )
            if still_open:
                out.cancelled_tasks[wid] = int(still_open)
                out.notes.append(
                    f"{wid} is turned off: its {still_open} open task(s) will be cancelled "
                    f"(business status {WORKFLOW_OFF}); turning it on again does not "
                    "reopen them"
                )
    wanted = pf.supervision.settings()
    stored_settings = settings_for(session, [pid])[pid]
    if wanted.tell_observed != stored_settings.tell_observed:
        out.supervision.append(
            "tell_observed: "
            f"{str(stored_settings.tell_observed).lower()} -> {str(wanted.tell_observed).lower()}"
        )
    for state in sorted({*wanted.thresholds, *stored_settings.thresholds}):
        before, after = stored_settings.thresholds.get(state), wanted.thresholds.get(state)
        if before != after:
            out.supervision.append(f"thresholds.{state}: {before} -> {after}")
    latest = latest_scripts(session, pid) if practice is not None else {}
    for script in pf.scripts:
        row = latest.get(script.workflow)
        if row is None or comparable_body(row.body, row.workflow) != script.body():
            out.scripts.append(script.workflow)
    current = {u.username for u in members(session, pid)} if practice is not None else set()
    for person in pf.staff:
        user = session.scalars(
            select(models.User).where(models.User.username == person.username)
        ).first()
        if user is None:
            out.new_staff.append(person.username)
            continue
        if user.role != person.role.value or user.display_name != person.display_name:
            out.changed_staff.append(person.username)
        if not user.active:
            out.reactivated_staff.append(person.username)
        if person.username not in current:
            out.joining_staff.append(person.username)
    listed = {p.username for p in pf.staff}
    out.leaving_staff = sorted(current - listed)
    _plan_leavers(session, pf, out)
    return out


def _plan_leavers(session: Session, pf: PracticeFile, out: Plan) -> None:
    """Who of the leavers is deactivated, their open tasks here, and whether the
    installation keeps an active admin."""
    pid = pf.practice.id
    for username in out.leaving_staff:
        user = session.scalars(select(models.User).where(models.User.username == username)).one()
        elsewhere = session.scalar(
            select(func.count())
            .select_from(models.UserPractice)
            .where(models.UserPractice.user_id == user.id, models.UserPractice.practice_id != pid)
        )
        if not elsewhere and user.active:
            out.deactivated_staff.append(username)
        owned = session.scalar(
            select(func.count())
            .select_from(models.Task)
            .where(
                models.Task.practice_id == pid,
                models.Task.owner_id == user.id,
                models.Task.status.not_in([str(s) for s in TERMINAL_STATUSES]),
            )
        )
        if owned:
            out.unassigned_tasks[username] = int(owned)
    file_roles = {p.username: p.role.value for p in pf.staff}
    admins = session.scalars(
        select(models.User.username).where(
            models.User.role == Role.ADMIN.value, models.User.active.is_(True)
        )
    ).all()
    if not admins:
        return  # nothing to keep (an installation before its first admin)
    kept = [
        name
        for name in admins
        if name not in out.deactivated_staff
        and file_roles.get(name, Role.ADMIN.value) == Role.ADMIN.value
    ]
    kept += [n for n in out.reactivated_staff if file_roles[n] == Role.ADMIN.value]
    if not kept:
        out.refusals.append(
            "it would leave no active admin (" + ", ".join(sorted(admins)) + " is the last)"
        )


def _log(
    session: Session,
    kind: ChangeKind,
    record_id: str,
    practice_id: str,
    version: int,
    now: datetime,
) -> None:
    feed.lock_for_write(session)
    session.add(
        models.ChangeLog(
            kind=kind.value,
            record_id=record_id,
            practice_id=practice_id,
            owner_id=None,
            previous_owner_id=None,
            op="upsert",
            version=version,
            at=now,
        )
    )


def _cancel_turned_off(
    session: Session, practice_id: str, workflows: list[str], *, client: str, now: datetime
) -> None:
    """Cancel the open tasks of workflows the practice no longer runs.

    Cancelled, not hidden: the change reaches every client through the feed like any
    other (an offline one on its next sync; an attempt it recorded meanwhile is still
    stored, flagged for review, as for any finished task), and the metrics see work
    that ended instead of an open backlog nobody will ever work (open and overdue
    counts stay honest). Re-enabling the workflow does not reopen them: its triggers
    open new tasks where there is work.
    """
    if not workflows:
        return
    feed.lock_for_write(session)
    for task in session.scalars(
        select(models.Task).where(
            models.Task.practice_id == practice_id,
            models.Task.workflow.in_(workflows),
            models.Task.status.not_in([str(s) for s in TERMINAL_STATUSES]),
        )
    ).all():
        task.status = str(TaskStatus.CANCELLED)
        task.business_status = WORKFLOW_OFF
        task.lease_holder_id = None
        task.lease_expires_at = None
        task.version += 1
        task.updated_at = now
        feed.log_task(session, task)
    audit.record(
        session,
        actor_id=None,
        action="practice.workflow-off",
        resource=f"practice:{practice_id}",
        client=client,
        at=now,
    )


def _unassign_open_work(session: Session, practice_id: str, user_id: str) -> None:
    """Clear the owner of `user_id`'s open tasks of the practice (a supervisor reassigns)."""
    feed.lock_for_write(session)
    for task in session.scalars(
        select(models.Task).where(
            models.Task.practice_id == practice_id,
            models.Task.owner_id == user_id,
            models.Task.status.not_in([str(s) for s in TERMINAL_STATUSES]),
        )
    ).all():
        reassign(session, task, None)


def _deactivate(session: Session, user: models.User, *, client: str, now: datetime) -> None:
    """Sign-in refused from now on: inactive, tokens revoked, set-up code gone."""
    user.active = False
    session.execute(
        update(models.Token)
        .where(models.Token.user_id == user.id, models.Token.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    session.execute(delete(models.SetupCode).where(models.SetupCode.user_id == user.id))
    note_session_ended(session, user.id)
    audit.record(
        session,
        actor_id=None,
        action="user.deactivate",
        resource=f"user:{user.id}",
        client=client,
        at=now,
    )


def apply_file(
    session: Session,
    pf: PracticeFile,
    *,
    by: str,
    client: str,
    now: datetime,
    new_id: Callable[[], str] = models.new_id,
    webhook_key: str | None = None,
    issue_codes: bool = True,
) -> ApplyResult:
    """Make the stored practice match `pf` in the caller's transaction (caller commits).

    `by` is the username of the admin or supervisor applying it (it may be one of
    the file's own new staff); they author any new script drafts. Raises
    PracticeApplyError when `by` is unknown or may not apply files.
    """
    changes = plan(session, pf)
    result = ApplyResult(plan=changes)
    if changes.refusals:
        raise PracticeApplyError("; ".join(changes.refusals))
    if by in changes.deactivated_staff:
        raise PracticeApplyError(
            f"{by} is applying this file but is not in its [[staff]]: applying it would "
            "deactivate them (add them, or let another admin apply it)"
        )
    if changes.empty:
        return result
    pid = pf.practice.id
    practice = session.get(models.Practice, pid)
    config = config_for(pf)
    if practice is None:
        result.webhook_key = webhook_key or "whk_" + secrets.token_hex(24)
        practice = models.Practice(
            id=pid,
            webhook_key_hash=token_digest(result.webhook_key),
            config=config,
            version=1,
            **_identity(pf),
        )
        session.add(practice)
        session.flush()
        _log(session, ChangeKind.PRACTICE, pid, pid, 1, now)
        audit.record(
            session,
            actor_id=None,
            action="practice.create",
            resource=f"practice:{pid}",
            client=client,
            at=now,
        )
    elif changes.practice_fields:
        for key, value in _identity(pf).items():
            setattr(practice, key, value)
        practice.config = config
        practice.version += 1
        _log(session, ChangeKind.PRACTICE, pid, pid, practice.version, now)
        audit.record(
            session,
            actor_id=None,
            action="practice.update",
            resource=f"practice:{pid}",
            client=client,
            at=now,
        )
        _cancel_turned_off(session, pid, sorted(changes.cancelled_tasks), client=client, now=now)

    if changes.supervision:
        store_settings(session, pid, pf.supervision.settings(), now)
        audit.record(
            session,
            actor_id=None,
            action="practice.supervision",
            resource=f"practice:{pid}",
            client=client,
            at=now,
        )

    users: dict[str, models.User] = {}
    for person in pf.staff:
        user = session.scalars(
            select(models.User).where(models.User.username == person.username)
        ).first()
        if user is None:
            user = models.User(
                id=new_id(),
                username=person.username,
                display_name=person.display_name,
                role=person.role.value,
                password_hash=UNUSABLE_PASSWORD,
                active=True,
                failed_logins=0,
                locked_until=None,
                created_at=now,
            )
            session.add(user)
            session.flush()
            audit.record(
                session,
                actor_id=None,
                action="user.create",
                resource=f"user:{user.id}",
                client=client,
                at=now,
            )
            if issue_codes:
                result.setup_codes[person.username] = issue_setup_code(session, user.id, now=now)
        elif person.username in changes.changed_staff:
            user.role = person.role.value
            user.display_name = person.display_name
            audit.record(
                session,
                actor_id=None,
                action="user.update",
                resource=f"user:{user.id}",
                client=client,
                at=now,
            )
        if person.username in changes.reactivated_staff:
            user.active = True
            user.failed_logins = 0
            user.locked_until = None
            audit.record(
                session,
                actor_id=None,
                action="user.reactivate",
                resource=f"user:{user.id}",
                client=client,
                at=now,
            )
            if issue_codes and user.password_hash == UNUSABLE_PASSWORD:
                result.setup_codes[person.username] = issue_setup_code(session, user.id, now=now)
        users[person.username] = user
        if person.username in changes.joining_staff or person.username in changes.new_staff:
            session.add(models.UserPractice(user_id=user.id, practice_id=pid))
    for username in changes.leaving_staff:
        user = session.scalars(select(models.User).where(models.User.username == username)).one()
        session.execute(
            delete(models.UserPractice).where(
                models.UserPractice.user_id == user.id, models.UserPractice.practice_id == pid
            )
        )
        audit.record(
            session,
            actor_id=None,
            action="practice.member-remove",
            resource=f"user:{user.id}",
            client=client,
            at=now,
        )
        _unassign_open_work(session, pid, user.id)
        if username in changes.deactivated_staff:
            _deactivate(session, user, client=client, now=now)

    author = (
        users.get(by)
        or session.scalars(select(models.User).where(models.User.username == by)).first()
    )
    if author is None:
        raise PracticeApplyError(f"no user {by!r} (--by names the admin or supervisor applying)")
    if author.role not in APPLIERS:
        raise PracticeApplyError(
            f"{by} is a {author.role}; only admins and supervisors apply files"
        )

    latest = latest_scripts(session, pid)
    for script in pf.scripts:
        if script.workflow not in changes.scripts:
            continue
        previous = latest.get(script.workflow)
        row = models.Script(
            id=new_id(),
            practice_id=pid,
            workflow=script.workflow,
            version=(previous.version + 1) if previous else 1,
            body=script.body(),
            active=False,
            status="draft",
            author_id=author.id,
            approved_by_id=None,
            created_at=now,
        )
        session.add(row)
        session.flush()
        result.drafts[script.workflow] = row.id
        audit.record(
            session,
            actor_id=author.id,
            action="script.draft",
            resource=f"script:{row.id}",
            client=client,
            at=now,
        )
    audit.record(
        session,
        actor_id=author.id,
        action="practice.apply",
        resource=f"practice:{pid}",
        client=client,
        at=now,
    )
    return result
