"""What a training run leaves behind to be scored: its session events and outcome.

The events are the workspace's session-mirror events (same `type` spellings as
the supervision mirror: `identity-verified`, `script-step`, `outcome`,
`escalation-picker`, `saved`), so the server can record a run from the mirror it
already receives. Only the events that scoring reads are modelled here; a
recorder drops the rest. The outcome is the saved attempt, reduced to the facts
the automatic items look at.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from followup_core.enums import Channel, EscalationRoute
from followup_core.schemas import Lax, WireModel

STEP_KEYS = ("greet", "verify-identity", "reason", "details", "next-step", "close")
"""The six steps of every approved script, in order (`script_templates`)."""

PHI_STEPS = frozenset({"reason", "details", "next-step"})
"""Steps whose text carries the patient's PHI (why we call, the visit, the referral).

Greet and close name only the patient's first name, which the caller already
asked for; verify-identity asks, it does not tell.
"""

OutcomeCodeText = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")]


class IdentityVerified(WireModel):
    """The assistant ticked (or unticked) identity verified."""

    type: Literal["identity-verified"]
    verified: bool


class ScriptStep(WireModel):
    """The highlighted script step (0-based index into STEP_KEYS) and branch."""

    type: Literal["script-step"]
    step: Annotated[int, Field(ge=0, le=200)]
    branch: Annotated[str, Field(max_length=64)] | None = None
    voicemail: bool = False  # the voicemail-safe variant was shown instead of the step

    @property
    def key(self) -> str | None:
        """The step's key, or None for an index past the six steps."""
        return STEP_KEYS[self.step] if self.step < len(STEP_KEYS) else None

    @property
    def reveals_phi(self) -> bool:
        """True when this shows a PHI step's own text (not the voicemail variant)."""
        return not self.voicemail and self.key in PHI_STEPS


class EscalationPicker(WireModel):
    """The escalation picker opened (with the route highlighted) or closed."""

    type: Literal["escalation-picker"]
    open: bool
    route: Annotated[EscalationRoute, Lax] | None = None


class OutcomeChosen(WireModel):
    """The outcome key pressed (None: cleared)."""

    type: Literal["outcome"]
    code: OutcomeCodeText | None


RunEvent = Annotated[
    IdentityVerified | ScriptStep | EscalationPicker | OutcomeChosen,
    Field(discriminator="type"),
]


class RunOutcome(WireModel):
    """The saved attempt of a run, as scoring sees it."""

    outcome: OutcomeCodeText
    channel: Annotated[Channel, Lax]
    identity_verified: bool
    escalation_route: Annotated[EscalationRoute, Lax] | None = None
    next_step: bool = False  # a next step with a due time was recorded

    @property
    def left_voicemail(self) -> bool:
        return self.outcome == "left-voicemail"


class RunRecord(WireModel):
    """A run's session events, oldest first, and its outcome (None until saved)."""

    events: tuple[RunEvent, ...] = ()
    outcome: RunOutcome | None = None

    def phi_before_identity(self) -> bool:
        """True if a PHI step was shown while identity was not (yet) verified.

        Identity counts as verified from the first `identity-verified` true event
        until an event unticks it.
        """
        verified = False
        for event in self.events:
            if isinstance(event, IdentityVerified):
                verified = event.verified
            elif isinstance(event, ScriptStep) and event.reveals_phi and not verified:
                return True
        return False

    def phi_steps_shown(self) -> bool:
        """True if any PHI step's own text was shown (the voicemail variant excepted)."""
        return any(isinstance(e, ScriptStep) and e.reveals_phi for e in self.events)
