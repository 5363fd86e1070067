"""Evaluation forms and the scoring of a training run.

After the contact-centre quality forms (Amazon Connect evaluation forms, Genesys
quality forms, VICIdial QC; see REFERENCES.md "Evaluation forms"):

- a form is versioned and has sections whose weights total exactly 100;
- each item is answered yes / no / N/A and is worth points (at least 1);
  N/A leaves the denominator (of its section; a section whose items are all N/A
  leaves the form's denominator, its weight spread over the others);
- a fatal item (Genesys "kill" question, VICIdial "instant kill") answered "no"
  fails the run whatever the score;
- an item is either automatic (`auto` names an `AutoCheck`, answered from the
  run's recorded session events and outcome only) or marked by the trainer, who
  must write a comment on every "no".

Score = 100 * sum(weight * earned/possible) / sum(weight) over the sections with an
applicable item, rounded to one decimal. A run passes when it is fully marked, no
fatal item is "no" and the score is at least the form's `pass_mark`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    ValidationError,
    model_validator,
)

from followup_core.enums import EscalationRoute
from followup_core.errors import FollowupError
from followup_core.training.run import RunRecord
from followup_core.training.tomlsource import TomlSource, TrainingFileError

Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]


class Answer(StrEnum):
    YES = "yes"
    NO = "no"
    NA = "n/a"


class FormStatus(StrEnum):
    """Lifecycle of a form version (Amazon Connect: draft, active, locked)."""

    DRAFT = "draft"
    ACTIVE = "active"
    LOCKED = "locked"


class AutoCheck(StrEnum):
    """Items the server answers from the run's events and outcome (see `auto_answer`)."""

    NO_PHI_BEFORE_IDENTITY = "no-phi-before-identity"
    NO_PHI_IN_VOICEMAIL = "no-phi-in-voicemail"
    RED_FLAG_ESCALATED = "red-flag-escalated"
    OUTCOME_CODE = "outcome-code"
    ESCALATION_ROUTE = "escalation-route"
    VOICEMAIL_DECISION = "voicemail-decision"
    IDENTITY_RECORDED = "identity-recorded"
    NEXT_STEP_RECORDED = "next-step-recorded"


class _Closed(BaseModel):
    # Lax so TOML arrays fill tuples and strings fill enums; numbers and
    # booleans are Strict below (no "3" for 3, no 1 for true).
    model_config = ConfigDict(extra="forbid", frozen=True)


class FormItem(_Closed):
    """One yes / no / N/A question; `auto` None means the trainer marks it."""

    id: Slug
    text: Annotated[str, Field(min_length=1, max_length=300)]
    points: Annotated[int, Strict(), Field(ge=1, le=100)]
    fatal: StrictBool = False
    auto: AutoCheck | None = None
    help: Annotated[str, Field(max_length=600)] = ""

    @property
    def trainer_marked(self) -> bool:
        return self.auto is None


class FormSection(_Closed):
    id: Slug
    title: Annotated[str, Field(min_length=1, max_length=120)]
    weight: Annotated[int, Strict(), Field(ge=1, le=100)]
    items: Annotated[tuple[FormItem, ...], Field(min_length=1)]


