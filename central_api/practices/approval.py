"""Script approval: a draft becomes the version assistants see, by a second person.

Rules (issue 13; the four-eyes principle of clinical document control): only a
supervisor of the script's practice or an admin approves; never the draft's
author; only a draft is approved (an approved version is never edited: a change
is a new draft). Approval records who and when (in the body, as the workspace
shows it, and as `approved_by_id`), retires the previously approved version of
the workflow, makes the new one the workflow's active script for new tasks, and
puts it in the feed. Attempts keep the script id and version they used.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_api import audit, feed, models
from followup_core.enums import ChangeKind, Role


class ApprovalError(ValueError):
    """The approval is refused; `code` is the API error code, `status` its HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _member(session: Session, user_id: str, practice_id: str) -> bool:
    return (
        session.get(models.UserPractice, {"user_id": user_id, "practice_id": practice_id})
        is not None
    )


def approve_script(
    session: Session, script_id: str, approver: models.User, *, now: datetime, client: str
) -> models.Script:
    """Approve draft `script_id` as `approver`, in the caller's transaction."""
    script = session.get(models.Script, script_id)
    if script is None:
        raise ApprovalError(404, "not-found", "no such script")
    if approver.role == Role.SUPERVISOR.value:
        if not _member(session, approver.id, script.practice_id):
            raise ApprovalError(404, "not-found", "no such script")
    elif approver.role != Role.ADMIN.value:
        raise ApprovalError(403, "forbidden", "only a supervisor or an admin approves scripts")
    if script.status != "draft":
        raise ApprovalError(
            409, "not-a-draft", f"version {script.version} is already {script.status}"
        )
    if script.author_id == approver.id:
        raise ApprovalError(
            403, "own-draft", "a script is approved by someone other than its author"
        )
    for older in session.scalars(
        select(models.Script).where(
            models.Script.practice_id == script.practice_id,
            models.Script.workflow == script.workflow,
            models.Script.status == "approved",
        )
    ):
        older.status = "retired"
        older.active = False
    body = dict(script.body)
    body["approved_by"] = approver.display_name
    body["approved_at"] = now.isoformat().replace("+00:00", "Z")
    script.body = body
    script.status = "approved"
    script.approved_by_id = approver.id
    script.active = True
    feed.lock_for_write(session)
    session.add(
        models.ChangeLog(
            kind=ChangeKind.SCRIPT.value,
            record_id=script.id,
            practice_id=script.practice_id,
            owner_id=None,
            previous_owner_id=None,
            op="upsert",
            version=script.version,
            at=now,
        )
    )
    audit.record(
        session,
        actor_id=approver.id,
        action="script.approve",
        resource=f"script:{script.id}",
        client=client,
        at=now,
    )
    return script
