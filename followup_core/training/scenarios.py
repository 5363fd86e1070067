"""Training scenarios: synthetic cases a trainee works in the real workspace.

A scenario (one TOML file, versioned) names a workflow, the situations it
exercises, a synthetic patient, what the simulated patient says at each script
step and branch, and the expected handling: the outcome code(s), the escalation
route or none, whether a voicemail is right, whether identity gets verified
(always before any PHI), the promised next step and its due. `load_scenario`
refuses a file naming an unknown outcome code, route, step, branch or context
key, with the line.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, Strict, StrictBool, ValidationError

from followup_core.enums import EscalationRoute, WorkflowId
from followup_core.errors import UnknownOutcome
from followup_core.script_templates import approved_script
from followup_core.scripts import CONTEXT_PLACEHOLDERS
from followup_core.training.evaluation import Expected
from followup_core.training.run import STEP_KEYS
from followup_core.training.tomlsource import TomlSource, TrainingFileError
from followup_core.workflows import workflow

Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
Text = Annotated[str, Field(min_length=1, max_length=600)]


class Situation(StrEnum):
    """The turns of a call new hires get wrong (issue 9), plus the plain case."""

    STANDARD = "standard"
    SOMEONE_ELSE_ANSWERS = "someone-else-answers"
    VOICEMAIL = "voicemail"
    IDENTITY_NOT_VERIFIED = "identity-not-verified"
    CLINICAL_QUESTION = "clinical-question"
    URGENT_SYMPTOM = "urgent-symptom"
    COMPLAINT = "complaint"
    BILLING = "billing"
    INTERPRETER = "interpreter"
    RESCHEDULE_CALLBACK = "reschedule-callback"
    REPEATED_FAILED_CONTACT = "repeated-failed-contact"


class _Closed(BaseModel):
    # Lax so TOML arrays fill tuples and strings fill enums; numbers and
    # booleans are Strict below (no "3" for 3, no 1 for true).
    model_config = ConfigDict(extra="forbid", frozen=True)


class SyntheticPatient(_Closed):
    """A made-up patient (never a real person); `dob` is ISO (YYYY-MM-DD)."""

    first_name: Annotated[str, Field(min_length=1, max_length=60)]
    last_name: Annotated[str, Field(min_length=1, max_length=60)]
    dob: Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
    phone: Annotated[str, Field(min_length=7, max_length=32)]
    preferred_language: Annotated[str, Field(min_length=2, max_length=32)] = "English"


class PatientLine(_Closed):
    """What the simulated patient says when the script is at `step` (and `branch`)."""

    step: str
    branch: Annotated[str, Field(max_length=64)] | None = None
    text: Text


class ExpectedHandling(_Closed):
    """The right handling; `outcomes` lists every acceptable outcome code."""

    outcomes: Annotated[tuple[Slug, ...], Field(min_length=1)]
    route: EscalationRoute | None = None
    voicemail: StrictBool = False
    identity_verified: StrictBool = True
    next_step: Annotated[str, Field(max_length=200)] | None = None
    next_due: Annotated[str, Field(max_length=80)] | None = None  # e.g. "in 2 business days"
    handling: Text

    def expected(self) -> Expected:
        """The facts the automatic evaluation items compare against."""
        return Expected(
            frozenset(self.outcomes),
            self.route,
            self.voicemail,
            self.identity_verified,
            self.next_step is not None,
        )


class Scenario(_Closed):
    """A versioned training scenario on the training practice."""

    id: Slug
    version: Annotated[int, Strict(), Field(ge=1)]
    title: Annotated[str, Field(min_length=1, max_length=120)]
    workflow: WorkflowId
    situations: Annotated[tuple[Situation, ...], Field(min_length=1)]
    brief: Text  # what the trainee sees on the task (the reason it is in the queue)
    prior_failed_attempts: Annotated[int, Strict(), Field(ge=0, le=10)] = 0
    patient: SyntheticPatient
    context: dict[str, Annotated[str, Field(max_length=120)]] = Field(default_factory=dict)
    lines: Annotated[tuple[PatientLine, ...], Field(min_length=1)]
    expected: ExpectedHandling

    def lines_for(self, step: str, branch: str | None = None) -> tuple[PatientLine, ...]:
        """The patient's lines at a step: the branch's own if any, else the step's."""
        own = tuple(ln for ln in self.lines if ln.step == step and ln.branch == branch)
        if own or branch is None:
            return own
        return tuple(ln for ln in self.lines if ln.step == step and ln.branch is None)


def load_scenario(text: str, name: str) -> Scenario:
    """Parse and check one scenario file; `name` appears in messages.

    Raises TrainingFileError naming the line for bad TOML or shape, and for a
    name the product does not know: an outcome code not in the workflow, a route
    the workflow does not offer, a step that is not one of the six, a branch the
    approved script does not have at that step, a context key scripts cannot
    fill; also for a voicemail expected without the left-voicemail outcome and
    an unverified run expected to end in an outcome that requires identity.
    """
    source = TomlSource(name, text)
    try:
        scenario = Scenario.model_validate(source.data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = tuple(p for p in first["loc"] if isinstance(p, str | int))
        where = ".".join(str(p) for p in loc) or "the file"
        raise source.error(loc, f"{where}: {first['msg']}") from None
    _check_names(source, scenario)
    return scenario


def _check_names(source: TomlSource, scenario: Scenario) -> None:
    flow = workflow(scenario.workflow)
    exp = scenario.expected
    for code in exp.outcomes:
        try:
            outcome = flow.outcome(code)
        except UnknownOutcome:
            raise source.error(
                ("expected", "outcomes"),
                f"outcome {code!r} is not an outcome code of {flow.id.value}",
            ) from None
        if not exp.identity_verified and "identity_verified" in outcome.requires:
            raise source.error(
                ("expected", "outcomes"),
                f"outcome {code!r} requires identity verified, but the run expects none",
            )
    if exp.route is not None and exp.route not in flow.escalation_routes:
        raise source.error(
            ("expected", "route"), f"route {exp.route.value!r} is not offered on {flow.id.value}"
        )
    if exp.voicemail and "left-voicemail" not in exp.outcomes:
        raise source.error(("expected", "voicemail"), "a voicemail run must expect left-voicemail")
    if exp.next_step is None and exp.next_due is not None:
        raise source.error(("expected", "next_due"), "next_due without a next_step")
    for key in scenario.context:
        if key not in CONTEXT_PLACEHOLDERS:
            raise source.error(("context", key), f"context key {key!r} is not a script placeholder")
    steps = {s["key"]: s for s in approved_script(scenario.workflow)["steps"]}
    for index, line in enumerate(scenario.lines):
        where = ("lines", index)
        if line.step not in STEP_KEYS:
            raise source.error((*where, "step"), f"step {line.step!r} is not a script step")
        labels = {b["label"] for b in steps[line.step]["branches"]}
        if line.branch is not None and line.branch not in labels:
            raise source.error(
                (*where, "branch"), f"step {line.step!r} has no branch {line.branch!r}"
            )


def load_scenarios(files: dict[str, str]) -> dict[str, Scenario]:
    """Load many files (name → text); raise TrainingFileError on the first bad one
    or on a scenario id used twice."""
    found: dict[str, Scenario] = {}
    for name in sorted(files):
        scenario = load_scenario(files[name], name)
        if scenario.id in found:
            raise TrainingFileError(name, 1, f"scenario id {scenario.id!r} is used twice")
        found[scenario.id] = scenario
    return found
