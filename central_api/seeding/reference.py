"""The fixed part of the synthetic world: practices, staff and approved scripts.

Everything here is the same whatever `--size` is: two real practices in
different time zones and one training practice, each with its hours, holidays,
an escalation contact for every route, the emergency instruction and red-flag
phrases; and the people who work there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from followup_core.enums import EscalationRoute, Role, WorkflowId
from followup_core.escalation import DEFAULT_RED_FLAG_PHRASES
from followup_core.script_templates import approved_script

EMERGENCY_INSTRUCTION = (
    "If the caller describes chest pain, trouble breathing, stroke signs, severe bleeding "
    "or thoughts of self-harm: tell them to hang up and call 911 now (or go to the nearest "
    "emergency room), stay on the line only if they ask, then raise an urgent-symptom "
    "escalation. Do not give medical advice."
)


# Who takes each route: (role title, how to reach, acknowledgement target in minutes).
ROUTE_OWNERS: dict[EscalationRoute, tuple[str, str, int]] = {
    EscalationRoute.CLINICAL: ("Triage nurse", "ext. 210 / clinical queue", 30),
    EscalationRoute.URGENT_SYMPTOM: ("On-call nurse", "pager 4410", 5),
    EscalationRoute.COMPLAINT: ("Practice manager", "ext. 201", 240),
    EscalationRoute.BILLING: ("Billing lead", "billing queue", 480),
    EscalationRoute.PRIVACY: ("Privacy officer", "ext. 205 / privacy queue", 60),
    EscalationRoute.ACCESS_BARRIER: ("Patient navigator", "ext. 230", 120),
    EscalationRoute.LANGUAGE: ("Language services coordinator", "ext. 232", 60),
    EscalationRoute.REPEATED_FAILED_CONTACT: ("Care coordinator", "ext. 220", 240),
    EscalationRoute.SCHEDULING_EXCEPTION: ("Front desk lead", "ext. 200", 120),
}


@dataclass(frozen=True)
class PracticeSpec:
    key: str
    name: str
    timezone: str
    area_code: int
    is_training: bool
    hours: tuple[tuple[int, str, str], ...]
    contacts: tuple[str, ...]  # one named person per route, in ROUTE_OWNERS order
    director: str


PRACTICES: tuple[PracticeSpec, ...] = (
    PracticeSpec(
        key="hudson",
        name="Hudson Valley Family Medicine",
        timezone="America/New_York",
        area_code=212,
        is_training=False,
        hours=(*tuple((d, "08:00", "17:00") for d in range(1, 6)), (6, "09:00", "12:00")),
        contacts=(
            "Marisol Kent, RN",
            "Devon Achebe, RN",
            "Lorraine Whitcombe",
            "Tobias Renner",
            "Gwen Halloran",
            "Felipe Ordonez",
            "Mei-Lin Sato",
            "Harriet Boone",
            "Rosa Delgado",
        ),
        director="Dr. Rowan Ellery, Medical Director",
    ),
    PracticeSpec(
        key="frontrange",
        name="Front Range Internal Medicine",
        timezone="America/Denver",
        area_code=303,
        is_training=False,
        hours=tuple((d, "07:30", "16:30") for d in range(1, 6)),
        contacts=(
            "Jasper Quill, RN",
            "Anika Brandvold, RN",
            "Colette Ambrose",
            "Wendell Park",
            "Ingrid Solberg",
            "Ramon Echeverria",
            "Leila Haddad",
            "Augustin Frey",
            "Tamsin Cole",
        ),
        director="Dr. Imani Castellano, Medical Director",
    ),
    PracticeSpec(
        key="training",
        name="Training Practice (synthetic)",
        timezone="America/Chicago",
        area_code=312,
        is_training=True,
        hours=tuple((d, "08:00", "17:00") for d in range(1, 6)),
        contacts=(
            "Trainer Nurse Avery",
            "Trainer On-call Blake",
            "Trainer Manager Casey",
            "Trainer Billing Drew",
            "Trainer Privacy Emery",
            "Trainer Navigator Frankie",
            "Trainer Language Gale",
            "Trainer Coordinator Hollis",
            "Trainer Front Desk Ira",
        ),
        director="Training Lead Morgan Vale",
    ),
)


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    offset = (weekday - first.weekday()) % 7
    return first + timedelta(days=offset + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    nxt = date(year + (month == 12), month % 12 + 1, 1)
    last = nxt - timedelta(days=1)
    return last - timedelta(days=(last.weekday() - weekday) % 7)


def holidays(today: date) -> list[str]:
    """US federal-style closures for this year and next, as ISO dates."""
    days: list[date] = []
    for year in (today.year, today.year + 1):
        days += [
            date(year, 1, 1),
            _last_weekday(year, 5, 0),  # Memorial Day
            date(year, 7, 4),
            _nth_weekday(year, 9, 0, 1),  # Labor Day
            _nth_weekday(year, 11, 3, 4),  # Thanksgiving
            _nth_weekday(year, 11, 3, 4) + timedelta(days=1),
            date(year, 12, 25),
        ]
    return [d.isoformat() for d in sorted(days)]


def practice_config(spec: PracticeSpec, today: date) -> dict[str, Any]:
    """The JSON stored in `Practice.config` (read back by `serialize.practice_out`)."""
    contacts = [
        {
            "route": route.value,
            "name": person,
            "role": role,
            "reach": reach,
            "ack_target_minutes": minutes,
        }
        for (route, (role, reach, minutes)), person in zip(
            ROUTE_OWNERS.items(), spec.contacts, strict=True
        )
    ]
    return {
        "business_hours": [{"weekday": d, "opens": o, "closes": c} for d, o, c in spec.hours],
        "holidays": holidays(today),
        "escalation_contacts": contacts,
        "emergency_instruction": EMERGENCY_INSTRUCTION,
        "red_flag_phrases": list(DEFAULT_RED_FLAG_PHRASES),
    }


@dataclass(frozen=True)
class StaffSpec:
    username: str
    display_name: str
    role: Role
    practices: tuple[str, ...]  # PracticeSpec keys
    works_queue: bool = False  # gets tasks assigned


STAFF: tuple[StaffSpec, ...] = (
    # The demo assistant first: `assistant-tui demo` signs in as `demo`.
    StaffSpec("demo", "Demo Assistant", Role.ASSISTANT, ("hudson",), True),
    StaffSpec("ava.lindqvist", "Ava Lindqvist", Role.ASSISTANT, ("hudson",), True),
    StaffSpec("ben.okafor", "Ben Okafor", Role.ASSISTANT, ("hudson",), True),
    StaffSpec("cora.vasquez", "Cora Vasquez", Role.ASSISTANT, ("hudson",), True),
    StaffSpec("dev.nakamura", "Dev Nakamura", Role.ASSISTANT, ("frontrange",), True),
    StaffSpec("eli.marchetti", "Eli Marchetti", Role.ASSISTANT, ("frontrange",), True),
    StaffSpec("faye.osei", "Faye Osei", Role.ASSISTANT, ("frontrange",), True),
    StaffSpec("gus.pemberton", "Gus Pemberton", Role.ASSISTANT, ("frontrange",), True),
    StaffSpec("trainee", "Tess Trainee", Role.ASSISTANT, ("training",), True),
    StaffSpec("trainee2", "Theo Trainee", Role.ASSISTANT, ("training",), True),
    StaffSpec("supervisor", "Sam Supervisor", Role.SUPERVISOR, ("hudson", "frontrange")),
    StaffSpec("supervisor.fr", "Sky Supervisor", Role.SUPERVISOR, ("frontrange",)),
    StaffSpec("trainer", "Terry Trainer", Role.TRAINER, ("training",)),
    StaffSpec("admin", "Ada Admin", Role.ADMIN, ("hudson", "frontrange", "training")),
    StaffSpec("manager", "Mara Manager", Role.MANAGER, ("hudson", "frontrange")),
)


def approved_script_body(workflow: str, *, approved_by: str) -> dict[str, Any]:
    """`Script.body` for a workflow: A's approved template, signed off by the practice."""
    body = dict(approved_script(WorkflowId(workflow)))
    body["approved_by"] = approved_by
    return body
