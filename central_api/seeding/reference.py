"""The fixed part of the synthetic world: practices and the people who work there.

The practices themselves (hours, holidays, workflows, scripts, contacts, staff)
are the files in `seeding/practices/`, applied like any practice's file; these
specs name them and keep what only the bulk generator needs (who works a queue).
"""

from __future__ import annotations

from dataclasses import dataclass

from followup_core.enums import EscalationRoute, Role

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
