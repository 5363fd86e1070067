"""A trainee's progress and the clearance rule for real work (pure).

- `progress`: runs over time by workflow and by form section, and the items the
  trainee keeps missing (answered "no" in at least two scored runs), from the
  trainee's scored runs.
- `may_assign`: the server assigns real work in a workflow only to an assistant
  cleared for it; an assistant whose clearance is not required (everyone who
  was an assistant before training existed) counts as cleared for all.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime

from followup_core.enums import WorkflowId
from followup_core.training.evaluation import Answer, Evaluation

REPEATED_MISS = 2
"""An item answered "no" in this many scored runs is a repeated miss."""


@dataclass(frozen=True)
class ScoredRun:
    """One finished run of a trainee: when it was scored (UTC), its workflow, its result."""

    run_id: str
    scored_at: datetime
    workflow: WorkflowId
    scenario_id: str
    evaluation: Evaluation


@dataclass(frozen=True)
class WorkflowProgress:
    """Runs in one workflow, oldest first: scores (0-100) and how many passed."""

    workflow: WorkflowId
    scores: tuple[float, ...]
    passed: int
    cleared: bool

    @property
    def runs(self) -> int:
        return len(self.scores)

    @property
    def last_score(self) -> float | None:
        return self.scores[-1] if self.scores else None


@dataclass(frozen=True)
class SectionProgress:
    """One form section over all runs: points earned / possible (N/A left out)."""

    section_id: str
    title: str
    earned: int
    possible: int

    @property
    def percent(self) -> float | None:
        return None if self.possible == 0 else round(100 * self.earned / self.possible, 1)


@dataclass(frozen=True)
class Progress:
    """A trainee's progress; `repeated_misses` is (item id, times missed), most first."""

    workflows: tuple[WorkflowProgress, ...]
    sections: tuple[SectionProgress, ...]
    repeated_misses: tuple[tuple[str, int], ...]
    fatal_runs: int


def progress(runs: Iterable[ScoredRun], cleared: Collection[WorkflowId] = ()) -> Progress:
    """Aggregate scored runs (any order) into a trainee's progress.

    Every workflow appears (no runs: empty scores), in `WorkflowId` order; sections
    in the order first met. Only complete evaluations (no pending marks) count.
    """
    done = sorted((r for r in runs if r.evaluation.complete), key=lambda r: r.scored_at)
    by_flow: dict[WorkflowId, list[ScoredRun]] = defaultdict(list)
    sections: dict[str, list[int]] = {}
    titles: dict[str, str] = {}
    misses: Counter[str] = Counter()
    fatal_runs = 0
    for run in done:
        by_flow[run.workflow].append(run)
        fatal_runs += bool(run.evaluation.fatal_hit)
        for section in run.evaluation.sections:
            totals = sections.setdefault(section.id, [0, 0])
            totals[0] += section.earned
            totals[1] += section.possible
            titles[section.id] = section.title
        misses.update(i for i, a in run.evaluation.answers.items() if a is Answer.NO)
    flows = tuple(
        WorkflowProgress(
            wid,
            tuple(r.evaluation.score for r in by_flow[wid]),
            sum(r.evaluation.passed for r in by_flow[wid]),
            wid in cleared,
        )
        for wid in WorkflowId
    )
    return Progress(
        flows,
        tuple(SectionProgress(sid, titles[sid], e, p) for sid, (e, p) in sections.items()),
        tuple((i, n) for i, n in misses.most_common() if n >= REPEATED_MISS),
        fatal_runs,
    )


def may_assign(
    workflow: WorkflowId, *, clearance_required: bool, cleared: Collection[WorkflowId]
) -> bool:
    """True if real work in `workflow` may be assigned to this assistant.

    Rule (issue 9): only in workflows a trainer cleared them for; assistants who
    need no clearance (existing assistants) count as cleared for all.
    """
    return not clearance_required or workflow in cleared
