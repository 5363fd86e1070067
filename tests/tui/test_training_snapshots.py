"""Snapshots of the training desk, a run being followed, the scored result and a
trainee's progress, at 80x24 and 120x40.

Rendering only: the screens get fixed server answers built from the real shipped
library (scenarios, the default form) and scored by the real
`followup_core.training.evaluation.evaluate`, at the fixed clock; the live
behaviour against a real server is in test_training_desk.py. Regenerate with
`--snapshot-update` and look at the SVGs like code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from followup_core.supervision import SessionSnapshot, ShadowSession
from followup_core.training.evaluation import Answer, Mark, evaluate
from followup_core.training.run import RunOutcome, RunRecord
from followup_core.training.wire import (
    PatientLineOut,
    ProgressOut,
    RunOut,
    RunScriptOut,
    ScenarioSummary,
    TraineeOut,
    evaluation_out,
)
from tests.tui.data import NOW
from tests.tui.test_work_a_task import settle

SIZES = [(80, 24), (120, 40)]
TESS, THEO = "u-tess", "u-theo"


def _library() -> tuple[list[ScenarioSummary], Any]:
    from central_api.training import default_form, shipped_scenarios

    scenarios = [
        ScenarioSummary(
            id=s.id,
            version=s.version,
            title=s.title,
            workflow=s.workflow,
            situations=[str(x) for x in s.situations],
            brief=s.brief,
        )
        for _, s in sorted(shipped_scenarios().items())
    ]
    return scenarios, default_form()


def _run(
    scenario_id: str,
    trainee: str,
    minutes_ago: int,
    *,
    outcome: str | None,
    phi_first: bool = False,
    marked: bool = False,
) -> RunOut:
    from central_api.training import default_form, shipped_scenarios

    scenario = shipped_scenarios()[scenario_id]
    form = default_form()
    steps: list[dict[str, Any]] = [{"type": "script-step", "step": 0}]
    if outcome == "left-voicemail":
        steps.append({"type": "script-step", "step": 2, "voicemail": True})
    else:
        if phi_first:
            steps.append({"type": "script-step", "step": 3})
        steps += [
            {"type": "identity-verified", "verified": True},
            {"type": "script-step", "step": 3},
        ]
    record = RunRecord.model_validate(
        {
            "events": steps,
            "outcome": RunOutcome(
                outcome=outcome,
                channel="phone",
                identity_verified=outcome != "left-voicemail",
                next_step=bool(scenario.expected.next_step),
            ).model_dump(mode="json")
            if outcome
            else None,
        },
        strict=False,
    )
    marks = []
    if marked:
        marks = [
            Mark(i.id, Answer.YES)
            for s in form.sections
            for i in s.items
            if i.auto is None and i.id != "courtesy"
        ]
        marks.append(Mark("courtesy", Answer.NO, "rushed the close"))
    result = evaluate(form, scenario.expected.expected(), record, marks)
    scored = marked and outcome is not None and result.complete
    return RunOut(
        id=f"run-{scenario_id}-{trainee}",
        scenario_id=scenario_id,
        scenario_version=scenario.version,
        title=scenario.title,
        workflow=scenario.workflow,
        trainee_id=trainee,
        trainer_id="user-1",
        task_id="task-1" if not marked else f"task-{scenario_id}",
        status="scored" if scored else "assigned",
        created_at=NOW - timedelta(minutes=minutes_ago),
        scored_at=NOW - timedelta(minutes=minutes_ago - 20) if scored else None,
        outcome=outcome,
        evaluation=evaluation_out(result),
    )


RUNS = [
    _run("ac-confirm", TESS, 5, outcome=None),
    _run("mcr-someone-else", THEO, 40, outcome="no-answer", marked=False),
    _run("ac-voicemail", TESS, 90, outcome="left-voicemail", marked=True),
    _run("ac-reschedule-callback", THEO, 200, outcome="confirmed", phi_first=True, marked=True),
]
TRAINEES = [
    TraineeOut(
        id=TESS,
        display_name="Tess Trainee",
        cleared=["appointment-confirmation"],
        runs=5,
        scored=4,
        open=1,
        last_score=88.0,
    ),
    TraineeOut(
        id=THEO, display_name="Theo Trainee", cleared=[], runs=2, scored=1, open=1, last_score=0.0
    ),
]
PROGRESS = ProgressOut.model_validate(
    {
        "trainee_id": TESS,
        "workflows": [
            {
                "workflow": "appointment-confirmation",
                "runs": 4,
                "scores": [55.0, 72.5, 81.0, 88.0],
                "passed": 2,
                "cleared": True,
            },
            {
                "workflow": "missed-call-recovery",
                "runs": 2,
                "scores": [0.0, 64.0],
                "passed": 0,
                "cleared": False,
            },
            {
                "workflow": "prescription-message-routing",
                "runs": 0,
                "scores": [],
                "passed": 0,
                "cleared": False,
            },
        ],
        "sections": [
            {
                "section_id": "privacy",
                "title": "Privacy and identity",
                "earned": 120,
                "possible": 150,
                "percent": 80.0,
            },
            {
                "section_id": "safety",
                "title": "Clinical safety",
                "earned": 140,
                "possible": 150,
                "percent": 93.3,
            },
            {
                "section_id": "resolution",
                "title": "Outcome and next step",
                "earned": 60,
                "possible": 100,
                "percent": 60.0,
            },
        ],
        "repeated_misses": [["next-step-stated", 3], ["courtesy", 2]],
        "fatal_runs": 1,
    },
    strict=False,
)


class FixedTraining:
    """The training endpoints' answers for a rendering snapshot (no network)."""

    async def scenarios(self) -> list[ScenarioSummary]:
        return _library()[0]

    async def forms(self) -> list[Any]:
        return [_library()[1]]

    async def trainees(self) -> list[TraineeOut]:
        return TRAINEES

    async def runs(self, trainee_id: str | None = None) -> list[RunOut]:
        return RUNS

    async def run(self, run_id: str) -> RunOut:
        return next(r for r in RUNS if r.id == run_id)

    async def script(self, run_id: str) -> RunScriptOut:
        from central_api.training import shipped_scenarios

        scenario = shipped_scenarios()["ac-confirm"]
        exp = scenario.expected
        return RunScriptOut.model_validate(
            {
                "run_id": run_id,
                "lines": [
                    PatientLineOut(step=ln.step, branch=ln.branch, text=ln.text).model_dump()
                    for ln in scenario.lines
                ],
                "expected": {
                    "outcomes": list(exp.outcomes),
                    "route": exp.route,
                    "voicemail": exp.voicemail,
                    "identity_verified": exp.identity_verified,
                    "next_step": exp.next_step,
                    "next_due": exp.next_due,
                    "handling": exp.handling,
                },
            },
            strict=False,
        )

    async def progress(self, trainee_id: str) -> ProgressOut:
        return PROGRESS


