"""The bulk part of the synthetic world: patients, appointments, referrals, tasks, attempts.

Rows are plain dicts for `insert()` executemany (100k tasks in seconds), built
from one seeded `random.Random`, so a seed always gives the same rows.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

from central_api.seeding import names
from followup_core.enums import (
    AppointmentStatus,
    Channel,
    FocusKind,
    IntakeStatus,
    Priority,
    ReferralStatus,
    TaskStatus,
    WorkflowId,
)
from followup_core.workflows import WORKFLOWS as CATALOG
from followup_core.workflows import OutcomeCode, OutcomeEffect

Row = dict[str, Any]

# Every phone workflow has it (DESIGN); it keeps the task open for a later retry.
RETRY_OUTCOME = "no-answer"

WORKFLOWS = tuple(WorkflowId)

# Relative frequency of each workflow after the first round (which covers all eight).
WORKFLOW_WEIGHTS = {
    WorkflowId.MISSED_CALL_RECOVERY: 14,
    WorkflowId.APPOINTMENT_CONFIRMATION: 24,
    WorkflowId.INTAKE_COMPLETION: 12,
    WorkflowId.REFERRAL_FOLLOW_UP: 12,
    WorkflowId.POST_VISIT_SCHEDULING: 12,
    WorkflowId.PRESCRIPTION_MESSAGE_ROUTING: 10,
    WorkflowId.PRIOR_AUTHORIZATION_STATUS: 8,
    WorkflowId.REACTIVATION: 8,
}

NEXT_ACTIONS = {
    WorkflowId.MISSED_CALL_RECOVERY: "Call back the missed caller",
    WorkflowId.APPOINTMENT_CONFIRMATION: "Call to confirm the upcoming appointment",
    WorkflowId.INTAKE_COMPLETION: "Help the patient finish intake forms",
    WorkflowId.REFERRAL_FOLLOW_UP: "Check the referral was received and scheduled",
    WorkflowId.POST_VISIT_SCHEDULING: "Schedule the recommended follow-up visit",
    WorkflowId.PRESCRIPTION_MESSAGE_ROUTING: "Route the prescription message to the care team",
    WorkflowId.PRIOR_AUTHORIZATION_STATUS: "Update the patient on prior authorization status",
    WorkflowId.REACTIVATION: "Invite the patient back for a visit",
}

PRIORITY_WEIGHTS = (
    (Priority.ROUTINE, 70),
    (Priority.URGENT, 20),
    (Priority.ASAP, 8),
    (Priority.STAT, 2),
)


def new_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _weighted(rng: random.Random, pairs: tuple[tuple[Any, int], ...]) -> Any:
    return rng.choices([p[0] for p in pairs], weights=[p[1] for p in pairs])[0]


@cache
def _hold_outcome(workflow: WorkflowId) -> tuple[str, str | None]:
    """The outcome that puts a task on hold (a message left), else the retry one."""
    wf = CATALOG[workflow]
    for outcome in wf.outcomes:
        if outcome.effect == OutcomeEffect.AWAIT_CALLBACK:
            return outcome.code, outcome.business_status
    return RETRY_OUTCOME, RETRY_OUTCOME


@cache
def _complete_outcome(workflow: WorkflowId) -> OutcomeCode:
    """The workflow's first outcome that completes the task."""
    return next(o for o in CATALOG[workflow].outcomes if o.effect == OutcomeEffect.COMPLETE)


@dataclass
class PracticeWorld:
    """What the bulk generator needs to know about one practice."""

    id: str
    timezone: str
    assistants: list[str]
    scripts: dict[str, str]  # workflow -> script id
    contacts: dict[str, dict[str, Any]]  # route -> contact JSON
    n_patients: int
    n_tasks: int
    patients: list[Row] = field(default_factory=list)


@dataclass
class Records:
    patients: list[Row] = field(default_factory=list)
    appointments: list[Row] = field(default_factory=list)
    referrals: list[Row] = field(default_factory=list)
    tasks: list[Row] = field(default_factory=list)
    attempts: list[Row] = field(default_factory=list)
    escalations: list[Row] = field(default_factory=list)


