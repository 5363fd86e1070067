"""Supervision on the wire: the session mirror, shadowing, whispers, the team board.

Shared by the server (which validates and merges) and the client (which publishes
and renders). No I/O here: `apply_events` is the one merge rule of the mirror, so
the server's snapshot and anything a client rebuilds from events agree.

The mirror is a *state* mirror of an assistant's workspace, not video: which task
is open, the script step and branch, the outcome key, the form fields as typed
(notes debounced by the client), the escalation picker, the agent state and
whether the workspace is locked. It carries PHI (what is typed), so it is only
ever read over an authenticated, audited GET; live events carry ids and a
sequence number, never mirror content. While a workspace is locked or signed out
the snapshot holds no PHI: `apply_events` clears every task-related field.
"""

from __future__ import annotations

import itertools
import unicodedata
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, field_validator

from followup_core.enums import AgentState, Channel, EscalationRoute, WorkflowId
from followup_core.schemas import Id, Lax, Notes, ShortText, Timestamp, WireModel

# --- the session mirror -------------------------------------------------------

MAX_EVENTS_PER_BATCH = 50
"""A workspace batches its mirror events; one POST carries at most this many."""


class SessionStatus(StrEnum):
    """What an observer sees of a session (derived, not sent by the workspace)."""

    ACTIVE = "active"  # signed in, unlocked: the panes are mirrored
    LOCKED = "locked"  # idle lock: no PHI in the snapshot
    OFFLINE = "offline"  # not signed in (or signed out): no PHI in the snapshot


class _Event(WireModel):
    pass


class TaskOpened(_Event):
    """The assistant opened a task in the workspace (resets the per-task fields)."""

    type: Literal["task-opened"]
    task_id: Id


class TaskClosed(_Event):
    """The workspace shows no task (queue empty, filter, task taken away)."""

    type: Literal["task-closed"]


class IdentityVerified(_Event):
    type: Literal["identity-verified"]
    verified: bool


class ScriptStepChanged(_Event):
    """The highlighted script step (0-based index) and the branch taken, if any."""

    type: Literal["script-step"]
    step: Annotated[int, Field(ge=0, le=200)]
    branch: Annotated[str, Field(max_length=64)] | None = None
    voicemail: bool = False


class OutcomeChosen(_Event):
    """The outcome key pressed (None: cleared)."""

    type: Literal["outcome"]
    code: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")] | None


class FormChanged(_Event):
    """Form fields as typed; only the fields present change (notes debounced by the client)."""

    type: Literal["form"]
    channel: Annotated[Channel, Lax] | None = None
    next_action: ShortText | None = None
    next_due: ShortText | None = None  # the natural-language due as typed ("tomorrow 10am")
    notes: Notes | None = None


class EscalationPicker(_Event):
    """The escalation picker opened (with the route highlighted) or closed."""

    type: Literal["escalation-picker"]
    open: bool
    route: Annotated[EscalationRoute, Lax] | None = None
    reason: Notes = ""


class Saved(_Event):
    """The outcome was saved (queued in the outbox): the task is done in the workspace."""

    type: Literal["saved"]
    task_id: Id
    outcome: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]


class AgentStateChanged(_Event):
    type: Literal["agent-state"]
    state: Annotated[AgentState, Lax]


class Locked(_Event):
    type: Literal["locked"]


class Unlocked(_Event):
    type: Literal["unlocked"]


class SignedOut(_Event):
    type: Literal["signed-out"]


MirrorEvent = Annotated[
    TaskOpened
    | TaskClosed
    | IdentityVerified
    | ScriptStepChanged
    | OutcomeChosen
    | FormChanged
    | EscalationPicker
    | Saved
    | AgentStateChanged
    | Locked
    | Unlocked
    | SignedOut,
    Field(discriminator="type"),
]


