"""FHIR R4 Bundle import: Patient, Appointment, ServiceRequest (referrals) and Task.

`import_bundle(session, practice, bundle)` validates every entry with the
`fhir.resources` models and writes everything in the caller's transaction, or
raises `FhirRejected` (an OperationOutcome naming `Bundle.entry[i]`) having
written nothing; the caller commits or rolls back. `fhir.resources` 8.x ships
R5 at the top level and R4B in `fhir.resources.R4B`; R4B's Patient, Appointment,
ServiceRequest, Task, Communication, Bundle and OperationOutcome are R4's
(R4B changed other resources), so R4 content is validated with the R4B models.

Records are matched by identifier (`system|value`) and by the source's resource
id (`Type/id`), so the same Bundle twice changes nothing. References between
entries resolve by `fullUrl` (`urn:uuid:…`), by `Type/id` within the Bundle or
from an earlier import, or by a reference's own identifier.

Mapping (what the rest of the product needs from each resource):

- Patient: name (official, else first), birthDate, the first phone `telecom` (mobile,
  home, work, then others) that is a valid number
  (parsed in the practice's region), preferred `communication` language, the
  interpreterRequired extension.
- Appointment: status booked (→ confirmed when the patient participant has
  accepted), fulfilled (also arrived, checked-in), noshow, cancelled (also
  entered-in-error); proposed, pending and waitlist are not worked yet and are
  skipped with an information issue. `start`; the Patient participant; the
  Practitioner's and Location's display; serviceType or appointmentType text.
- ServiceRequest: active/on-hold → sent, completed → completed, revoked and
  entered-in-error → closed (draft and unknown skipped); `subject`; specialty
  from performerType, else code; `authoredOn`; the first performer's display.
- Task: the workflow from `code` (a coding whose code is one of our workflow
  ids), else from its focus (ServiceRequest → referral-follow-up, Appointment →
  appointment-confirmation); `for` (a Patient); `focus`; priority; status. A new
  task is opened and assigned like any other; a later terminal status
  (completed, cancelled, failed, rejected) closes ours.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fhir.resources.R4B import get_fhir_model_class
from pydantic import ValidationError
from sqlalchemy.orm import Session

from central_api import models
from central_api.feed import log_task
from central_api.interop import records
from central_api.interop.outcome import Issue, operation_outcome
from central_api.interop.records import Key, RecordConflict
from central_api.triggers.missed_call import practice_region
from central_api.triggers.rules import Practices, open_task
from central_api.work import touch
from followup_core.enums import (
    TERMINAL_STATUSES,
    AppointmentStatus,
    ChangeKind,
    FocusKind,
    Priority,
    ReferralStatus,
    TaskStatus,
    WorkflowId,
)
from followup_core.phones import InvalidPhone, normalise_stored
from followup_core.schemas import SCHEDULABLE_MESSAGE, find_unstorable, is_schedulable

SUPPORTED = ("Patient", "Appointment", "ServiceRequest", "Task")
BUNDLE_TYPES = frozenset({"batch", "transaction", "collection"})
FHIR_ID_SYSTEM = "urn:assistant-tui:fhir-id"
MAX_ENTRIES = 5000
INTERPRETER_EXT = "http://hl7.org/fhir/StructureDefinition/patient-interpreterRequired"
_KIND = {
    "Patient": ChangeKind.PATIENT,
    "Appointment": ChangeKind.APPOINTMENT,
    "ServiceRequest": ChangeKind.REFERRAL,
    "Task": ChangeKind.TASK,
}
_APPOINTMENT_STATUS = {
    "booked": AppointmentStatus.BOOKED,
    "fulfilled": AppointmentStatus.FULFILLED,
    "arrived": AppointmentStatus.FULFILLED,
    "checked-in": AppointmentStatus.FULFILLED,
    "noshow": AppointmentStatus.NOSHOW,
    "cancelled": AppointmentStatus.CANCELLED,
    "entered-in-error": AppointmentStatus.CANCELLED,
}
_REFERRAL_STATUS = {
    "active": ReferralStatus.SENT,
    "on-hold": ReferralStatus.SENT,
    "completed": ReferralStatus.COMPLETED,
    "revoked": ReferralStatus.CLOSED,
    "entered-in-error": ReferralStatus.CLOSED,
}
_TASK_STATUS = {
    "requested": TaskStatus.REQUESTED,
    "received": TaskStatus.REQUESTED,
    "accepted": TaskStatus.REQUESTED,
    "ready": TaskStatus.READY,
    "in-progress": TaskStatus.IN_PROGRESS,
    "on-hold": TaskStatus.ON_HOLD,
    "completed": TaskStatus.COMPLETED,
    "failed": TaskStatus.FAILED,
    "cancelled": TaskStatus.CANCELLED,
    "rejected": TaskStatus.CANCELLED,
    "entered-in-error": TaskStatus.ENTERED_IN_ERROR,
}
_WORKFLOW_IDS = {str(w) for w in WorkflowId}


class FhirRejected(Exception):
    """The Bundle is refused whole; `outcome` is the OperationOutcome (JSON) naming why."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__(f"{len(issues)} issue(s)")
        self.issues = issues
        self.outcome = operation_outcome(issues)


