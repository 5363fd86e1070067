"""Writing what another system sent (FHIR, CSV) into our records, idempotently.

Both importers turn their input into the plain field sets below and call the
`upsert_*` functions in the caller's transaction (the caller commits once, so an
import is whole or nothing). A record is found by any of its external keys
(`ExternalId`: FHIR `system|value`, the source's own resource id, a CSV key);
when nothing changed nothing is written (no version bump, no feed row), so the
same input twice changes nothing.

Appointment status changes are kept as history (`AppointmentStatusChange`) and
close or open work:

- confirmed (booked, patient participant accepted): open confirmation tasks are
  completed (`confirmed-in-source`);
- cancelled: open confirmation and intake tasks on it are cancelled;
- fulfilled: open confirmation and intake tasks on it are cancelled (the visit
  happened; nothing left to chase);
- noshow: those tasks are cancelled and a post-visit-scheduling task opens to
  rebook the patient (one per appointment);
- booked: the periodic job's rules open the confirmation (and intake) task, as
  for any booked appointment; the importers run that job after committing.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from central_api import models
from central_api.feed import log_change, log_task
from central_api.triggers.rules import TERMINAL, Practices, open_task
from central_api.work import touch
from followup_core.enums import (
    AppointmentStatus,
    ChangeKind,
    FocusKind,
    IntakeStatus,
    ReferralStatus,
    TaskStatus,
    WorkflowId,
)
from followup_core.schemas import Consent

Key = tuple[str, str]  # (system, value)


class RecordConflict(Exception):
    """The input contradicts what is stored (message names fields, never values)."""


@dataclass
class PatientFields:
    given_name: str
    family_name: str
    date_of_birth: str  # YYYY-MM-DD, or "" when the source has none
    phone: str  # E.164, or "" when the source has no usable number
    preferred_language: str = "en"
    interpreter_needed: bool = False


@dataclass
class AppointmentFields:
    patient_id: str
    start_at: datetime
    status: AppointmentStatus
    provider: str = ""
    location: str = ""
    visit_type: str = ""


@dataclass
class ReferralFields:
    patient_id: str
    specialty: str
    referred_at: datetime
    status: ReferralStatus
    receiving_provider: str = ""


@dataclass
class Outcome:
    """What one upsert did: `created`, `updated` or `unchanged`."""

    record_id: str
    change: str


def find_record(session: Session, practice_id: str, kind: str, keys: list[Key]) -> str | None:
    """The record these keys name (None if none); RecordConflict if they name two."""
    if not keys:
        return None
    found: set[str] = set()
    for system, value in keys:
        row = session.get(models.ExternalId, (practice_id, kind, system, value))
        if row is not None:
            found.add(row.record_id)
    if len(found) > 1:
        raise RecordConflict(f"its identifiers name {len(found)} different {kind} records")
    return next(iter(found), None)


def remember(
    session: Session, practice_id: str, kind: str, keys: list[Key], record_id: str
) -> None:
    """Register every key for the record (those already known are left alone)."""
    for system, value in dict.fromkeys(keys):
        if session.get(models.ExternalId, (practice_id, kind, system, value)) is None:
            session.add(
                models.ExternalId(
                    practice_id=practice_id,
                    kind=kind,
                    system=system,
                    value=value,
                    record_id=record_id,
                )
            )


def _apply(row: Any, values: dict[str, Any]) -> dict[str, Any]:
    """Set `values` on `row`; the earlier values of the fields that changed."""
    old: dict[str, Any] = {}
    for name, value in values.items():
        current = getattr(row, name)
        if current != value:
            old[name] = current
            setattr(row, name, value)
    return old


_Row = TypeVar("_Row", models.Patient, models.Appointment, models.Referral)
_NOUN = {
    ChangeKind.PATIENT: "a patient",
    ChangeKind.APPOINTMENT: "an appointment",
    ChangeKind.REFERRAL: "a referral",
}


@dataclass
class _Written(Generic[_Row]):
    row: _Row
    change: str  # created | updated | unchanged
    old: dict[str, Any]  # the changed fields' earlier values (empty unless updated)


def _upsert(
    session: Session,
    practice: models.Practice,
    kind: ChangeKind,
    model: type[_Row],
    keys: list[Key],
    values: dict[str, Any],
    *,
    on_create: dict[str, Any] | None = None,
) -> _Written[_Row]:
    """Find the record any of `keys` names (RecordConflict if they name two, or one of
    another practice), create it with `values` (and `on_create`) or set `values` on it,
    register every key, and log a feed change unless nothing changed (no version bump)."""
    record_id = find_record(session, practice.id, str(kind), keys)
    old: dict[str, Any] = {}
    if record_id is None:
        row = model(
            id=models.new_id(),
            practice_id=practice.id,
            version=1,
            **(on_create or {}),
            **values,
        )
        session.add(row)
        session.flush()
        change = "created"
    else:
        found = session.get(model, record_id)
        if found is None or found.practice_id != practice.id:
            raise RecordConflict(f"its identifier names {_NOUN[kind]} of another practice")
        row = found
        old = _apply(row, values)
        change = "updated" if old else "unchanged"
        if old:
            row.version += 1
    remember(session, practice.id, str(kind), keys, row.id)
    if change != "unchanged":
        log_change(
            session, kind=kind, record_id=row.id, practice_id=practice.id, version=row.version
        )
    return _Written(row, change, old)


def upsert_patient(
    session: Session, practice: models.Practice, keys: list[Key], data: PatientFields
) -> Outcome:
    """Create or update a patient; the consent and intake status we hold are kept."""
    written = _upsert(
        session,
        practice,
        ChangeKind.PATIENT,
        models.Patient,
        keys,
        {f.name: getattr(data, f.name) for f in fields(data)},
        on_create={
            "timezone": practice.timezone,
            # Contact by phone only where the source gave a number; other channels
            # need the patient's recorded consent, which a source record does not carry.
            "consent": Consent(phone=bool(data.phone)).model_dump(),
            # FHIR Patient has no intake state: not missing until a form source says so.
            "intake_status": str(IntakeStatus.COMPLETE),
        },
    )
    return Outcome(written.row.id, written.change)


def upsert_appointment(
    session: Session,
    practice: models.Practice,
    keys: list[Key],
    data: AppointmentFields,
    *,
    source: str,
    source_at: datetime | None = None,
) -> Outcome:
    """Create or update an appointment; a new status is kept in its history and moves work."""
    values = {f.name: getattr(data, f.name) for f in fields(data)}
    values["status"] = str(data.status)
    written = _upsert(session, practice, ChangeKind.APPOINTMENT, models.Appointment, keys, values)
    appt = written.row
    if written.change == "created" or "status" in written.old:
        session.add(
            models.AppointmentStatusChange(
                appointment_id=appt.id,
                practice_id=practice.id,
                status=appt.status,
                source=source,
                source_at=source_at,
                recorded_at=models.utcnow(),
            )
        )
        _appointment_work(session, practice, appt)
    return Outcome(appt.id, written.change)


def upsert_referral(
    session: Session, practice: models.Practice, keys: list[Key], data: ReferralFields
) -> Outcome:
    """Create or update a referral; a completed or closed one ends its follow-up work."""
    values = {f.name: getattr(data, f.name) for f in fields(data)}
    values["status"] = str(data.status)
    written = _upsert(session, practice, ChangeKind.REFERRAL, models.Referral, keys, values)
    ref = written.row
    if written.change != "unchanged" and ref.status in (
        str(ReferralStatus.COMPLETED),
        str(ReferralStatus.CLOSED),
    ):
        to = (
            TaskStatus.COMPLETED if ref.status == ReferralStatus.COMPLETED else TaskStatus.CANCELLED
        )
        close_focus_work(
            session, ref.id, [WorkflowId.REFERRAL_FOLLOW_UP], to, f"referral-{ref.status}"
        )
    return Outcome(ref.id, written.change)


def close_focus_work(
    session: Session,
    focus_id: str,
    workflows: list[WorkflowId],
    to: TaskStatus,
    business_status: str,
) -> list[models.Task]:
    """Move every open task of `workflows` focused on `focus_id` to `to` (a terminal status)."""
    now = models.utcnow()
    closed = list(
        session.scalars(
            select(models.Task).where(
                models.Task.focus_id == focus_id,
                models.Task.workflow.in_([str(w) for w in workflows]),
                models.Task.status.not_in(TERMINAL),
            )
        ).all()
    )
    for task in closed:
        task.status = str(to)
        task.business_status = business_status
        task.lease_holder_id = None
        task.lease_expires_at = None
        touch(task, now)
        log_task(session, task)
    return closed


_APPOINTMENT_WORK = [WorkflowId.APPOINTMENT_CONFIRMATION, WorkflowId.INTAKE_COMPLETION]


def _appointment_work(
    session: Session, practice: models.Practice, appt: models.Appointment
) -> None:
    status = AppointmentStatus(appt.status)
    if status is AppointmentStatus.CONFIRMED:
        close_focus_work(
            session,
            appt.id,
            [WorkflowId.APPOINTMENT_CONFIRMATION],
            TaskStatus.COMPLETED,
            "confirmed-in-source",
        )
    elif status in (AppointmentStatus.CANCELLED, AppointmentStatus.FULFILLED):
        close_focus_work(
            session, appt.id, _APPOINTMENT_WORK, TaskStatus.CANCELLED, f"appointment-{status}"
        )
    elif status is AppointmentStatus.NOSHOW:
        close_focus_work(
            session, appt.id, _APPOINTMENT_WORK, TaskStatus.CANCELLED, "appointment-noshow"
        )
        rebook = session.scalars(
            select(models.Task.id).where(
                models.Task.focus_id == appt.id,
                models.Task.workflow == str(WorkflowId.POST_VISIT_SCHEDULING),
            )
        ).first()
        if rebook is None:
            open_task(
                session,
                Practices(session),
                practice_id=practice.id,
                workflow=WorkflowId.POST_VISIT_SCHEDULING,
                triggered_at=models.utcnow(),
                patient_id=appt.patient_id,
                focus=(FocusKind.APPOINTMENT, appt.id),
                next_action="Rebook the missed appointment (no-show)",
            )
