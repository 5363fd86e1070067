"""Wire schemas of the central API, contract v1, shared by server and client.

Every model is strict and closed: unknown fields are rejected and scalars are
never coerced ("3" is not 3, 1 is not true). Values that JSON can only carry as
strings (datetimes, UUIDs, enum members) are parsed from their string form; that
is what `Lax` marks. Datetimes on the wire are timezone-aware and stored in UTC.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

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

# --- the shared value types: one rule per kind of fault ----------------------
#
# Dates. The product schedules in business hours (followup_core.business_time),
# which walks day by day from a date and must be able to go forward and back by
# weeks without leaving what `datetime` can hold. Years 1900-2200 cover every
# birth date, appointment and callback a practice has, with room; anything
# outside is a client bug and is refused (422 naming the field), never stored.
# The year is judged as written (in the sender's offset), so the JSON Schema
# pattern below states the rule exactly.
EARLIEST_YEAR = 1900
LATEST_YEAR = 2200
# RFC 3339 date-time (JSON Schema `format: date-time`): a date, "T", a time with
# seconds, optional fraction, and a zone (Z or +hh:mm). Numbers and digit strings
# (which pydantic's lax mode would read as Unix time) are refused.
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})")


def _date_time_string(value: Any) -> Any:
    """Admit RFC 3339 strings (and datetimes built in Python); refuse everything else."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _RFC3339.fullmatch(value):
        raise ValueError("must be an RFC 3339 date-time string such as 2026-11-27T15:02:11Z")
    return value


def is_schedulable(value: date) -> bool:
    """True when `value` (a date or datetime, its year as written) is in 1900-2200."""
    return EARLIEST_YEAR <= value.year <= LATEST_YEAR


def _schedulable(value: datetime) -> datetime:
    if not is_schedulable(value):
        raise ValueError(SCHEDULABLE_MESSAGE)
    return value


SCHEDULABLE_MESSAGE = f"must be a date between {EARLIEST_YEAR} and {LATEST_YEAR}"


Timestamp = Annotated[
    AwareDatetime,
    BeforeValidator(_date_time_string),
    AfterValidator(_schedulable),
    Lax,
]
"""An aware datetime sent as an RFC 3339 string, year 1900-2200 (422 naming the field)."""

CLOCK_SKEW_ALLOWANCE = timedelta(minutes=5)
"""How far ahead of the server's clock a reported past moment from a phone system (a
missed call's `called_at`, a provider's callback timestamp) may be: their clocks are
kept by NTP and drift a little; anything later has not happened (422). Attempts,
timed by a workstation, get WORKSTATION_CLOCK_ALLOWANCE instead."""

FUTURE_MESSAGE = "is in the future (more than 5 minutes ahead of the server's clock)"


def not_in_future(value: datetime) -> datetime:
    """Refuse a moment more than CLOCK_SKEW_ALLOWANCE after the server's now (UTC).

    Raises ValueError (a 422 naming the field on the wire) otherwise; returns `value`.
    """
    if value > datetime.now(UTC) + CLOCK_SKEW_ALLOWANCE:
        raise ValueError(FUTURE_MESSAGE)
    return value


PastTimestamp = Annotated[Timestamp, AfterValidator(not_in_future)]
"""A Timestamp for something that has already happened: at most CLOCK_SKEW_ALLOWANCE
ahead of the server's clock (422 naming the field)."""

WORKSTATION_CLOCK_ALLOWANCE = timedelta(hours=24)
"""How far ahead of the server's clock an attempt's `started_at`/`ended_at` may be.
They come from the assistant's workstation, whose clock (or time zone setting) may be
hours off; refusing them would send documented calls to "needs attention" for a
clock nobody at the desk can fix. A day still refuses times that cannot be right
(a year typed wrong, 2199), which would distort callback time and recovery."""

WORKSTATION_FUTURE_MESSAGE = "is in the future (more than a day ahead of the server's clock)"


def not_a_day_ahead(value: datetime) -> datetime:
    """Refuse a moment more than WORKSTATION_CLOCK_ALLOWANCE after the server's now.

    Raises ValueError (a 422 naming the field on the wire) otherwise; returns `value`.
    """
    if value > datetime.now(UTC) + WORKSTATION_CLOCK_ALLOWANCE:
        raise ValueError(WORKSTATION_FUTURE_MESSAGE)
    return value


WorkstationTimestamp = Annotated[Timestamp, AfterValidator(not_a_day_ahead)]
"""A Timestamp recorded by a workstation's clock: at most a day ahead of the server's
(422 naming the field)."""

# Integers. Every integer stored in a column is an int4 on PostgreSQL (SQLAlchemy
# `Integer`); one beyond it is refused at the edge (422) rather than overflowing
# in the database (a 500 on PostgreSQL, silently fine on SQLite).
INT32_MAX = 2**31 - 1
Int32 = Annotated[int, Field(ge=-(2**31), le=INT32_MAX)]
Count = Annotated[int, Field(ge=0, le=INT32_MAX)]
Version = Annotated[int, Field(ge=1, le=INT32_MAX)]

