"""ORM rows → the wire schemas of `followup_core.schemas`.

One function per record kind, plus `to_out(kind, row)` for the sync feed. The
`*Out` models are strict, so values that JSON carries as strings (datetimes,
enum members) go through `model_validate` in lax mode from plain Python values.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from central_api import models
from followup_core.enums import ChangeKind
from followup_core.holiday_calendars import practice_holidays
from followup_core.schemas import (
    AppointmentOut,
    AttemptOut,
    EscalationOut,
    Focus,
    NextStep,
    PatientOut,
    PracticeOut,
    ReferralOut,
    ScriptOut,
    TaskOut,
    WireModel,
)


def practice_out(p: models.Practice) -> PracticeOut:
    cfg = p.config or {}
    return PracticeOut.model_validate(
        {
            "id": p.id,
            "name": p.name,
            "timezone": p.timezone,
            "phone": p.phone,
            "is_training": bool(p.is_training),
            "business_hours": cfg.get("business_hours", []),
            "holidays": practice_holidays(cfg, datetime.now(UTC).date()),
            "escalation_contacts": cfg.get("escalation_contacts", []),
            "emergency_instruction": cfg.get("emergency_instruction", ""),
            "red_flag_phrases": cfg.get("red_flag_phrases", []),
            "channels": cfg.get("channels"),
            "voicemail": cfg.get("voicemail"),
        },
        strict=False,
    )


def script_out(s: models.Script) -> ScriptOut:
    body = dict(s.body or {})
    body.update({"id": s.id, "workflow": s.workflow, "version": s.version})
    return ScriptOut.model_validate(body, strict=False)


def patient_out(p: models.Patient) -> PatientOut:
    return PatientOut.model_validate(
        {
            "id": p.id,
            "practice_id": p.practice_id,
            "given_name": p.given_name,
            "family_name": p.family_name,
            "date_of_birth": p.date_of_birth,
            "phone": p.phone,
            "timezone": p.timezone,
            "preferred_language": p.preferred_language,
            "interpreter_needed": bool(p.interpreter_needed),
            "consent": p.consent or {},
            "intake_status": p.intake_status,
        },
        strict=False,
    )


def appointment_out(a: models.Appointment) -> AppointmentOut:
    return AppointmentOut.model_validate(
        {
            "id": a.id,
            "practice_id": a.practice_id,
            "patient_id": a.patient_id,
            "start_at": a.start_at,
            "provider": a.provider,
            "location": a.location,
            "visit_type": a.visit_type,
            "status": a.status,
        },
        strict=False,
    )


def referral_out(r: models.Referral) -> ReferralOut:
    return ReferralOut.model_validate(
        {
            "id": r.id,
            "practice_id": r.practice_id,
            "patient_id": r.patient_id,
            "specialty": r.specialty,
            "referred_at": r.referred_at,
            "status": r.status,
            "receiving_provider": r.receiving_provider,
        },
        strict=False,
    )


def task_out(t: models.Task) -> TaskOut:
    focus = (
        Focus.model_validate({"kind": t.focus_kind, "id": t.focus_id}, strict=False)
        if t.focus_kind and t.focus_id
        else None
    )
    return TaskOut.model_validate(
        {
            "id": t.id,
            "practice_id": t.practice_id,
            "workflow": t.workflow,
            "status": t.status,
            "business_status": t.business_status,
            "priority": t.priority,
            "owner_id": t.owner_id,
            "patient_id": t.patient_id,
            "caller_phone": t.caller_phone,
            "focus": focus,
            "due_at": t.due_at,
            "attempts": t.attempts or 0,
            "next_attempt_at": t.next_attempt_at,
            "next_action": t.next_action,
            "version": t.version or 1,
            "script_id": t.script_id,
            "created_at": t.created_at,
            "updated_at": t.updated_at,
            "needs_review": bool(t.needs_review),
        },
        strict=False,
    )


def attempt_out(a: models.Attempt) -> AttemptOut:
    next_step = (
        NextStep.model_validate(
            {"action": a.next_step_action, "due_at": a.next_step_due_at}, strict=False
        )
        if a.next_step_action and a.next_step_due_at
        else None
    )
    return AttemptOut.model_validate(
        {
            "id": a.id,
            "task_id": a.task_id,
            "assistant_id": a.assistant_id,
            "channel": a.channel,
            "outcome": a.outcome,
            "started_at": a.started_at,
            "ended_at": a.ended_at,
            "identity_verified": bool(a.identity_verified),
            "next_step": next_step,
            "notes": a.notes or "",
            "script_id": a.script_id,
            "script_version": a.script_version,
            "escalation_id": a.escalation_id,
            "conflict": bool(a.conflict),
            "recorded_at": a.recorded_at,
        },
        strict=False,
    )


def escalation_out(e: models.Escalation) -> EscalationOut:
    return EscalationOut.model_validate(
        {
            "id": e.id,
            "practice_id": e.practice_id,
            "task_id": e.task_id,
            "patient_id": e.patient_id,
            "route": e.route,
            "reason": e.reason or "",
            "status": e.status,
            "contact": e.contact,
            "raised_by": e.raised_by,
            "raised_at": e.raised_at,
            "ack_due_at": e.ack_due_at,
            "acknowledged_by": e.acknowledged_by,
            "acknowledged_at": e.acknowledged_at,
            "resolved_by": e.resolved_by,
            "resolved_at": e.resolved_at,
            "resolution": e.resolution,
        },
        strict=False,
    )


# Which ORM class holds each feed kind, and how to turn a row of it into its *Out.
MODELS: dict[ChangeKind, type[models.Base]] = {
    ChangeKind.PRACTICE: models.Practice,
    ChangeKind.SCRIPT: models.Script,
    ChangeKind.PATIENT: models.Patient,
    ChangeKind.APPOINTMENT: models.Appointment,
    ChangeKind.REFERRAL: models.Referral,
    ChangeKind.TASK: models.Task,
    ChangeKind.ATTEMPT: models.Attempt,
    ChangeKind.ESCALATION: models.Escalation,
}

SERIALIZERS: dict[ChangeKind, Callable[[Any], WireModel]] = {
    ChangeKind.PRACTICE: practice_out,
    ChangeKind.SCRIPT: script_out,
    ChangeKind.PATIENT: patient_out,
    ChangeKind.APPOINTMENT: appointment_out,
    ChangeKind.REFERRAL: referral_out,
    ChangeKind.TASK: task_out,
    ChangeKind.ATTEMPT: attempt_out,
    ChangeKind.ESCALATION: escalation_out,
}


def to_out(kind: ChangeKind, row: Any) -> WireModel:
    return SERIALIZERS[kind](row)


def to_json(kind: ChangeKind, row: Any) -> dict[str, Any]:
    """The record as the JSON object the feed carries in `data`."""
    return to_out(kind, row).model_dump(mode="json")