class EvaluationForm(_Closed):
    """A versioned evaluation form. Weights total 100; item ids are unique in the form."""

    id: Slug
    version: Annotated[int, Strict(), Field(ge=1)]
    title: Annotated[str, Field(min_length=1, max_length=120)]
    status: FormStatus = FormStatus.ACTIVE
    pass_mark: Annotated[int, Strict(), Field(ge=0, le=100)]
    sections: Annotated[tuple[FormSection, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _consistent(self) -> EvaluationForm:
        total = sum(s.weight for s in self.sections)
        if total != 100:
            raise ValueError(f"section weights total {total}, not 100")
        seen: set[str] = set()
        for item in self.items():
            if item.id in seen:
                raise ValueError(f"item id {item.id!r} is used twice")
            seen.add(item.id)
        return self

    def items(self) -> Iterable[FormItem]:
        for section in self.sections:
            yield from section.items

    def item(self, item_id: str) -> FormItem:
        """The item with this id (raises KeyError)."""
        for item in self.items():
            if item.id == item_id:
                return item
        raise KeyError(item_id)


def load_form(text: str, name: str) -> EvaluationForm:
    """Parse and check a form file; `name` is used in messages ("forms/x.toml").

    Raises TrainingFileError naming the line: bad TOML, a missing or unknown key,
    an item without points (or with fewer than 1), section weights not totalling
    100 (the line of the first section), an item id used twice.
    """
    source = TomlSource(name, text)
    data = source.data
    sections = data.get("sections")
    if isinstance(sections, list):
        for s_index, section in enumerate(sections):
            if not isinstance(section, dict):
                continue
            for i_index, item in enumerate(section.get("items", []) or []):
                if isinstance(item, dict) and "points" not in item:
                    path = ("sections", s_index, "items", i_index)
                    raise source.error(path, f"item {item.get('id', '?')!r} has no points")
        weights = [s.get("weight") for s in sections if isinstance(s, dict)]
        if all(isinstance(w, int) for w in weights):
            total = sum(w for w in weights if isinstance(w, int))
            if total != 100:
                raise source.error(("sections", 0), f"section weights total {total}, not 100")
    try:
        return EvaluationForm.model_validate(data)
    except ValidationError as exc:
        raise _first_error(source, exc) from None


def _first_error(source: TomlSource, exc: ValidationError) -> TrainingFileError:
    first = exc.errors()[0]
    loc = tuple(p for p in first["loc"] if isinstance(p, str | int))
    where = ".".join(str(p) for p in loc) or "the file"
    return source.error(loc, f"{where}: {first['msg']}")


# --- marks ---------------------------------------------------------------------


class MarkRefused(FollowupError):
    """A trainer's mark that cannot be taken (unknown or automatic item, no comment)."""

    code = "mark-refused"


@dataclass(frozen=True)
class Mark:
    """A trainer's answer to a trainer-marked item; `comment` required on "no"."""

    item_id: str
    answer: Answer
    comment: str = ""


def check_mark(form: EvaluationForm, mark: Mark) -> FormItem:
    """Return the item a mark answers; raise MarkRefused if it cannot be taken."""
    try:
        item = form.item(mark.item_id)
    except KeyError:
        raise MarkRefused(f"form {form.id} v{form.version} has no item {mark.item_id}") from None
    if not item.trainer_marked:
        raise MarkRefused(f"item {item.id} is scored automatically from the run")
    if mark.answer is Answer.NO and not mark.comment.strip():
        raise MarkRefused(f"item {item.id} is missed, so it needs a comment")
    return item


# --- automatic items -----------------------------------------------------------


@dataclass(frozen=True)
class Expected:
    """The handling a scenario expects (what automatic items compare against)."""

    outcomes: frozenset[str]
    route: EscalationRoute | None
    voicemail: bool
    identity_verified: bool
    next_step: bool


def auto_answer(check: AutoCheck, expected: Expected, record: RunRecord) -> Answer:
    """Answer one automatic item from the recorded events and outcome only.

    Before the run is saved (`record.outcome` None) items that need the outcome
    are answered "no" (nothing was recorded); the event-only checks still apply.
    """
    out = record.outcome
    match check:
        case AutoCheck.NO_PHI_BEFORE_IDENTITY:
            return _yes(not record.phi_before_identity())
        case AutoCheck.NO_PHI_IN_VOICEMAIL:
            if not expected.voicemail and not (out and out.left_voicemail):
                return Answer.NA
            return _yes(not (out and out.left_voicemail and record.phi_steps_shown()))
        case AutoCheck.RED_FLAG_ESCALATED:
            if expected.route is not EscalationRoute.URGENT_SYMPTOM:
                return Answer.NA
            return _yes(out is not None and out.escalation_route is EscalationRoute.URGENT_SYMPTOM)
        case AutoCheck.OUTCOME_CODE:
            return _yes(out is not None and out.outcome in expected.outcomes)
        case AutoCheck.ESCALATION_ROUTE:
            return _yes(out is not None and out.escalation_route == expected.route)
        case AutoCheck.VOICEMAIL_DECISION:
            return _yes(out is not None and out.left_voicemail == expected.voicemail)
        case AutoCheck.IDENTITY_RECORDED:
            return _yes(out is not None and out.identity_verified == expected.identity_verified)
        case AutoCheck.NEXT_STEP_RECORDED:
            if not expected.next_step:
                return Answer.NA
            return _yes(out is not None and out.next_step)


def _yes(ok: bool | None) -> Answer:
    return Answer.YES if ok else Answer.NO


# --- scoring -------------------------------------------------------------------


@dataclass(frozen=True)
class SectionResult:
    """A section's points; `percent` is None when every item was N/A (or pending)."""

    id: str
    title: str
    weight: int
    earned: int
    possible: int

    @property
    def percent(self) -> float | None:
        return None if self.possible == 0 else round(100 * self.earned / self.possible, 1)


@dataclass(frozen=True)
class Evaluation:
    """A scored run: score 0-100 (one decimal), pass/fail, fatal items hit, sections.

    `pending` lists trainer-marked items not yet marked (left out of the score);
    a run with pending items does not pass.
    """

    form_id: str
    form_version: int
    score: float
    passed: bool
    fatal_hit: tuple[str, ...]
    sections: tuple[SectionResult, ...]
    answers: Mapping[str, Answer]
    pending: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return not self.pending


def score_answers(form: EvaluationForm, answers: Mapping[str, Answer]) -> Evaluation:
    """Score a form from one answer per item id (missing ids are pending).

    Raises KeyError for an answer to an item the form does not have.
    """
    for item_id in answers:
        form.item(item_id)
    sections: list[SectionResult] = []
    fatal: list[str] = []
    pending: list[str] = []
    for section in form.sections:
        earned = possible = 0
        for item in section.items:
            answer = answers.get(item.id)
            if answer is None:
                pending.append(item.id)
                continue
            if answer is Answer.NA:
                continue
            possible += item.points
            if answer is Answer.YES:
                earned += item.points
            elif item.fatal:
                fatal.append(item.id)
        sections.append(SectionResult(section.id, section.title, section.weight, earned, possible))
    applicable = [s for s in sections if s.possible]
    weight = sum(s.weight for s in applicable)
    raw = sum(s.weight * s.earned / s.possible for s in applicable) / weight if weight else 1.0
    score = round(100 * raw, 1)
    passed = not fatal and not pending and score >= form.pass_mark
    return Evaluation(
        form.id,
        form.version,
        score,
        passed,
        tuple(fatal),
        tuple(sections),
        dict(answers),
        tuple(pending),
    )


def evaluate(
    form: EvaluationForm,
    expected: Expected,
    record: RunRecord,
    marks: Iterable[Mark] = (),
) -> Evaluation:
    """Score a run: automatic items from `record`, the rest from the trainer's `marks`.

    Raises MarkRefused for a mark on an unknown or automatic item or a miss
    without a comment (the later of two marks on one item wins).
    """
    answers: dict[str, Answer] = {}
    for mark in marks:
        answers[check_mark(form, mark).id] = mark.answer
    for item in form.items():
        if item.auto is not None:
            answers[item.id] = auto_answer(item.auto, expected, record)
    return score_answers(form, answers)