# Text. PostgreSQL cannot store NUL in text, and no database can store a lone
# UTF-16 surrogate as UTF-8; both are refused the same way on every database
# (422 naming the field). Other control characters are stored as sent.
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
STORABLE_PATTERN = "^[^\\x00]*$"


def _storable(value: str) -> str:
    if _UNSTORABLE.search(value):
        raise ValueError("contains a NUL or an unpaired surrogate, which cannot be stored")
    return value


def find_unstorable(value: Any, path: str = "") -> str | None:
    """The path (`a.b[2].c`) of the first string in a JSON value, keys included, that
    holds a NUL or an unpaired surrogate; None when every string can be stored."""
    if isinstance(value, str):
        return path or "value" if _UNSTORABLE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _UNSTORABLE.search(key):
                return path or "value"
            found = find_unstorable(item, where)
            if found is not None:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = find_unstorable(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


_STORABLE = AfterValidator(_storable)
_DOC_STORABLE = {"pattern": STORABLE_PATTERN}

Uuid = Annotated[uuid.UUID, Lax]
Id = Annotated[str, Field(min_length=1, max_length=64, json_schema_extra=_DOC_STORABLE), _STORABLE]
"""A record id: 1-64 storable characters."""
ShortText = Annotated[str, Field(max_length=200, json_schema_extra=_DOC_STORABLE), _STORABLE]
"""A line of free text: up to 200 storable characters."""
Notes = Annotated[str, Field(max_length=4000, json_schema_extra=_DOC_STORABLE), _STORABLE]
"""Notes and reasons: up to 4000 storable characters."""

# What a record id can look like (uuid4 strings and the seeder's ids); a path id
# that cannot be one is a plain 404 (see `is_id`).
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")


def is_id(value: str) -> bool:
    """True when `value` could be a record id (1-64 of A-Z a-z 0-9 . _ : -)."""
    return _ID.fullmatch(value) is not None


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
    username: Annotated[
        str, Field(min_length=1, max_length=64, json_schema_extra=_DOC_STORABLE), _STORABLE
    ]
    password: Annotated[
        str, Field(min_length=1, max_length=256, json_schema_extra=_DOC_STORABLE), _STORABLE
    ]


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
    ack_target_minutes: Annotated[int, Field(gt=0, le=INT32_MAX)]


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
    # The channels the practice uses (its file's `channels`); None: every channel
    # (a practice stored before files, or a server before this field).
    channels: list[Annotated[Channel, Lax]] | None = None
    # The practice's voicemail wording (voicemail-safe, its file's `voicemail`): used for
    # every script that has no voicemail of its own (`followup_core.scripts.render`).
    voicemail: str | None = None


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
    version: Version
    title: str
    approved_by: str
    approved_at: Timestamp
    steps: list[ScriptStep]
    # Voicemail-safe variant (practice, callback number, generic reason only); "" when the
    # script has none of its own and the practice's wording is used.
    voicemail: str = ""
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
    attempts: Count
    next_attempt_at: Timestamp | None
    next_action: str | None
    version: Version
    script_id: Id | None
    created_at: Timestamp
    updated_at: Timestamp
    needs_review: bool = False  # an attempt arrived after the task had moved on


class NextStep(WireModel):
    action: Annotated[
        str, Field(min_length=1, max_length=200, json_schema_extra=_DOC_STORABLE), _STORABLE
    ]
    due_at: Timestamp


class EscalationRequest(WireModel):
    """An escalation raised with an attempt, or on its own."""

    route: Annotated[EscalationRoute, Lax]
    reason: Notes = ""


class AttemptIn(WireModel):
    id: Uuid
    task_id: Id
    task_version: Version
    channel: Annotated[Channel, Lax]
    outcome: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]
    started_at: WorkstationTimestamp
    ended_at: WorkstationTimestamp
    identity_verified: bool
    next_step: NextStep | None
    notes: Notes
    script_id: Id | None
    script_version: Version | None
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
    script_version: Version | None
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


RESOLUTION_MAX_CHARS = 2000
"""The longest resolution note (`EscalationResolve.resolution`; the TUI's field too)."""


class EscalationResolve(WireModel):
    resolution: Annotated[
        str,
        Field(min_length=1, max_length=RESOLUTION_MAX_CHARS, json_schema_extra=_DOC_STORABLE),
        _STORABLE,
    ]


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
    caller_phone: Annotated[
        str, Field(min_length=3, max_length=32, json_schema_extra=_DOC_STORABLE), _STORABLE
    ]
    called_at: PastTimestamp


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
    version: Version
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
