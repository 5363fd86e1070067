"""Wire schemas of the central API, contract v1, shared by server and client.

Every model is strict and closed: unknown fields are rejected and scalars are
never coerced ("3" is not 3, 1 is not true). Values that JSON can only carry as
strings (datetimes, UUIDs, enum members) are parsed from their string form; that
is what `Lax` marks. Datetimes on the wire are timezone-aware and stored in UTC.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from followup_core.enums import (
    AgentState,
    AppointmentStatus,
    ChangeKind,
    ChangeOp,
    Channel,
    EscalationRoute,
    EscalationStatus,
    FocusKind,
    IntakeStatus,
    Priority,
    ReferralStatus,
    Role,
    TaskStatus,
    WorkflowId,
)

Lax = Field(strict=False)
Timestamp = Annotated[AwareDatetime, Lax]
Uuid = Annotated[uuid.UUID, Lax]
Id = Annotated[str, Field(min_length=1, max_length=64)]
ShortText = Annotated[str, Field(max_length=200)]
Notes = Annotated[str, Field(max_length=4000)]

MAX_BODY_BYTES = 1024 * 1024


class WireModel(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


# --- errors -----------------------------------------------------------------


class ErrorDetail(WireModel):
    code: str
    message: str


class ErrorBody(WireModel):
    error: ErrorDetail


# --- auth -------------------------------------------------------------------


class LoginRequest(WireModel):
    username: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=1, max_length=256)]


class UserOut(WireModel):
    id: Id
    username: str
    role: Annotated[Role, Lax]
    display_name: str
    practice_ids: list[Id] = []


class LoginResponse(WireModel):
    token: str
    expires_at: Timestamp
    user: UserOut


class Health(WireModel):
    status: str


# --- reference data (arrive through the sync feed) ---------------------------


class Consent(WireModel):
    """Per-channel contact consent recorded for a patient."""

    phone: bool = False
    voicemail: bool = False
    sms: bool = False
    portal: bool = False
    email: bool = False

    def allows(self, channel: Channel) -> bool:
        return bool(getattr(self, channel.value.replace("-", "_")))


class BusinessHours(WireModel):
    """Opening hours per ISO weekday (1 = Monday); a missing day is closed."""

    weekday: Annotated[int, Field(ge=1, le=7)]
    opens: Annotated[str, Field(pattern=r"^\d{2}:\d{2}$")]
    closes: Annotated[str, Field(pattern=r"^\d{2}:\d{2}$")]


class EscalationContact(WireModel):
    route: Annotated[EscalationRoute, Lax]
    name: str
    role: str
    reach: str  # how to reach them: extension, pager, queue name
    ack_target_minutes: Annotated[int, Field(gt=0)]


class PracticeOut(WireModel):
    id: Id
    name: str
    timezone: str
    phone: str
    is_training: bool = False
    business_hours: list[BusinessHours]
    holidays: list[str] = []  # ISO dates in the practice's zone
    escalation_contacts: list[EscalationContact]
    emergency_instruction: str
    red_flag_phrases: list[str] = []


class ScriptStep(WireModel):
    key: str  # greet, verify-identity, reason, details, next-step, close
    title: str
    text: str  # may hold {placeholders}
    branches: list[ScriptBranch] = []


class ScriptBranch(WireModel):
    label: str
    text: str


class ScriptOut(WireModel):
    id: Id
    workflow: Annotated[WorkflowId, Lax]
    version: Annotated[int, Field(ge=1)]
    title: str
    approved_by: str
    approved_at: Timestamp
    steps: list[ScriptStep]
    voicemail: str  # voicemail-safe variant: practice, callback number, generic reason only
    do_not_say: list[str] = []


class PatientOut(WireModel):
    id: Id
    practice_id: Id
    given_name: str
    family_name: str
    date_of_birth: str  # ISO date; shown only after identity is verified
    phone: str
    timezone: str
    preferred_language: str
    interpreter_needed: bool
    consent: Consent
    intake_status: Annotated[IntakeStatus, Lax]


class AppointmentOut(WireModel):
    id: Id
    practice_id: Id
    patient_id: Id
    start_at: Timestamp
    provider: str
    location: str
    visit_type: str
    status: Annotated[AppointmentStatus, Lax]


class ReferralOut(WireModel):
    id: Id
    practice_id: Id
    patient_id: Id
    specialty: str
    referred_at: Timestamp
    status: Annotated[ReferralStatus, Lax]
    receiving_provider: str


# --- tasks, attempts, escalations -------------------------------------------


class Focus(WireModel):
    kind: Annotated[FocusKind, Lax]
    id: Id


class TaskOut(WireModel):
    id: Id
    practice_id: Id
    workflow: Annotated[WorkflowId, Lax]
    status: Annotated[TaskStatus, Lax]
    business_status: str | None
    priority: Annotated[Priority, Lax]
    owner_id: Id | None
    patient_id: Id | None  # None for an unmatched missed caller
    caller_phone: str | None = None
    focus: Focus | None
    due_at: Timestamp
    attempts: Annotated[int, Field(ge=0)]
    next_attempt_at: Timestamp | None
    next_action: str | None
    version: Annotated[int, Field(ge=1)]
    script_id: Id | None
    created_at: Timestamp
    updated_at: Timestamp
    needs_review: bool = False  # an attempt arrived after the task had moved on


class NextStep(WireModel):
    action: Annotated[str, Field(min_length=1, max_length=200)]
    due_at: Timestamp


class EscalationRequest(WireModel):
    """An escalation raised with an attempt, or on its own."""

    route: Annotated[EscalationRoute, Lax]
    reason: Notes = ""


class AttemptIn(WireModel):
    id: Uuid
    task_id: Id
    task_version: Annotated[int, Field(ge=1)]
    channel: Annotated[Channel, Lax]
    outcome: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
    started_at: Timestamp
    ended_at: Timestamp
    identity_verified: bool
    next_step: NextStep | None
    notes: Notes
    script_id: Id | None
    script_version: Annotated[int, Field(ge=1)] | None
    escalation: EscalationRequest | None

    @field_validator("ended_at")
    @classmethod
    def _ends_after_start(cls, ended_at: datetime, info: Any) -> datetime:
        started = info.data.get("started_at")
        if started is not None and ended_at < started:
            raise ValueError("ended_at is before started_at")
        return ended_at


class AttemptOut(WireModel):
    id: Id
    task_id: Id
    assistant_id: Id
    channel: Annotated[Channel, Lax]
    outcome: str
    started_at: Timestamp
    ended_at: Timestamp
    identity_verified: bool
    next_step: NextStep | None
    notes: str
    script_id: Id | None
    script_version: int | None
    escalation_id: Id | None
    conflict: bool  # the task had moved past task_version when this arrived
    recorded_at: Timestamp


class AttemptCreated(WireModel):
    attempt: AttemptOut
    task: TaskOut
    conflict: bool


class EscalationIn(WireModel):
    id: Uuid
    task_id: Id
    route: Annotated[EscalationRoute, Lax]
    reason: Notes = ""


class EscalationOut(WireModel):
    id: Id
    practice_id: Id
    task_id: Id
    patient_id: Id | None
    route: Annotated[EscalationRoute, Lax]
    reason: str
    status: Annotated[EscalationStatus, Lax]
    contact: EscalationContact
    raised_by: Id
    raised_at: Timestamp
    ack_due_at: Timestamp
    acknowledged_by: Id | None = None
    acknowledged_at: Timestamp | None = None
    resolved_by: Id | None = None
    resolved_at: Timestamp | None = None
    resolution: str | None = None


class EscalationResolve(WireModel):
    resolution: Annotated[str, Field(min_length=1, max_length=2000)]


class TaskDetail(WireModel):
    task: TaskOut
    attempts: list[AttemptOut]


class Lease(WireModel):
    task_id: Id
    holder_id: Id
    expires_at: Timestamp


class PresenceIn(WireModel):
    state: Annotated[AgentState, Lax]


class PresenceOut(WireModel):
    user_id: Id
    state: Annotated[AgentState, Lax]
    since: Timestamp


class MissedCallIn(WireModel):
    caller_phone: Annotated[str, Field(min_length=3, max_length=32)]
    called_at: Timestamp


class MissedCallOut(WireModel):
    """What a reported call became. `task_id` is None when there is no one to call back
    (a withheld caller id, a number that cannot exist) or the call was not missed
    (a provider's `completed` status); `call_id` is the recorded call (None if not
    recorded); `caller` is matched, unmatched, withheld or invalid."""

    task_id: Id | None = None
    call_id: Id | None = None
    caller: Literal["matched", "unmatched", "withheld", "invalid"] | None = None


# --- sync feed and audit -----------------------------------------------------


class Change(WireModel):
    kind: Annotated[ChangeKind, Lax]
    id: Id
    op: Annotated[ChangeOp, Lax]
    version: int
    data: dict[str, Any] | None  # the record's *Out schema as JSON; None on remove


class SyncPage(WireModel):
    cursor: str
    has_more: bool
    changes: list[Change]


class AuditRow(WireModel):
    seq: int
    at: Timestamp
    actor_id: Id | None
    action: str
    resource: str  # "task:<id>", never a value from the record
    client: str
    hash: str


class AuditPage(WireModel):
    cursor: str
    has_more: bool
    rows: list[AuditRow]


ScriptStep.model_rebuild()

# Which *Out schema a feed change of each kind carries in `data`.
CHANGE_SCHEMAS: dict[ChangeKind, type[WireModel]] = {
    ChangeKind.PRACTICE: PracticeOut,
    ChangeKind.SCRIPT: ScriptOut,
    ChangeKind.PATIENT: PatientOut,
    ChangeKind.APPOINTMENT: AppointmentOut,
    ChangeKind.REFERRAL: ReferralOut,
    ChangeKind.TASK: TaskOut,
    ChangeKind.ATTEMPT: AttemptOut,
    ChangeKind.ESCALATION: EscalationOut,
}

__all__ = [name for name in dir() if name[0].isupper()]


# --- practice set-up ----------------------------------------------------------


class SetupRequest(WireModel):
    """`POST /v1/auth/setup`: a new staff member chooses a password with their one-time code."""

    username: Annotated[str, Field(min_length=1, max_length=64)]
    code: Annotated[str, Field(min_length=1, max_length=64)]
    password: Annotated[str, Field(min_length=8, max_length=256)]
