"""A trainee's progress, the clearance rule, and recording a run from the mirror."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from followup_core.enums import WorkflowId
from followup_core.training.evaluation import Answer, SectionResult, score_answers
from followup_core.training.progress import ScoredRun, may_assign, progress
from followup_core.training.recorder import run_events
from followup_core.training.run import EscalationPicker, IdentityVerified, ScriptStep
from tests.core.test_training_scoring import _form

T0 = datetime(2026, 11, 30, 14, 0, tzinfo=UTC)
CONFIRM = WorkflowId.APPOINTMENT_CONFIRMATION


def _run(n: int, workflow: WorkflowId, **answers: Answer) -> ScoredRun:
    base = {"phi": Answer.YES, "vm": Answer.NA, "code": Answer.YES, "manner": Answer.YES}
    evaluation = score_answers(_form(), {**base, **answers})
    return ScoredRun(f"r{n}", T0 + timedelta(hours=n), workflow, "s", evaluation)


def test_progress_by_workflow_section_and_repeated_misses() -> None:
    runs = [
        _run(2, CONFIRM, manner=Answer.NO),
        _run(1, CONFIRM, phi=Answer.NO, manner=Answer.NO),
        _run(3, WorkflowId.REACTIVATION),
    ]
    result = progress(runs, cleared={WorkflowId.REACTIVATION})
    flows = {w.workflow: w for w in result.workflows}
    assert len(flows) == len(WorkflowId)
    assert flows[CONFIRM].scores == (20.0, 80.0)  # oldest first
    assert flows[CONFIRM].passed == 1 and flows[CONFIRM].last_score == 80.0
    assert flows[WorkflowId.REACTIVATION].cleared and not flows[CONFIRM].cleared
    assert flows[WorkflowId.INTAKE_COMPLETION].runs == 0
    privacy = next(s for s in result.sections if s.section_id == "privacy")
    assert (privacy.earned, privacy.possible, privacy.percent) == (20, 30, 66.7)
    assert result.repeated_misses == (("manner", 2),)
    assert result.fatal_runs == 1


def test_runs_awaiting_marks_do_not_count() -> None:
    pending = _run(1, CONFIRM)
    unmarked = ScoredRun(
        "r9", T0, CONFIRM, "s", score_answers(_form(), {"phi": Answer.YES, "code": Answer.YES})
    )
    assert not unmarked.evaluation.complete
    flows = {w.workflow: w for w in progress([pending, unmarked]).workflows}
    assert flows[CONFIRM].runs == 1


@given(st.sampled_from(list(WorkflowId)), st.sets(st.sampled_from(list(WorkflowId))))
def test_clearance_rule(workflow: WorkflowId, cleared: set[WorkflowId]) -> None:
    assert may_assign(workflow, clearance_required=False, cleared=cleared)
    assert may_assign(workflow, clearance_required=True, cleared=cleared) == (workflow in cleared)


def test_run_events_keep_the_run_task_and_drop_text() -> None:
    mirror: list[dict[str, Any]] = [
        {"type": "identity-verified", "verified": True},  # before any task: dropped
        {"type": "task-opened", "task_id": "t1"},
        {"type": "script-step", "step": 0, "branch": None, "voicemail": False},
        {"type": "form", "notes": "typed text is never kept"},
        {"type": "identity-verified", "verified": True},
        {"type": "escalation-picker", "open": True, "route": "billing", "reason": "typed"},
        {"type": "script-step", "step": -1},  # malformed: skipped
        {"type": "task-opened", "task_id": "t2"},
        {"type": "script-step", "step": 2},
        {"type": "task-opened", "task_id": "t1"},
        {"type": "script-step", "step": 3, "voicemail": True},
        {"type": "task-closed"},
        {"type": "script-step", "step": 4},
    ]
    assert run_events(mirror, "t1") == [
        ScriptStep(type="script-step", step=0),
        IdentityVerified(type="identity-verified", verified=True),
        EscalationPicker(type="escalation-picker", open=True, route="billing"),  # type: ignore[arg-type]
        ScriptStep(type="script-step", step=3, voicemail=True),
    ]


def test_section_result_percent_is_none_when_all_na() -> None:
    assert SectionResult("s", "S", 10, 0, 0).percent is None