@dataclass
class ImportResult:
    """Counts per resource type and change (`Patient.created`…), skipped entries as
    information issues, and the ids of tasks the import opened or closed."""

    counts: Counter[str] = field(default_factory=Counter)
    skipped: list[Issue] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)

    def as_outcome(self) -> dict[str, Any]:
        lines = [f"{name}: {n}" for name, n in sorted(self.counts.items())]
        summary = Issue(
            "information", "informational", "Bundle", "imported; " + (", ".join(lines) or "nothing")
        )
        return operation_outcome([summary, *self.skipped])


class _EntryError(Exception):
    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _where(index: int, rtype: str | None = None) -> str:
    return f"Bundle.entry[{index}]" + (f".resource({rtype})" if rtype else "")


def _validation_message(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ())) or "resource"
        kind = str(err.get("type", "value_error"))
        parts.append(f"{loc}: {'required' if kind == 'missing' else kind.replace('_', ' ')}")
    return "; ".join(parts)


def check_bundle(bundle: Any) -> list[dict[str, Any]]:
    """The Bundle's entries, or FhirRejected naming what is wrong with the Bundle itself."""
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise FhirRejected([Issue("error", "structure", "Bundle", "the body is not a FHIR Bundle")])
    if bundle.get("type") not in BUNDLE_TYPES:
        raise FhirRejected(
            [
                Issue(
                    "error",
                    "not-supported",
                    "Bundle.type",
                    "send a batch, transaction or collection",
                )
            ]
        )
    entries = bundle.get("entry") or []
    if not isinstance(entries, list):
        raise FhirRejected([Issue("error", "structure", "Bundle.entry", "must be a list")])
    if len(entries) > MAX_ENTRIES:
        raise FhirRejected(
            [Issue("error", "too-costly", "Bundle.entry", f"more than {MAX_ENTRIES} entries")]
        )
    shell = {k: v for k, v in bundle.items() if k != "entry"}
    try:
        get_fhir_model_class("Bundle").model_validate(shell)
    except ValidationError as exc:
        raise FhirRejected(
            [Issue("error", "structure", "Bundle", _validation_message(exc))]
        ) from None
    return entries