class FixedMirror:
    """The supervision endpoints' answers: Tess on task-1, at the identity step."""

    async def start_shadow(self, user_id: str) -> ShadowSession:
        snapshot = SessionSnapshot.model_validate(
            {
                "user_id": user_id,
                "display_name": "Tess Trainee",
                "status": "active",
                "seq": 4,
                "updated_at": NOW.isoformat(),
                "state": {
                    "agent_state": "on-call",
                    "task_id": "task-1",
                    "identity_verified": False,
                    "step": 1,
                    "outcome": None,
                    "form": {"channel": "phone", "notes": ""},
                },
                "observers": [{"user_id": "user-1", "display_name": "Avery Trainer"}],
                "told": True,
            },
            strict=False,
        )
        return ShadowSession.model_validate(
            {
                "id": "shadow-1",
                "observer_id": "user-1",
                "subject_id": user_id,
                "started_at": NOW.isoformat(),
                "ended_at": None,
                "snapshot": snapshot.model_dump(mode="json"),
            },
            strict=False,
        )


async def _desk(pilot: Any) -> Any:
    await settle(pilot)
    desk = pilot.app.screen
    desk._fixed_api = FixedTraining()
    desk.load_library()
    desk.refresh_runs()
    await settle(pilot)
    return desk


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_training_desk(snap_compare: Any, make_app: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        desk = await _desk(pilot)
        desk.query_one("#train-scenarios").move_cursor(row=1)
        await settle(pilot)

    assert snap_compare(make_app("trainer"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_following_a_run(snap_compare: Any, make_app: Any, size: tuple[int, int]) -> None:
    from assistant_tui.screens.training_follow import FollowRunScreen

    async def run_before(pilot: Any) -> None:
        desk = await _desk(pilot)
        form = desk.form_of(RUNS[0])
        app = pilot.app
        app.push_screen(
            FollowRunScreen(
                app.services, FixedMirror(), FixedTraining(), RUNS[0], "Tess Trainee", form
            )  # type: ignore[arg-type]
        )
        await settle(pilot)
        await pilot.pause(0.2)
        await settle(pilot)

    assert snap_compare(make_app("trainer"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_scored_result(snap_compare: Any, make_app: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        desk = await _desk(pilot)
        desk.show_result(RUNS[3])  # the fatal one: PHI before identity
        await settle(pilot)

    assert snap_compare(make_app("trainer"), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_trainee_progress(snap_compare: Any, make_app: Any, size: tuple[int, int]) -> None:
    async def run_before(pilot: Any) -> None:
        desk = await _desk(pilot)
        desk.query_one("#train-trainees").focus()
        await pilot.press("p")
        await settle(pilot)
        await pilot.pause(0.1)
        await settle(pilot)

    assert snap_compare(make_app("trainer"), terminal_size=size, run_before=run_before)
