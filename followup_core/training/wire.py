"""Wire schemas of the training endpoints (`/v1/training/...`), contract v1."""

from __future__ import annotations

import unicodedata
from typing import Annotated, Literal

from pydantic import Field, field_validator

from followup_core.enums import EscalationRoute, WorkflowId
from followup_core.schemas import Id, Lax, Notes, Timestamp, WireModel
from followup_core.training.evaluation import Answer, Evaluation
from followup_core.training.progress import Progress
from followup_core.training.run import RunEvent

MAX_RUN_EVENTS = 50
"""One POST of run events carries at most this many (as a mirror batch)."""


class ScenarioSummary(WireModel):
    id: str
    version: int
    title: str
    workflow: Annotated[WorkflowId, Lax]
    situations: list[str]
    brief: str


class RunCreate(WireModel):
    """Assign a scenario to a trainee (an assistant of the training practice)."""

    scenario_id: Id
    trainee_id: Id


class RunEventsIn(WireModel):
    """The run's session events since the last batch, oldest first."""

    events: Annotated[list[RunEvent], Field(min_length=1, max_length=MAX_RUN_EVENTS)]


class RunEventsAccepted(WireModel):
    recorded: int  # events stored by this batch
    total: int  # events the run holds now


class MarkIn(WireModel):
    item_id: Id
    answer: Annotated[Answer, Lax]
    comment: Notes = ""


class MarksIn(WireModel):
    marks: Annotated[list[MarkIn], Field(min_length=1, max_length=100)]


class SectionOut(WireModel):
    id: str
    title: str
    weight: int
    earned: int
    possible: int
    percent: float | None


class EvaluationOut(WireModel):
    """A run's evaluation so far: score 0-100, pass/fail, fatal items, sections, answers."""

    form_id: str
    form_version: int
    score: float
    passed: bool
    fatal_hit: list[str]
    sections: list[SectionOut]
    answers: dict[str, Literal["yes", "no", "n/a"]]
    pending: list[str]
    complete: bool


def evaluation_out(e: Evaluation) -> EvaluationOut:
    return EvaluationOut(
        form_id=e.form_id,
        form_version=e.form_version,
        score=e.score,
        passed=e.passed,
        fatal_hit=list(e.fatal_hit),
        sections=[
            SectionOut(
                id=s.id,
                title=s.title,
                weight=s.weight,
                earned=s.earned,
                possible=s.possible,
                percent=s.percent,
            )
            for s in e.sections
        ],
        answers={k: v.value for k, v in e.answers.items()},
        pending=list(e.pending),
        complete=e.complete,
    )


class RunOut(WireModel):
    """A training run; `status` is assigned until the outcome is saved and fully marked."""

    id: str
    scenario_id: str
    scenario_version: int
    title: str
    workflow: Annotated[WorkflowId, Lax]
    trainee_id: str
    trainer_id: str
    task_id: str
    status: Literal["assigned", "scored"]
    created_at: Timestamp
    scored_at: Timestamp | None
    outcome: str | None  # the saved attempt's outcome code, if any
    evaluation: EvaluationOut


class PatientLineOut(WireModel):
    step: str
    branch: str | None
    text: str


class ExpectedOut(WireModel):
    outcomes: list[str]
    route: Annotated[EscalationRoute, Lax] | None
    voicemail: bool
    identity_verified: bool
    next_step: str | None
    next_due: str | None
    handling: str


class RunScriptOut(WireModel):
    """What the simulated patient says; `expected` only for the trainer or once scored."""

    run_id: str
    lines: list[PatientLineOut]
    expected: ExpectedOut | None


class TraineeOut(WireModel):
    """An assistant of the training practice: who, what they are cleared for, their runs.

    `runs` counts every run assigned to them, `scored` those scored, `open` those
    still assigned (worked or not); `cleared` is sorted by workflow id.
    """

    id: str
    display_name: str
    cleared: list[Annotated[WorkflowId, Lax]]
    runs: int
    scored: int
    open: int
    last_score: float | None  # the latest scored run's score (0-100)


class ClearanceIn(WireModel):
    assistant_id: Id
    workflow: Annotated[WorkflowId, Lax]


class ClearanceOut(WireModel):
    assistant_id: str
    workflow: Annotated[WorkflowId, Lax]
    cleared_by: str
    cleared_at: Timestamp


class WorkflowProgressOut(WireModel):
    workflow: Annotated[WorkflowId, Lax]
    runs: int
    scores: list[float]
    passed: int
    cleared: bool


class SectionProgressOut(WireModel):
    section_id: str
    title: str
    earned: int
    possible: int
    percent: float | None


class ProgressOut(WireModel):
    """A trainee's progress: by workflow, by form section, repeated misses (item, times)."""

    trainee_id: str
    workflows: list[WorkflowProgressOut]
    sections: list[SectionProgressOut]
    repeated_misses: list[tuple[str, int]]
    fatal_runs: int


def progress_out(trainee_id: str, p: Progress) -> ProgressOut:
    return ProgressOut(
        trainee_id=trainee_id,
        workflows=[
            WorkflowProgressOut(
                workflow=w.workflow,
                runs=w.runs,
                scores=list(w.scores),
                passed=w.passed,
                cleared=w.cleared,
            )
            for w in p.workflows
        ],
        sections=[
            SectionProgressOut(
                section_id=s.section_id,
                title=s.title,
                earned=s.earned,
                possible=s.possible,
                percent=s.percent,
            )
            for s in p.sections
        ],
        repeated_misses=list(p.repeated_misses),
        fatal_runs=p.fatal_runs,
    )


LIVE_LINE_MAX_CHARS = 400
"""A line the trainer types as the simulated patient: at most this many characters."""


class LiveLineIn(WireModel):
    """`POST /v1/training/runs/{id}/lines`: the trainer says `text` as the patient, live.

    `step` is the script step key the trainee is on (`run.STEP_KEYS`), if known.
    Plain one-line text (no control characters, not blank); synthetic, never PHI.
    """

    text: Annotated[str, Field(min_length=1, max_length=LIVE_LINE_MAX_CHARS)]
    step: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$")] | None = None

    @field_validator("text")
    @classmethod
    def _plain(cls, value: str) -> str:
        if any(unicodedata.category(ch).startswith("C") for ch in value):
            raise ValueError("control characters are not allowed")
        if not value.strip():
            raise ValueError("the line is blank")
        return value.strip()


class LiveLineOut(WireModel):
    """One live line: its order in the run (`seq`), step key or None, text, when (UTC)."""

    seq: int
    step: str | None
    text: str
    created_at: Timestamp


class PatientLinesOut(WireModel):
    """The live lines of a run, oldest first (at most the latest 200)."""

    run_id: str
    lines: list[LiveLineOut]