class _Importer:
    def __init__(self, session: Session, practice: models.Practice) -> None:
        self.session = session
        self.practice = practice
        self.region = practice_region(practice)
        self.result = ImportResult()
        # fullUrl and Type/id of this Bundle's entries → (type, our record id)
        self.local: dict[str, tuple[str, str]] = {}
        self.practices = Practices(session)

    # --- references ----------------------------------------------------------

    def resolve(self, ref: Any, want: str | tuple[str, ...]) -> tuple[str, str] | None:
        """(type, our id) of a Reference, if it names a record of type `want`."""
        wanted = (want,) if isinstance(want, str) else want
        if ref is None:
            return None
        target = getattr(ref, "reference", None)
        if target:
            hit = self.local.get(target)
            if hit is None:
                parts = [p for p in target.split("/") if p]
                if len(parts) >= 2 and not target.startswith("urn:"):
                    rtype, rid = parts[-2], parts[-1]
                    key = f"{rtype}/{rid}"
                    hit = self.local.get(key)
                    if hit is None and rtype in wanted:
                        found = records.find_record(
                            self.session,
                            self.practice.id,
                            str(_KIND[rtype]),
                            [(FHIR_ID_SYSTEM, key)],
                        )
                        hit = (rtype, found) if found else None
            if hit is not None and hit[0] in wanted:
                return hit
            return None
        ident = getattr(ref, "identifier", None)
        rtype = getattr(ref, "type", None)
        if ident is not None and ident.system and ident.value and rtype in wanted:
            found = records.find_record(
                self.session, self.practice.id, str(_KIND[rtype]), [(ident.system, ident.value)]
            )
            return (rtype, found) if found else None
        return None

    # --- entries -------------------------------------------------------------

    def keys(self, rtype: str, resource: Any) -> list[Key]:
        out: list[Key] = []
        for ident in getattr(resource, "identifier", None) or []:
            if ident.system and ident.value:
                out.append((str(ident.system)[:255], str(ident.value)[:255]))
        if resource.id:
            out.append((FHIR_ID_SYSTEM, f"{rtype}/{resource.id}"))
        if not out:
            raise _EntryError("needs an identifier (system and value) or an id", "required")
        return out

    def entry(self, index: int, entry: Any) -> None:
        if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
            raise _EntryError("has no resource", "structure")
        raw = entry["resource"]
        rtype = raw.get("resourceType")
        if rtype not in SUPPORTED:
            self.result.skipped.append(
                Issue(
                    "information",
                    "not-supported",
                    _where(index),
                    f"{str(rtype)[:40]} is not imported (only {', '.join(SUPPORTED)})",
                )
            )
            return
        try:
            resource: Any = get_fhir_model_class(rtype).model_validate(raw)
        except ValidationError as exc:
            raise _EntryError(f"{rtype} is not valid R4: {_validation_message(exc)}") from None
        keys = self.keys(rtype, resource)
        handler = getattr(self, f"_{rtype.lower()}")
        outcome: records.Outcome | None = handler(index, resource, keys)
        if outcome is None:
            return
        self.result.counts[f"{rtype}.{outcome.change}"] += 1
        full_url = entry.get("fullUrl")
        if isinstance(full_url, str) and full_url:
            self.local[full_url] = (rtype, outcome.record_id)
        if resource.id:
            self.local[f"{rtype}/{resource.id}"] = (rtype, outcome.record_id)

    def _skip(self, index: int, rtype: str, message: str) -> None:
        self.result.skipped.append(
            Issue("information", "informational", _where(index, rtype), message)
        )

    def _patient(self, index: int, res: Any, keys: list[Key]) -> records.Outcome:
        names = res.name or []
        name = next((n for n in names if n.use == "official"), names[0] if names else None)
        if name is None or not (name.family or name.given):
            raise _EntryError("Patient.name: a family or given name is required", "required")
        phone = ""
        phones = [t for t in res.telecom or [] if t.system == "phone" and t.value]
        phones.sort(key=lambda t: {"mobile": 0, "home": 1, "work": 2}.get(t.use or "", 3))
        for telecom in phones:
            try:
                phone = normalise_stored(telecom.value, self.region)
                break
            except InvalidPhone:
                continue
        language = "en"
        for comm in res.communication or []:
            codes = [c.code for c in (comm.language.coding or []) if c.code]
            if codes and (comm.preferred or language == "en"):
                language = codes[0][:32]
        interpreter = any(
            ext.url == INTERPRETER_EXT and ext.valueBoolean for ext in res.extension or []
        )
        data = records.PatientFields(
            given_name=" ".join(name.given or [])[:100],
            family_name=(name.family or "")[:100],
            date_of_birth=res.birthDate.isoformat() if res.birthDate else "",
            phone=phone,
            preferred_language=language,
            interpreter_needed=interpreter,
        )
        return records.upsert_patient(self.session, self.practice, keys, data)

    def _appointment(self, index: int, res: Any, keys: list[Key]) -> records.Outcome | None:
        status = _APPOINTMENT_STATUS.get(res.status)
        if status is None:
            self._skip(index, "Appointment", f"status {res.status} is not worked until booked")
            return None
        if res.start is None:
            raise _EntryError("Appointment.start is required", "required")
        patient_id: str | None = None
        accepted = False
        provider = location = ""
        for part in res.participant or []:
            actor = part.actor
            hit = self.resolve(actor, "Patient")
            if hit is not None:
                patient_id = hit[1]
                accepted = part.status == "accepted"
                continue
            ref = (getattr(actor, "reference", None) or "") if actor else ""
            display = (getattr(actor, "display", None) or "") if actor else ""
            if ref.startswith(("Practitioner/", "PractitionerRole/")) and not provider:
                provider = display or ref
            elif ref.startswith("Location/") and not location:
                location = display or ref
        if patient_id is None:
            raise _EntryError(
                "Appointment.participant: no Patient in this Bundle or imported before", "not-found"
            )
        if status is AppointmentStatus.BOOKED and accepted:
            status = AppointmentStatus.CONFIRMED
        visit_type = _concept_text(res.serviceType) or _concept_text(res.appointmentType) or ""
        data = records.AppointmentFields(
            patient_id=patient_id,
            start_at=_utc(res.start, "Appointment.start"),
            status=status,
            provider=provider[:100],
            location=location[:100],
            visit_type=visit_type[:100],
        )
        source_at = (
            _utc(res.meta.lastUpdated, "meta.lastUpdated")
            if res.meta and res.meta.lastUpdated
            else None
        )
        return records.upsert_appointment(
            self.session, self.practice, keys, data, source="fhir", source_at=source_at
        )

    def _servicerequest(self, index: int, res: Any, keys: list[Key]) -> records.Outcome | None:
        status = _REFERRAL_STATUS.get(res.status)
        if status is None:
            self._skip(index, "ServiceRequest", f"status {res.status} is not a referral to follow")
            return None
        hit = self.resolve(res.subject, "Patient")
        if hit is None:
            raise _EntryError(
                "ServiceRequest.subject: no Patient in this Bundle or imported before", "not-found"
            )
        specialty = _concept_text(res.performerType) or _concept_text(res.code) or "Referral"
        performer = next((p for p in res.performer or [] if p.display), None)
        referred = res.authoredOn or res.occurrenceDateTime
        data = records.ReferralFields(
            patient_id=hit[1],
            specialty=specialty[:100],
            referred_at=_utc(referred, "ServiceRequest.authoredOn")
            if referred
            else models.utcnow(),
            status=status,
            receiving_provider=(performer.display if performer else "")[:100],
        )
        return records.upsert_referral(self.session, self.practice, keys, data)

    def _task(self, index: int, res: Any, keys: list[Key]) -> records.Outcome | None:
        status = _TASK_STATUS.get(res.status)
        if status is None:
            self._skip(index, "Task", f"status {res.status} is not work yet")
            return None
        focus = self.resolve(res.focus, ("Appointment", "ServiceRequest"))
        focus_type = focus[0] if focus else _ref_type(res.focus)
        workflow = _workflow_of(res, focus_type)
        if workflow is None:
            raise _EntryError(
                "Task.code names none of our workflows, and its focus implies none", "code-invalid"
            )
        patient = self.resolve(getattr(res, "for_fhir", None), "Patient")
        if patient is None:
            raise _EntryError("Task.for: no Patient in this Bundle or imported before", "not-found")
        kind = str(ChangeKind.TASK)
        existing_id = records.find_record(self.session, self.practice.id, kind, keys)
        if existing_id is not None:
            task = self.session.get(models.Task, existing_id)
            if task is None or task.practice_id != self.practice.id:
                raise _EntryError("its identifier names a task of another practice", "conflict")
            records.remember(self.session, self.practice.id, kind, keys, task.id)
            if status in TERMINAL_STATUSES and TaskStatus(task.status) not in TERMINAL_STATUSES:
                task.status = str(status)
                task.business_status = f"{status}-in-source"
                touch(task, models.utcnow())
                log_task(self.session, task)
                self.result.task_ids.append(task.id)
                return records.Outcome(task.id, "updated")
            return records.Outcome(task.id, "unchanged")
        focus_pair = None
        if focus is not None:
            focus_pair = (
                FocusKind.APPOINTMENT if focus[0] == "Appointment" else FocusKind.REFERRAL,
                focus[1],
            )
        task = open_task(
            self.session,
            self.practices,
            practice_id=self.practice.id,
            workflow=workflow,
            triggered_at=_utc(res.authoredOn, "Task.authoredOn")
            if res.authoredOn
            else models.utcnow(),
            patient_id=patient[1],
            focus=focus_pair,
            priority=Priority(res.priority) if res.priority in set(Priority) else Priority.ROUTINE,
            next_action=(res.description or None) and str(res.description)[:200],
        )
        if status in TERMINAL_STATUSES or status is TaskStatus.ON_HOLD:
            task.status = str(status)
        records.remember(self.session, self.practice.id, kind, keys, task.id)
        self.result.task_ids.append(task.id)
        return records.Outcome(task.id, "created")


