"""A small, deterministic synthetic practice as sync pages (no PHI: invented names).

Built straight from the wire schemas and applied with `LocalCache.apply_page`,
so the workspace tests run against a real encrypted cache without a server.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from followup_core.enums import EscalationRoute, WorkflowId
from followup_core.schemas import SyncPage
from followup_core.script_templates import approved_script

# Friday 27 Nov 2026, 10:00 in New York: inside business hours.
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
PRACTICE_ID = "prac-1"
USER_ID = "user-1"
TZ = "America/New_York"
EMERGENCY = "Tell the caller to hang up and call 911 now (test instruction)."
RED_FLAGS = ["chest pain", "trouble breathing", "fainted"]

ROUTE_CONTACTS = {
    EscalationRoute.CLINICAL: ("Nora Triage", "Triage nurse", "ext. 210", 30),
    EscalationRoute.URGENT_SYMPTOM: ("Omar Oncall", "On-call nurse", "pager 4410", 5),
    EscalationRoute.COMPLAINT: ("Paula Manager", "Practice manager", "ext. 201", 240),
    EscalationRoute.BILLING: ("Ben Billing", "Billing lead", "billing queue", 480),
    EscalationRoute.PRIVACY: ("Priya Privacy", "Privacy officer", "ext. 205", 60),
    EscalationRoute.ACCESS_BARRIER: ("Nate Navigator", "Patient navigator", "ext. 230", 120),
    EscalationRoute.LANGUAGE: ("Lina Language", "Language services", "ext. 232", 60),
    EscalationRoute.REPEATED_FAILED_CONTACT: (
        "Cora Coordinator",
        "Care coordinator",
        "ext. 220",
        240,
    ),
    EscalationRoute.SCHEDULING_EXCEPTION: ("Fred Frontdesk", "Front desk lead", "ext. 200", 120),
}


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def practice() -> dict[str, Any]:
    return {
        "id": PRACTICE_ID,
        "name": "Maple Street Family Practice",
        "timezone": TZ,
        "phone": "555-0100",
        "is_training": False,
        "business_hours": [
            {"weekday": d, "opens": "08:00", "closes": "17:00"} for d in range(1, 6)
        ],
        "holidays": [],
        "escalation_contacts": [
            {"route": r.value, "name": n, "role": role, "reach": reach, "ack_target_minutes": m}
            for r, (n, role, reach, m) in ROUTE_CONTACTS.items()
        ],
        "emergency_instruction": EMERGENCY,
        "red_flag_phrases": RED_FLAGS,
    }


def script(workflow: WorkflowId) -> dict[str, Any]:
    return {"id": f"script-{workflow.value}", "workflow": workflow.value, "version": 1}
    # body merged below


def script_record(workflow: WorkflowId) -> dict[str, Any]:
    return {**script(workflow), **approved_script(workflow)}


PATIENTS = [
    # id, given, family, phone, language, interpreter, consent (phone, voicemail, sms, portal, email)
    ("pat-1", "Avery", "Sample", "555-0101", "English", False, (1, 1, 1, 1, 0)),
    ("pat-2", "Blake", "Example", "555-0102", "Spanish", True, (1, 0, 1, 0, 0)),
    ("pat-3", "Casey", "Fixture", "555-0103", "English", False, (1, 1, 0, 1, 1)),
    ("pat-4", "Drew", "Mockton", "555-0104", "English", False, (1, 1, 1, 1, 1)),
    ("pat-5", "Emery", "Testwell", "555-0105", "Vietnamese", True, (1, 1, 0, 0, 0)),
]


def patient(row: tuple[Any, ...]) -> dict[str, Any]:
    pid, given, family, phone, language, interpreter, consent = row
    return {
        "id": pid,
        "practice_id": PRACTICE_ID,
        "given_name": given,
        "family_name": family,
        "date_of_birth": "1980-04-0" + pid[-1],
        "phone": phone,
        "timezone": "America/Chicago",
        "preferred_language": language,
        "interpreter_needed": interpreter,
        "consent": dict(
            zip(("phone", "voicemail", "sms", "portal", "email"), map(bool, consent), strict=True)
        ),
        "intake_status": "partial",
    }


def appointment(aid: str, pid: str, start: datetime) -> dict[str, Any]:
    return {
        "id": aid,
        "practice_id": PRACTICE_ID,
        "patient_id": pid,
        "start_at": iso(start),
        "provider": "Dr. Rivera",
        "location": "Maple Street, room 2",
        "visit_type": "Annual wellness visit",
        "status": "booked",
    }


def referral(rid: str, pid: str) -> dict[str, Any]:
    return {
        "id": rid,
        "practice_id": PRACTICE_ID,
        "patient_id": pid,
        "specialty": "Cardiology",
        "referred_at": iso(NOW - timedelta(days=9)),
        "status": "sent",
        "receiving_provider": "Lakeside Heart Clinic",
    }


# task id, workflow, priority, patient, focus, due offset, attempts, caller phone
TASKS: list[
    tuple[str, WorkflowId, str, str | None, tuple[str, str] | None, timedelta, int, str | None]
] = [
    (
        "task-1",
        WorkflowId.APPOINTMENT_CONFIRMATION,
        "asap",
        "pat-1",
        ("appointment", "appt-1"),
        timedelta(minutes=45),
        0,
        None,
    ),
    (
        "task-2",
        WorkflowId.APPOINTMENT_CONFIRMATION,
        "urgent",
        "pat-2",
        ("appointment", "appt-2"),
        timedelta(minutes=-30),
        1,
        None,
    ),
    (
        "task-3",
        WorkflowId.MISSED_CALL_RECOVERY,
        "urgent",
        "pat-3",
        None,
        timedelta(hours=2),
        0,
        "555-0103",
    ),
    (
        "task-4",
        WorkflowId.REFERRAL_FOLLOW_UP,
        "routine",
        "pat-4",
        ("referral", "ref-1"),
        timedelta(days=1),
        1,
        None,
    ),
    (
        "task-5",
        WorkflowId.INTAKE_COMPLETION,
        "routine",
        "pat-5",
        ("appointment", "appt-3"),
        timedelta(days=2),
        0,
        None,
    ),
    (
        "task-6",
        WorkflowId.MISSED_CALL_RECOVERY,
        "routine",
        None,
        None,
        timedelta(days=3),
        0,
        "555-0199",
    ),
]


def task(row: tuple[Any, ...], version: int = 1) -> dict[str, Any]:
    tid, workflow, priority, pid, focus, due, attempts, caller = row
    return {
        "id": tid,
        "practice_id": PRACTICE_ID,
        "workflow": workflow.value,
        "status": "ready",
        "business_status": None,
        "priority": priority,
        "owner_id": USER_ID,
        "patient_id": pid,
        "caller_phone": caller,
        "focus": {"kind": focus[0], "id": focus[1]} if focus else None,
        "due_at": iso(NOW + due),
        "attempts": attempts,
        "next_attempt_at": iso(NOW + timedelta(hours=1)) if attempts else None,
        "next_action": None,
        "version": version,
        "script_id": f"script-{workflow.value}",
        "created_at": iso(NOW - timedelta(days=1)),
        "updated_at": iso(NOW - timedelta(days=1)),
        "needs_review": False,
    }


def change(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": kind,
        "id": data["id"],
        "op": "upsert",
        "version": data.get("version", 1),
        "data": data,
    }


def page() -> SyncPage:
    changes = [change("practice", practice())]
    changes += [change("script", script_record(w)) for w in WorkflowId]
    changes += [change("patient", patient(p)) for p in PATIENTS]
    changes += [
        change("appointment", appointment("appt-1", "pat-1", NOW + timedelta(days=2, hours=1))),
        change("appointment", appointment("appt-2", "pat-2", NOW + timedelta(days=1, hours=3))),
        change("appointment", appointment("appt-3", "pat-5", NOW + timedelta(days=4))),
        change("referral", referral("ref-1", "pat-4")),
    ]
    changes += [change("task", task(t)) for t in TASKS]
    body = {"cursor": "c-1", "has_more": False, "changes": changes}
    return SyncPage.model_validate_json(json.dumps(body))


def bulk_page(count: int, start: int = 0) -> SyncPage:
    """`count` extra confirmation tasks on patient 1, for the large-queue tests."""
    changes = []
    for n in range(start, start + count):
        row = (
            f"bulk-{n:06d}",
            WorkflowId.APPOINTMENT_CONFIRMATION,
            "routine",
            "pat-1",
            ("appointment", "appt-1"),
            timedelta(days=3, minutes=n),
            0,
            None,
        )
        changes.append(change("task", task(row)))
    body = {"cursor": f"c-bulk-{start}", "has_more": False, "changes": changes}
    return SyncPage.model_validate_json(json.dumps(body))


# Names that are wider or narrower on screen than their length: CJK (two cells a
# character), an emoji, and one longer than any column.
ODD_NAMES = [
    ("pat-3", "秀英", "王"),
    ("pat-4", "Drew 🙂", "Mockton"),
    ("pat-5", "Emery Alexandra", "Testwell-Montgomery-Wolfeschlegelstein"),
]


def odd_names_page() -> SyncPage:
    """Patients 3-5 renamed (version 2) to ODD_NAMES, for the layout snapshots."""
    rows = {p[0]: p for p in PATIENTS}
    changes = []
    for pid, given, family in ODD_NAMES:
        record = patient(rows[pid])
        record.update(given_name=given, family_name=family)
        changes.append({**change("patient", record), "version": 2})
    body = {"cursor": "c-2", "has_more": False, "changes": changes}
    return SyncPage.model_validate_json(json.dumps(body))
