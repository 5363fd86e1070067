"""The missed-call intake behind `POST /v1/triggers/missed-call` (and interop's webhooks).

The practice is found from its webhook key (compared in constant time); the
caller id is parsed in the practice's region (`followup_core.phones`) and its
E.164 number matched against the practice's patients; every call is recorded as
a `MissedCall` row (withheld and impossible caller ids too, without a task); a
second call before anyone called back joins the
caller's open missed-call-recovery task instead of opening another.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_api import models
from central_api.core.security import token_digest
from central_api.feed import lock_for_write
from central_api.triggers.rules import TERMINAL, Practices, open_task
from followup_core.enums import Priority, WorkflowId
from followup_core.phones import (
    DEFAULT_REGION,
    InvalidPhone,
    ParsedPhone,
    WithheldCaller,
    classify_caller,
    parse_phone,
    region_of,
)


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


def practice_region(practice: models.Practice) -> str:
    """The region numbers written the national way are read in: the practice file's
    `region` (ISO 3166-1 alpha-2) if it has one, else the region of its own number."""
    configured = (practice.config or {}).get("region")
    if isinstance(configured, str) and len(configured) == 2:
        return configured.upper()
    return region_of(practice.phone)


def phone_candidates(raw: str, region: str = DEFAULT_REGION) -> list[str]:
    """The stored (E.164) spelling of what a phone system sent, if it is a number."""
    try:
        return [parse_phone(raw, region).e164]
    except InvalidPhone:
        return []


class CallerKind(StrEnum):
    """What a missed call's caller id turned out to be (`MissedCall.caller_kind`)."""

    MATCHED = "matched"  # a patient's number: the patient's recovery task
    UNMATCHED = "unmatched"  # a real number nobody on file has: an unmatched-caller task
    WITHHELD = "withheld"  # no number to call back: recorded, no task
    INVALID = "invalid"  # not a number that can exist: recorded, no task


@dataclass(frozen=True)
class CallIntake:
    """What one reported missed call became: its row, its task (None when there is
    no one to call back) and whether it was a provider's repeat of a call already taken."""

    call: models.MissedCall
    task: models.Task | None
    replayed: bool = False


def known_call(session: Session, practice_id: str, call_sid: str) -> models.MissedCall | None:
    """The row of a call the provider reported before (same CallSid), if any."""
    return session.scalars(
        select(models.MissedCall).where(
            models.MissedCall.practice_id == practice_id, models.MissedCall.call_sid == call_sid
        )
    ).first()


def take_missed_call(
    session: Session,
    practice: models.Practice,
    *,
    caller: str | None,
    called_at: datetime,
    source: str = "json",
    call_sid: str | None = None,
    call_status: str | None = None,
) -> CallIntake:
    """Record a missed call and open or join the caller's recovery task (caller commits).

    The caller id is parsed in the practice's region (`followup_core.phones`): a
    patient is matched on the E.164 number (an extension is kept apart, on the call
    row and in the task's next action); a real unmatched number opens an
    unmatched-caller task; a withheld caller id or a number that cannot exist opens
    nothing (there is no one to call back, and two withheld callers are not one
    caller) but is still recorded, so the metrics count it. A `call_sid` seen before
    returns the first intake unchanged.

    Look-up and create run under the feed's write lock (`lock_for_write`; SQLite's
    BEGIN IMMEDIATE does the same), so concurrent calls from one number open one task.
    """
    lock_for_write(session)
    if call_sid is not None:
        seen = known_call(session, practice.id, call_sid)
        if seen is not None:
            first = session.get(models.Task, seen.task_id) if seen.task_id else None
            return CallIntake(seen, first, replayed=True)
    row = models.MissedCall(
        id=models.new_id(),
        practice_id=practice.id,
        call_sid=call_sid,
        source=source,
        call_status=call_status,
        called_at=called_at,
        received_at=models.utcnow(),
    )
    try:
        classified = classify_caller(caller, practice_region(practice))
    except InvalidPhone:
        classified = None
    task: models.Task | None = None
    if classified is None:
        row.caller_kind = str(CallerKind.INVALID)
    elif isinstance(classified, WithheldCaller):
        row.caller_kind = str(CallerKind.WITHHELD)
        row.withheld_reason = str(classified.reason)
    else:
        row.caller_e164 = classified.e164
        row.caller_extension = classified.extension
        task, kind = _task_for_number(session, practice, classified, called_at)
        row.caller_kind = str(kind)
    row.task_id = task.id if task is not None else None
    session.add(row)
    return CallIntake(row, task)


def _task_for_number(
    session: Session, practice: models.Practice, number: ParsedPhone, called_at: datetime
) -> tuple[models.Task | None, CallerKind]:
    patient = session.scalars(
        select(models.Patient)
        .where(models.Patient.practice_id == practice.id, models.Patient.phone == number.e164)
        .order_by(models.Patient.id)
        .limit(1)
    ).first()
    if patient is None and not number.valid:
        # Possible by length but not a number in service: never a callback number.
        return None, CallerKind.INVALID
    open_stmt = select(models.Task).where(
        models.Task.practice_id == practice.id,
        models.Task.workflow == str(WorkflowId.MISSED_CALL_RECOVERY),
        models.Task.status.not_in(TERMINAL),
    )
    if patient is not None:
        open_stmt = open_stmt.where(models.Task.patient_id == patient.id)
    else:
        open_stmt = open_stmt.where(
            models.Task.patient_id.is_(None), models.Task.caller_phone == number.e164
        )
    kind = CallerKind.MATCHED if patient is not None else CallerKind.UNMATCHED
    existing = session.scalars(open_stmt.order_by(models.Task.created_at).limit(1)).first()
    if existing is not None:
        # A second call before anyone called back is the same piece of work.
        return existing, kind
    action = "Call back the missed caller"
    if number.extension:
        action += f" (ext. {number.extension})"
    task = open_task(
        session,
        Practices(session),
        practice_id=practice.id,
        workflow=WorkflowId.MISSED_CALL_RECOVERY,
        triggered_at=called_at,
        patient_id=patient.id if patient else None,
        caller_phone=number.e164 if patient is None else None,
        priority=Priority.URGENT,
        next_action=action,
    )
    return task, kind


def missed_call(
    session: Session, practice: models.Practice, *, caller_phone: str, called_at: datetime
) -> models.Task | None:
    """The task for a missed call (None for a withheld or impossible caller id)."""
    return take_missed_call(session, practice, caller=caller_phone, called_at=called_at).task