class MirrorBatch(WireModel):
    """`POST /v1/sessions/me/events`: the events since the last batch, oldest first."""

    events: Annotated[list[MirrorEvent], Field(min_length=1, max_length=MAX_EVENTS_PER_BATCH)]


class MirrorAccepted(WireModel):
    """The answer to a batch: the session's sequence number after it (increases per batch)."""

    seq: Annotated[int, Field(ge=0)]


class MirrorForm(WireModel):
    channel: Annotated[Channel, Lax] | None = None
    next_action: str | None = None
    next_due: str | None = None
    notes: str = ""


class MirrorEscalation(WireModel):
    route: Annotated[EscalationRoute, Lax] | None = None
    reason: str = ""


class MirrorState(WireModel):
    """The merged state of one workspace (what `apply_events` folds events into)."""

    locked: bool = False
    signed_out: bool = False
    agent_state: Annotated[AgentState, Lax] | None = None
    task_id: Id | None = None
    identity_verified: bool = False
    step: int = 0
    branch: str | None = None
    voicemail: bool = False
    outcome: str | None = None
    form: MirrorForm = MirrorForm()
    escalation: MirrorEscalation | None = None  # the picker is open
    last_saved_task_id: Id | None = None
    last_saved_outcome: str | None = None


_TASK_FIELDS_CLEARED = {
    "task_id": None,
    "identity_verified": False,
    "step": 0,
    "branch": None,
    "voicemail": False,
    "outcome": None,
    "form": MirrorForm(),
    "escalation": None,
}


def apply_events(state: MirrorState, events: list[MirrorEvent]) -> MirrorState:
    """Fold `events` (oldest first) into `state`; pure, returns a new state.

    Rules: `task-opened` resets every per-task field; `saved` and `task-closed`
    clear them (the task is done in the workspace); `locked` and `signed-out`
    clear them too, so a locked or signed-out snapshot carries no PHI, and
    `unlocked` restores nothing (the workspace republishes what it shows).
    While locked or signed out, task events are ignored (a late batch must not
    put PHI back).
    """
    data = state.model_dump()
    data["form"] = state.form
    data["escalation"] = state.escalation
    for event in events:
        hidden = data["locked"] or data["signed_out"]
        match event:
            case Locked():
                data.update(_TASK_FIELDS_CLEARED, locked=True)
            case Unlocked():
                data["locked"] = False
                data["signed_out"] = False
            case SignedOut():
                data.update(_TASK_FIELDS_CLEARED, signed_out=True, locked=False)
            case AgentStateChanged():
                data["agent_state"] = event.state
            case _ if hidden:
                continue
            case TaskOpened():
                data.update(_TASK_FIELDS_CLEARED, task_id=event.task_id)
            case TaskClosed():
                data.update(_TASK_FIELDS_CLEARED)
            case Saved():
                data.update(
                    _TASK_FIELDS_CLEARED,
                    last_saved_task_id=event.task_id,
                    last_saved_outcome=event.outcome,
                )
            case IdentityVerified():
                data["identity_verified"] = event.verified
            case ScriptStepChanged():
                data["step"] = event.step
                data["branch"] = event.branch
                data["voicemail"] = event.voicemail
            case OutcomeChosen():
                data["outcome"] = event.code
            case FormChanged():
                changed = event.model_dump(exclude={"type"}, exclude_none=True)
                data["form"] = data["form"].model_copy(update=changed)
            case EscalationPicker():
                data["escalation"] = (
                    MirrorEscalation(route=event.route, reason=event.reason) if event.open else None
                )
    return MirrorState.model_validate(
        {
            **data,
            "form": data["form"].model_dump(),
            "escalation": data["escalation"].model_dump() if data["escalation"] else None,
        },
        strict=False,
    )


class Observer(WireModel):
    user_id: Id
    display_name: str