class Generator:
    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng = rng
        self.now = now
        self.out = Records()
        self._phone_seq = 0

    # --- patients -------------------------------------------------------------

    def patients(self, practice: PracticeWorld) -> None:
        rng = self.rng
        for _ in range(practice.n_patients):
            language, _share, interp = _weighted(
                rng, tuple((entry, entry[1]) for entry in names.LANGUAGES)
            )
            zone = (
                practice.timezone if rng.random() < 0.85 else rng.choice(names.PATIENT_EXTRA_ZONES)
            )
            born = datetime(1938, 1, 1, tzinfo=UTC) + timedelta(days=rng.randrange(0, 365 * 70))
            row = {
                "id": new_uuid(rng),
                "practice_id": practice.id,
                "given_name": rng.choice(names.GIVEN_NAMES),
                "family_name": rng.choice(names.FAMILY_NAMES),
                "date_of_birth": born.date().isoformat(),
                "phone": names.fictional_phone(self._phone_seq),
                "timezone": zone,
                "preferred_language": language,
                "interpreter_needed": rng.randrange(100) < interp,
                "consent": {
                    "phone": rng.random() < 0.95,
                    "voicemail": rng.random() < 0.8,
                    "sms": rng.random() < 0.6,
                    "portal": rng.random() < 0.5,
                    "email": rng.random() < 0.4,
                },
                "intake_status": _weighted(
                    rng,
                    (
                        (IntakeStatus.COMPLETE, 75),
                        (IntakeStatus.PARTIAL, 15),
                        (IntakeStatus.MISSING, 10),
                    ),
                ).value,
                "version": 1,
            }
            self._phone_seq += 1
            practice.patients.append(row)
        self.out.patients.extend(practice.patients)

    # --- focus records --------------------------------------------------------

    def _appointment(self, practice: PracticeWorld, patient: Row, *, past: bool) -> Row:
        rng = self.rng
        days = -rng.randint(2, 20) if past else rng.randint(1, 10)
        start = self.now.replace(hour=13, minute=0) + timedelta(
            days=days, minutes=15 * rng.randrange(0, 32)
        )
        row = {
            "id": new_uuid(rng),
            "practice_id": practice.id,
            "patient_id": patient["id"],
            "start_at": start,
            "provider": rng.choice(names.PROVIDERS),
            "location": "Main clinic" if rng.random() < 0.8 else "Telehealth",
            "visit_type": rng.choice(names.VISIT_TYPES),
            "status": (AppointmentStatus.FULFILLED if past else AppointmentStatus.BOOKED).value,
            "version": 1,
        }
        self.out.appointments.append(row)
        return row

    def _referral(self, practice: PracticeWorld, patient: Row) -> Row:
        rng = self.rng
        specialty, provider = rng.choice(names.SPECIALTIES)
        row = {
            "id": new_uuid(rng),
            "practice_id": practice.id,
            "patient_id": patient["id"],
            "specialty": specialty,
            "referred_at": self.now - timedelta(days=rng.randint(3, 45), hours=rng.randint(0, 8)),
            "status": rng.choice((ReferralStatus.SENT, ReferralStatus.RECEIVED)).value,
            "receiving_provider": provider,
            "version": 1,
        }
        self.out.referrals.append(row)
        return row

    # --- tasks and attempts ---------------------------------------------------

    def tasks(self, practice: PracticeWorld) -> None:
        rng = self.rng
        k = len(practice.assistants)
        workflow_pairs = tuple(WORKFLOW_WEIGHTS.items())
        for i in range(practice.n_tasks):
            owner = practice.assistants[i % k]
            first_round = i < len(WORKFLOWS) * k  # every assistant gets every workflow, open
            workflow = (
                WORKFLOWS[(i // k) % len(WORKFLOWS)]
                if first_round
                else _weighted(rng, workflow_pairs)
            )
            roll = rng.random()
            if first_round or roll < 0.82:
                status = _weighted(
                    rng,
                    (
                        (TaskStatus.READY, 60),
                        (TaskStatus.REQUESTED, 15),
                        (TaskStatus.IN_PROGRESS, 10),
                        (TaskStatus.ON_HOLD, 15),
                    ),
                )
            else:
                status = TaskStatus.COMPLETED if roll < 0.96 else TaskStatus.FAILED
            self._task(practice, i, owner, workflow, status)

    def _task(
        self, practice: PracticeWorld, i: int, owner: str, workflow: WorkflowId, status: TaskStatus
    ) -> None:
        rng = self.rng
        task_id = new_uuid(rng)
        patient: Row | None = rng.choice(practice.patients)
        caller_phone: str | None = None
        focus_kind: str | None = None
        focus_id: str | None = None
        if workflow == WorkflowId.MISSED_CALL_RECOVERY:
            if rng.random() < 0.15:  # an unmatched caller: no patient on file
                patient = None
                caller_phone = f"+12005550{100 + rng.randrange(99)}"
            else:
                assert patient is not None
                caller_phone = patient["phone"]
        elif workflow in (WorkflowId.APPOINTMENT_CONFIRMATION, WorkflowId.INTAKE_COMPLETION):
            assert patient is not None
            focus_kind, focus_id = (
                FocusKind.APPOINTMENT.value,
                self._appointment(practice, patient, past=False)["id"],
            )
            if workflow == WorkflowId.INTAKE_COMPLETION and patient["intake_status"] == "complete":
                patient["intake_status"] = rng.choice(
                    (IntakeStatus.PARTIAL, IntakeStatus.MISSING)
                ).value
        elif workflow == WorkflowId.POST_VISIT_SCHEDULING:
            assert patient is not None
            focus_kind, focus_id = (
                FocusKind.APPOINTMENT.value,
                self._appointment(practice, patient, past=True)["id"],
            )
        elif workflow in (WorkflowId.REFERRAL_FOLLOW_UP, WorkflowId.PRIOR_AUTHORIZATION_STATUS):
            assert patient is not None
            focus_kind, focus_id = FocusKind.REFERRAL.value, self._referral(practice, patient)["id"]

        open_ = status not in (TaskStatus.COMPLETED, TaskStatus.FAILED)
        # Offsets keep "overdue" overdue and "upcoming" upcoming whatever the hour today.
        if open_ and rng.random() < 0.2:
            due = self.now - timedelta(minutes=5 * rng.randint(13 * 12, 72 * 12))
        elif open_:
            due = self.now + timedelta(minutes=5 * rng.randint(12 * 12, 168 * 12))
        else:
            due = self.now - timedelta(minutes=5 * rng.randint(24 * 12, 240 * 12))
        created = due - timedelta(hours=rng.randint(4, 72))

        # Attempts so far, consistent with the status: a message left puts the task
        # on hold, no-answers keep it open for a retry, three of them fail it.
        outcomes: list[str] = []
        business_status: str | None = None
        next_attempt_at: datetime | None = None
        if status == TaskStatus.ON_HOLD:
            code, business_status = _hold_outcome(workflow)
            outcomes = [code]
        elif open_ and rng.random() < 0.3:
            outcomes = [RETRY_OUTCOME] * rng.randint(1, 2)
            business_status = RETRY_OUTCOME
            next_attempt_at = max(due, self.now) + timedelta(hours=rng.randint(1, 24))
        elif status == TaskStatus.FAILED:
            outcomes, business_status = [RETRY_OUTCOME] * 3, "repeated-failed-contact"
        elif status == TaskStatus.COMPLETED:
            done = _complete_outcome(workflow)
            business_status = done.business_status
            outcomes = [RETRY_OUTCOME] * rng.randint(0, 1) + [done.code]
        n_attempts = len(outcomes)

        when = created
        first_attempt_at: datetime | None = None
        for outcome in outcomes:
            when = min(when + timedelta(hours=rng.randint(1, 20)), self.now - timedelta(hours=13))
            reached = outcome != RETRY_OUTCOME and status == TaskStatus.COMPLETED
            promised = reached and "next_step" in _complete_outcome(workflow).requires
            first_attempt_at = first_attempt_at or when
            self.out.attempts.append(
                {
                    "id": new_uuid(rng),
                    "task_id": task_id,
                    "practice_id": practice.id,
                    "assistant_id": owner,
                    "channel": Channel.PHONE.value,
                    "outcome": outcome,
                    "started_at": when,
                    "ended_at": when + timedelta(seconds=rng.randint(20, 400)),
                    "identity_verified": reached,
                    "next_step_action": "Visit booked; reminder to follow" if promised else None,
                    "next_step_due_at": when + timedelta(days=14) if promised else None,
                    "notes": "Outcome documented (seeded)." if reached else "",
                    "script_id": practice.scripts[workflow.value],
                    "script_version": 1,
                    "escalation_id": None,
                    "conflict": False,
                    "recorded_at": when + timedelta(seconds=rng.randint(400, 900)),
                }
            )

        self.out.tasks.append(
            {
                "id": task_id,
                "practice_id": practice.id,
                "workflow": workflow.value,
                "status": status.value,
                "business_status": business_status,
                "priority": _weighted(rng, PRIORITY_WEIGHTS).value,
                "owner_id": owner,
                "patient_id": patient["id"] if patient else None,
                "caller_phone": caller_phone,
                "focus_kind": focus_kind,
                "focus_id": focus_id,
                "due_at": due,
                "attempts": n_attempts,
                "next_attempt_at": next_attempt_at,
                "next_action": NEXT_ACTIONS[workflow] if open_ else None,
                "version": 1 + n_attempts,
                "script_id": practice.scripts[workflow.value],
                "needs_review": False,
                "created_at": created,
                "updated_at": max(created, when),
                "lease_holder_id": None,
                "lease_expires_at": None,
                "first_attempt_at": first_attempt_at,
            }
        )

    # --- escalations ------------------------------------------------------------

    def escalations(self, practice: PracticeWorld, routes: tuple[str, ...]) -> None:
        """A few open escalations so the supervisor's inbox is not empty."""
        rng = self.rng
        candidates = [
            t
            for t in self.out.tasks
            if t["practice_id"] == practice.id and t["patient_id"] and t["status"] == "ready"
        ]
        for route, task in zip(routes, candidates, strict=False):
            contact = practice.contacts[route]
            raised = self.now - timedelta(minutes=rng.randint(20, 600))
            self.out.escalations.append(
                {
                    "id": new_uuid(rng),
                    "practice_id": practice.id,
                    "task_id": task["id"],
                    "patient_id": task["patient_id"],
                    "route": route,
                    "reason": "Seeded example escalation",
                    "status": "open",
                    "contact": contact,
                    "raised_by": task["owner_id"],
                    "raised_at": raised,
                    "ack_due_at": raised + timedelta(minutes=int(contact["ack_target_minutes"])),
                    "acknowledged_by": None,
                    "acknowledged_at": None,
                    "resolved_by": None,
                    "resolved_at": None,
                    "resolution": None,
                    "version": 1,
                }
            )