def _utc(value: Any, field: str) -> datetime:
    """`value` (a FHIR date or dateTime) as aware UTC; an _EntryError naming `field` for a
    date outside 1900-2200 (`followup_core.schemas.is_schedulable`) or without a zone."""
    if not is_schedulable(value):
        raise _EntryError(f"{field}: {SCHEDULABLE_MESSAGE}", "value")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise _EntryError("a dateTime without a time zone", "value")
        return value.astimezone(UTC)
    # a date only (authoredOn may be one): midnight UTC
    return datetime(value.year, value.month, value.day, tzinfo=UTC)


def _concept_text(concepts: Any) -> str:
    items = concepts if isinstance(concepts, list) else ([concepts] if concepts else [])
    for concept in items:
        if concept.text:
            return str(concept.text)
        for coding in concept.coding or []:
            if coding.display or coding.code:
                return str(coding.display or coding.code)
    return ""


def _ref_type(ref: Any) -> str | None:
    target = getattr(ref, "reference", None) or ""
    parts = [p for p in target.split("/") if p]
    return parts[-2] if len(parts) >= 2 else getattr(ref, "type", None)


def _workflow_of(res: Any, focus_type: str | None) -> WorkflowId | None:
    code = res.code
    if code is not None:
        for coding in code.coding or []:
            if coding.code in _WORKFLOW_IDS:
                return WorkflowId(coding.code)
        if code.text in _WORKFLOW_IDS:
            return WorkflowId(code.text)
    if focus_type == "ServiceRequest":
        return WorkflowId.REFERRAL_FOLLOW_UP
    if focus_type == "Appointment":
        return WorkflowId.APPOINTMENT_CONFIRMATION
    return None


