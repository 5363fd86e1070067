"""Snapshots of the trainee's side of training: a run in progress with the simulated
patient's strip, and the scored result, at 80x24 and 160x48.

Rendering only: the workspace (over the fixed offline cache, at the fixed clock) is
handed fixed server answers built from the wire schemas. The behaviour against a
real server is in test_training_trainee.py. Regenerate with `--snapshot-update`
and look at the SVGs like code.
"""

from __future__ import annotations

from typing import Any

import pytest

from followup_core.training.wire import LiveLineOut, RunOut, RunScriptOut
from tests.tui.data import NOW, USER_ID
from tests.tui.test_work_a_task import SIZE, settle

SMALL = (80, 24)
SIZES = [pytest.param(SMALL, id="80x24"), pytest.param(SIZE, id="160x48")]

SECTIONS = [
    ("privacy", "Privacy and identity", 35, 10, 20),
    ("safety", "Clinical safety", 30, 15, 15),
    ("resolution", "Outcome and next step", 25, 11, 11),
    ("manner", "Call handling", 10, 5, 5),
]


def run_out(task_id: str, *, scored: bool) -> RunOut:
    answers = {
        "no-phi-before-identity": "no",
        "no-phi-in-voicemail": "n/a",
        "identity-recorded": "yes",
        "nothing-to-others": "yes",
        "no-clinical-advice": "yes",
        "red-flag-escalated": "n/a",
        "escalation-route": "yes",
        "outcome-code": "yes",
        "voicemail-decision": "yes",
        "next-step-recorded": "n/a",
        "next-step-stated": "yes",
        "script-followed": "yes",
        "courtesy": "yes",
    }
    return RunOut.model_validate(
        {
            "id": "run-1",
            "scenario_id": "ac-confirm",
            "scenario_version": 1,
            "title": "Confirmation: patient confirms",
            "workflow": "appointment-confirmation",
            "trainee_id": USER_ID,
            "trainer_id": "u-terry",
            "task_id": task_id,
            "status": "scored" if scored else "assigned",
            "created_at": NOW.isoformat(),
            "scored_at": NOW.isoformat() if scored else None,
            "outcome": "confirmed" if scored else None,
            "evaluation": {
                "form_id": "front-office-follow-up",
                "form_version": 1,
                "score": 82.5,
                "passed": False,
                "fatal_hit": ["no-phi-before-identity"],
                "sections": [
                    {
                        "id": sid,
                        "title": title,
                        "weight": weight,
                        "earned": earned,
                        "possible": possible,
                        "percent": round(100 * earned / possible, 1),
                    }
                    for sid, title, weight, earned, possible in SECTIONS
                ],
                "answers": answers,
                "pending": [],
                "complete": True,
            },
        },
        strict=False,
    )


SCRIPT = RunScriptOut.model_validate(
    {
        "run_id": "run-1",
        "lines": [
            {"step": "greet", "branch": None, "text": "This is Priya."},
            {
                "step": "verify-identity",
                "branch": None,
                "text": "Sure. It's Priya Ramanathan, born November 8, 1992.",
            },
            {"step": "reason", "branch": None, "text": "Oh right, the check-up."},
        ],
        "expected": None,
    }
)
LIVE = LiveLineOut.model_validate(
    {
        "seq": 1,
        "step": "verify-identity",
        "text": "Hang on, why do you need my birthday?",
        "created_at": NOW.isoformat(),
    },
    strict=False,
)


@pytest.mark.parametrize("size", SIZES)
def test_run_in_progress_with_the_patient_strip(
    snap_compare: Any, make_app: Any, size: tuple[int, int]
) -> None:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        workspace = pilot.app.screen
        task_id = workspace.context.task.id
        workspace.training_runs = {task_id: run_out(task_id, scored=False)}
        workspace.training_scripts = {"run-1": SCRIPT}
        workspace.training_live = {"run-1": [LIVE]}
        await pilot.press("space")  # the verify-identity step: the strip follows it
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_scored_result(snap_compare: Any, make_app: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        workspace = pilot.app.screen
        workspace.show_training_result(run_out(workspace.context.task.id, scored=True))
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)
