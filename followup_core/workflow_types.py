"""The shapes of a workflow: outcome codes, their effects, attempt policy.

The table of the eight workflows lives in `followup_core.workflows`, which
re-exports these names; import them from there.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from enum import Enum
from types import MappingProxyType

from followup_core.enums import Channel, EscalationRoute, WorkflowId
from followup_core.errors import ChannelNotAllowed, MissingField, UnknownOutcome
from followup_core.schemas import Consent

REQUIREMENT_FIELDS = frozenset({"next_step", "notes", "identity_verified"})
RESERVED_KEYS = frozenset("eq?0123456789")


class OutcomeEffect(Enum):
    """The task transition an outcome causes (see task_state.apply_outcome)."""

    COMPLETE = "complete"  # the task is done
    RETRY = "retry"  # not reached: try again at next_attempt_at (counts as failed contact)
    AWAIT_CALLBACK = "await-callback"  # message left: on hold, retry if no callback
    RESCHEDULE = "reschedule"  # reached; work again at the promised next step
    FAIL = "fail"  # cannot be done (wrong number, declined)
    NONE = "none"  # documentation only; the task stays where it is

    @property
    def is_failed_contact(self) -> bool:
        """Outcomes where the patient was not reached count toward max attempts."""
        return self in (OutcomeEffect.RETRY, OutcomeEffect.AWAIT_CALLBACK)


@dataclass(frozen=True)
class OutcomeCode:
    code: str
    key: str
    label: str
    requires: frozenset[str]
    effect: OutcomeEffect
    business_status: str | None
    # The contact methods this outcome can happen on; None means any of the workflow's.
    channels: frozenset[Channel] | None = None

    def __post_init__(self) -> None:
        unknown = self.requires - REQUIREMENT_FIELDS
        if unknown:
            raise ValueError(f"outcome {self.code} requires unknown fields {sorted(unknown)}")
        if len(self.key) != 1 or self.key in RESERVED_KEYS:
            raise ValueError(f"outcome {self.code} has an unusable key {self.key!r}")
        if self.effect is OutcomeEffect.RESCHEDULE and "next_step" not in self.requires:
            raise ValueError(f"outcome {self.code} reschedules, so it must require next_step")


@dataclass(frozen=True)
class AttemptPolicy:
    max_attempts: int
    min_spacing: timedelta
    window_start: time  # calling window, in the patient's local time
    window_end: time

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.min_spacing < timedelta(0):
            raise ValueError("min_spacing must not be negative")
        if not self.window_start < self.window_end:
            raise ValueError("the calling window must start before it ends")


@dataclass(frozen=True)
class Workflow:
    id: WorkflowId
    title: str
    trigger: str
    channels: frozenset[Channel]
    outcomes: tuple[OutcomeCode, ...]
    policy: AttemptPolicy
    response_target: timedelta  # business time from trigger to due
    escalation_routes: tuple[EscalationRoute, ...]
    _by_code: Mapping[str, OutcomeCode] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        codes = [o.code for o in self.outcomes]
        keys = [o.key for o in self.outcomes]
        if len(set(codes)) != len(codes) or len(set(keys)) != len(keys):
            raise ValueError(f"workflow {self.id} repeats an outcome code or key")
        object.__setattr__(self, "_by_code", MappingProxyType({o.code: o for o in self.outcomes}))

    def outcome(self, code: str) -> OutcomeCode:
        try:
            return self._by_code[code]
        except KeyError:
            raise UnknownOutcome(self.id.value, code) from None

    def outcome_for_key(self, key: str) -> OutcomeCode | None:
        return next((o for o in self.outcomes if o.key == key), None)

    @property
    def by_phone(self) -> bool:
        return Channel.PHONE in self.channels

    def allowed_channels(self, consent: Consent | None) -> frozenset[Channel]:
        """The workflow's channels the patient consented to (all of them if unknown)."""
        if consent is None:
            return self.channels
        return frozenset(c for c in self.channels if consent.allows(c))

    def check_attempt(
        self,
        *,
        outcome: str,
        channel: Channel,
        identity_verified: bool,
        has_next_step: bool,
        notes: str,
        consent: Consent | None = None,
    ) -> OutcomeCode:
        """Validate a documented attempt against this workflow; return its outcome.

        Raises UnknownOutcome, MissingField or ChannelNotAllowed.
        """
        code = self.outcome(outcome)
        if channel not in self.channels:
            raise ChannelNotAllowed(channel.value, f"the {self.id.value} workflow does not use it")
        if code.channels is not None and channel not in code.channels:
            raise ChannelNotAllowed(channel.value, f"outcome {code.code} does not happen on it")
        if consent is not None and not consent.allows(channel):
            raise ChannelNotAllowed(channel.value, "the patient has not consented to it")
        if code.code == "left-voicemail" and consent is not None and not consent.voicemail:
            raise ChannelNotAllowed("voicemail", "the patient has not consented to voicemail")
        if "identity_verified" in code.requires and not identity_verified:
            raise MissingField(code.code, "identity_verified")
        if "next_step" in code.requires and not has_next_step:
            raise MissingField(code.code, "next_step")
        if "notes" in code.requires and not notes.strip():
            raise MissingField(code.code, "notes")
        return code