def import_bundle(session: Session, practice: models.Practice, bundle: Any) -> ImportResult:
    """Import a Bundle into `practice` in the caller's transaction.

    Raises FhirRejected (after rolling back: nothing of the Bundle is written) when
    the Bundle or any entry is invalid; every failing entry is named. The caller
    commits on success. Entries are taken in the order Patient, ServiceRequest,
    Appointment, Task so references resolve whatever order the source used.
    """
    entries = check_bundle(bundle)
    importer = _Importer(session, practice)
    order = {"Patient": 0, "ServiceRequest": 1, "Appointment": 2, "Task": 3}

    def rank(item: tuple[int, Any]) -> int:
        res = item[1].get("resource") if isinstance(item[1], dict) else None
        rtype = res.get("resourceType") if isinstance(res, dict) else None
        return order.get(rtype, 4) if isinstance(rtype, str) else 4

    issues: list[Issue] = []
    with session.no_autoflush:
        for index, entry in sorted(enumerate(entries), key=rank):
            rtype = None
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                rtype = str(entry["resource"].get("resourceType"))[:40]
            try:
                unstorable = find_unstorable(
                    entry.get("resource") if isinstance(entry, dict) else entry
                )
                if unstorable is not None:
                    # PostgreSQL cannot store NUL; refused alike on every database.
                    raise _EntryError(
                        f"{rtype or 'resource'}.{unstorable}: text with a NUL or an unpaired "
                        "surrogate cannot be stored",
                        "value",
                    )
                importer.entry(index, entry)
            except (_EntryError, RecordConflict) as exc:
                code = exc.code if isinstance(exc, _EntryError) else "conflict"
                message = exc.message if isinstance(exc, _EntryError) else str(exc)
                issues.append(Issue("error", code, _where(index, rtype), message))
            session.flush()
    if issues:
        session.rollback()
        issues.sort(key=lambda i: i.expression)
        raise FhirRejected(issues)
    return importer.result