class SessionSnapshot(WireModel):
    """`GET /v1/sessions/{user_id}`: the latest mirror of one assistant's workspace.

    `status` is `offline` when they are not signed in and `locked` while their
    workspace is locked; then `state` holds no task fields (no PHI). `seq` is the
    mirror's sequence number (0: nothing published yet); an observer nudged with a
    higher `seq` fetches again. `observers` is who shadows them now.
    """

    user_id: Id
    display_name: str
    status: Annotated[SessionStatus, Lax]
    seq: Annotated[int, Field(ge=0)]
    updated_at: Timestamp | None
    state: MirrorState
    observers: list[Observer]
    told: bool  # the practice tells the assistant they are observed


class ShadowSession(WireModel):
    """A shadow (silent monitor) session: one observer watching one assistant."""

    id: Id
    observer_id: Id
    subject_id: Id
    started_at: Timestamp
    ended_at: Timestamp | None
    snapshot: SessionSnapshot | None = None  # on start: the snapshot to render first


class ObservedBy(WireModel):
    """`GET /v1/sessions/me/observers`: who is watching me, when my practice tells."""

    told: bool
    observers: list[Observer]


# --- whispers -----------------------------------------------------------------

WHISPER_MAX_CHARS = 280


def _plain_text(value: str) -> str:
    """Plain one-line text: no control or format characters (Unicode C*), not blank."""
    if any(unicodedata.category(ch).startswith("C") for ch in value):
        raise ValueError("control characters are not allowed")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


class WhisperIn(WireModel):
    """`POST /v1/whispers`: a private line from an observer to an assistant."""

    to_user_id: Id
    text: Annotated[str, Field(min_length=1, max_length=WHISPER_MAX_CHARS)]
    # Coaching: the key of the script step the assistant is on (a trainer following a
    # training run ties the whisper to it); None for an ordinary whisper.
    step: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    @field_validator("text")
    @classmethod
    def _text_is_plain(cls, value: str) -> str:
        return _plain_text(value)

    @field_validator("step")
    @classmethod
    def _step_is_plain(cls, value: str | None) -> str | None:
        return None if value is None else _plain_text(value)


class WhisperStatus(StrEnum):
    UNREAD = "unread"
    READ = "read"


class WhisperOut(WireModel):
    id: Id
    from_user_id: Id
    from_display_name: str
    to_user_id: Id
    text: str
    step: str | None = None  # the script step key it coaches, if tied to one
    status: Annotated[WhisperStatus, Lax]
    created_at: Timestamp
    acknowledged_at: Timestamp | None


# --- per-practice supervision settings -------------------------------------------


def _ascending(value: list[int]) -> list[int]:
    if any(b <= a for a, b in itertools.pairwise(value)):
        raise ValueError("thresholds must increase")
    return value


Thresholds = Annotated[list[Annotated[int, Field(ge=1, le=86_400)]], Field(max_length=6)]

# VICIdial's real-time report defaults (seconds in state before each colour step):
# waiting 30/60/300, on a call 10/60/300, paused 10/60/300/600/900. Wrap-up is
# coloured like a call (VICIdial's DISPO time counts against the call).
DEFAULT_THRESHOLDS: dict[AgentState, list[int]] = {
    AgentState.AVAILABLE: [30, 60, 300],
    AgentState.ON_CALL: [10, 60, 300],
    AgentState.WRAP_UP: [10, 60, 300],
    AgentState.BREAK: [10, 60, 300, 600, 900],
}


class SupervisionSettings(WireModel):
    """One practice's supervision settings (`GET/PUT /v1/practices/{id}/supervision`).

    `tell_observed`: whether an assistant is told they are shadowed, and by whom
    (default told). `thresholds`: per agent state, the seconds in state at which
    the board's colour steps up (level = how many thresholds were reached).
    """

    tell_observed: bool = True
    thresholds: dict[Annotated[AgentState, Lax], Thresholds] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_THRESHOLDS.items()}
    )

    @field_validator("thresholds")
    @classmethod
    def _each_ascending(cls, value: dict[AgentState, list[int]]) -> dict[AgentState, list[int]]:
        for steps in value.values():
            _ascending(steps)
        return value


