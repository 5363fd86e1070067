"""The missed-call intake behind `POST /v1/triggers/missed-call` (and interop's webhooks).

The practice is found from its webhook key (compared in constant time); the
caller's number is matched against the practice's patients in the spellings a
phone system may send; a second call before anyone called back joins the
caller's open missed-call-recovery task instead of opening another.
"""

from __future__ import annotations

import hmac
import re
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_api import models
from central_api.core.security import token_digest
from central_api.triggers.rules import TERMINAL, Practices, open_task
from followup_core.enums import Priority, WorkflowId


def practice_for_key(session: Session, key: str | None) -> models.Practice | None:
    """The practice whose webhook key this is, compared in constant time."""
    if not key or len(key) > 256:
        return None
    digest = token_digest(key)
    found: models.Practice | None = None
    # Compare against every practice (a handful) so timing does not reveal which matched.
    for practice in session.scalars(select(models.Practice)):
        if hmac.compare_digest(practice.webhook_key_hash, digest):
            found = practice
    return found


_NOT_DIGITS = re.compile(r"[^0-9]")


def phone_candidates(raw: str) -> list[str]:
    """The spellings a stored (E.164) number may have for what a phone system sent."""
    digits = _NOT_DIGITS.sub("", raw)
    out = [raw.strip()]
    if len(digits) == 10:
        out.append(f"+1{digits}")
    elif digits:
        out.append(f"+{digits}")
    return list(dict.fromkeys(out))


def missed_call(
    session: Session, practice: models.Practice, *, caller_phone: str, called_at: datetime
) -> models.Task:
    """The task for a missed call: the caller's open one, or a new one (caller commits)."""
    candidates = phone_candidates(caller_phone)
    patient = session.scalars(
        select(models.Patient)
        .where(models.Patient.practice_id == practice.id, models.Patient.phone.in_(candidates))
        .order_by(models.Patient.id)
        .limit(1)
    ).first()
    open_stmt = select(models.Task).where(
        models.Task.practice_id == practice.id,
        models.Task.workflow == str(WorkflowId.MISSED_CALL_RECOVERY),
        models.Task.status.not_in(TERMINAL),
    )
    if patient is not None:
        open_stmt = open_stmt.where(models.Task.patient_id == patient.id)
    else:
        open_stmt = open_stmt.where(
            models.Task.patient_id.is_(None), models.Task.caller_phone.in_(candidates)
        )
    existing = session.scalars(open_stmt.order_by(models.Task.created_at).limit(1)).first()
    if existing is not None:
        # A second call before anyone called back is the same piece of work.
        return existing
    return open_task(
        session,
        Practices(session),
        practice_id=practice.id,
        workflow=WorkflowId.MISSED_CALL_RECOVERY,
        triggered_at=called_at,
        patient_id=patient.id if patient else None,
        caller_phone=candidates[-1] if patient is None else None,
        priority=Priority.URGENT,
        next_action="Call back the missed caller",
    )