def threshold_level(thresholds: list[int], seconds_in_state: float) -> int:
    """How many thresholds (seconds, ascending) `seconds_in_state` has reached (0: none)."""
    return sum(1 for limit in thresholds if seconds_in_state >= limit)


# --- the team board ---------------------------------------------------------------


class CurrentTask(WireModel):
    task_id: Id
    workflow: Annotated[WorkflowId, Lax]
    due_at: Timestamp
    overdue: bool


class TeamMember(WireModel):
    """One row of the team board (an assistant of the caller's practices).

    Counts are for today in the time zone of the assistant's first practice:
    `attempts_today` is attempts recorded, `handled_today` the distinct tasks
    those attempts were on. `queue_size` is open tasks owned, `sla_breaches`
    those past `due_at`, `open_escalations` escalations raised by them or on
    their tasks still `open`. `online` means signed in (a live token);
    `last_seen` is the last authenticated request.
    """

    user_id: Id
    username: str
    display_name: str
    practice_ids: list[Id]
    state: Annotated[AgentState, Lax]
    state_since: Timestamp | None
    seconds_in_state: Annotated[int, Field(ge=0)]
    level: Annotated[int, Field(ge=0)]
    session: Annotated[SessionStatus, Lax]
    current_task: CurrentTask | None
    attempts_today: Annotated[int, Field(ge=0)]
    handled_today: Annotated[int, Field(ge=0)]
    queue_size: Annotated[int, Field(ge=0)]
    sla_breaches: Annotated[int, Field(ge=0)]
    open_escalations: Annotated[int, Field(ge=0)]
    online: bool
    last_seen: Timestamp | None
    observers: list[Observer]
    unread_whispers: Annotated[int, Field(ge=0)]


class TeamSummary(WireModel):
    """Counts on top of the board (VICIdial's real-time report header)."""

    signed_in: int
    on_call: int
    waiting: int
    paused: int
    wrap_up: int


class TeamBoard(WireModel):
    as_of: Timestamp
    summary: TeamSummary
    members: list[TeamMember]
    settings: dict[Id, SupervisionSettings]  # per practice id


class QueueRow(WireModel):
    """One workflow of one practice: open work, overdue, due today (practice time), unassigned."""

    practice_id: Id
    workflow: Annotated[WorkflowId, Lax]
    open: int
    overdue: int
    due_today: int
    unassigned: int
    oldest_due_at: Timestamp | None


class QueueBoard(WireModel):
    as_of: Timestamp
    rows: list[QueueRow]


# --- control --------------------------------------------------------------------

MAX_REASSIGN = 200


class ReassignIn(WireModel):
    """`POST /v1/team/reassign`: hand one or many tasks to another assistant."""

    task_ids: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=64)]],
        Field(min_length=1, max_length=MAX_REASSIGN),
    ]
    to_user_id: Id


class ForcedState(WireModel):
    """`PUT /v1/team/{user_id}/state`: a supervisor sets an assistant's agent state."""

    state: Annotated[AgentState, Lax]


class InboxItem(WireModel):
    """One escalation in the paged inbox, with its age and overdue flag at `as_of`."""

    id: Id
    practice_id: Id
    task_id: Id
    route: Annotated[EscalationRoute, Lax]
    status: str
    raised_by: Id
    raised_at: Timestamp
    ack_due_at: Timestamp
    acknowledged_at: Timestamp | None
    age_minutes: int
    overdue: bool  # open past its route's acknowledgement target


class InboxPage(WireModel):
    as_of: Timestamp
    items: list[InboxItem]
    next_cursor: str | None


def age_minutes(since: datetime, now: datetime) -> int:
    """Whole minutes from `since` to `now` (0 if in the future)."""
    return max(0, int((now - since).total_seconds() // 60))
