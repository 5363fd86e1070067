"""What the training desk draws from the server's answers (pure functions, no widgets)."""

from __future__ import annotations

from datetime import UTC, datetime

from assistant_tui.screens.training_cells import (
    bar,
    expected_lines,
    patient_lines,
    result_lines,
    result_text,
    run_cells,
    scenario_cells,
    trainee_cells,
)
from followup_core.training.wire import (
    ExpectedOut,
    PatientLineOut,
    RunOut,
    ScenarioSummary,
    TraineeOut,
)

LINES = [
    PatientLineOut(step="greet", branch=None, text="Hello?"),
    PatientLineOut(step="details", branch="Confirms", text="Yes, that works."),
    PatientLineOut(step="details", branch="Reschedule", text="Can we move it?"),
]


def _run(status: str, outcome: str | None, **evaluation: object) -> RunOut:
    body = {
        "form_id": "front-office-follow-up",
        "form_version": 1,
        "score": 62.5,
        "passed": False,
        "fatal_hit": [],
        "sections": [],
        "answers": {},
        "pending": [],
        "complete": False,
        **evaluation,
    }
    return RunOut.model_validate(
        {
            "id": "run-1",
            "scenario_id": "ac-confirm",
            "scenario_version": 1,
            "title": "Confirmation: patient confirms",
            "workflow": "appointment-confirmation",
            "trainee_id": "u-tess",
            "trainer_id": "u-terry",
            "task_id": "task-1",
            "status": status,
            "created_at": datetime(2026, 11, 30, 15, 4, tzinfo=UTC).isoformat(),
            "scored_at": None,
            "outcome": outcome,
            "evaluation": body,
        },
        strict=False,
    )


def _marked(lines: list[str]) -> list[str]:
    return [line for line in lines if "▶" in line]


def test_the_lines_at_the_trainees_step_are_marked() -> None:
    assert _marked(patient_lines(LINES, "greet", None)) == [
        "[b reverse]▶ greet: “Hello?”[/b reverse]"
    ]
    # No branch taken yet: every line of the step; a branch taken: only its line.
    assert len(_marked(patient_lines(LINES, "details", None))) == 2
    [only] = _marked(patient_lines(LINES, "details", "Reschedule"))
    assert "Can we move it?" in only
    assert _marked(patient_lines(LINES, None, None)) == []
    assert patient_lines([], "greet", None) == ["[dim](no patient lines)[/dim]"]


def test_patient_text_is_escaped_as_markup() -> None:
    line = PatientLineOut(step="greet", branch=None, text="[b]not bold[/b]")
    [shown] = patient_lines([line], None, None)
    assert "\\[b]not bold" in shown


def test_result_of_a_run_in_each_state() -> None:
    assert result_text(_run("assigned", None)).plain == "in progress"
    assert result_text(_run("assigned", "confirmed", pending=["courtesy"])).plain == "to mark: 1"
    assert result_text(_run("scored", "confirmed", passed=True)).plain == "PASS"
    assert result_text(_run("scored", "confirmed", passed=False)).plain == "FAIL"
    fatal = _run("scored", "confirmed", fatal_hit=["no-phi-before-identity"])
    assert result_text(fatal).plain == "FAIL (fatal)"
    lines = result_lines(fatal, {"no-phi-before-identity": "No PHI before identity"})
    assert lines[0].startswith("Score [b]62%[/b]") or lines[0].startswith("Score [b]63%[/b]")
    assert "  ✗ No PHI before identity" in lines


def test_a_run_not_scored_yet_says_what_is_missing() -> None:
    lines = result_lines(_run("assigned", None, pending=["courtesy", "script-followed"]), {})
    assert "2 item(s) to mark" in lines[0] and "the outcome is not saved" in lines[0]


def test_rows_put_what_matters_first() -> None:
    names = {"u-tess": "Tess Trainee"}
    row = run_cells(_run("scored", "confirmed", passed=True, score=91.0), names)
    assert [str(c) for c in row] == [
        "Tess Trainee",
        "PASS",
        "91%",
        "Confirmation: patient confirms",
        "11-30 15:04Z",
    ]
    assert run_cells(_run("assigned", None), {})[0] == "u-tess"  # an unknown trainee: the id
    scenario = ScenarioSummary(
        id="ac-confirm",
        version=1,
        title="Confirmation: patient confirms",
        workflow="appointment-confirmation",
        situations=["standard"],
        brief="b",
    )
    assert scenario_cells(scenario) == ["confirm", "patient confirms"]
    trainee = TraineeOut(
        id="u-tess",
        display_name="Tess Trainee",
        cleared=["appointment-confirmation", "reactivation"],
        runs=3,
        scored=2,
        open=1,
        last_score=None,
    )
    assert trainee_cells(trainee) == ["Tess Trainee", "-", "3 (1 open)", "confirm, reactivate"]


def test_expected_handling_for_the_trainer_only() -> None:
    assert "trainers only" in expected_lines(None)[0]
    expected = ExpectedOut(
        outcomes=["escalated"],
        route="urgent-symptom",
        voicemail=False,
        identity_verified=True,
        next_step="Clinical team calls back",
        next_due="today",
        handling="Escalate.",
    )
    first, second, third = expected_lines(expected)
    assert "escalated" in first and "escalate: urgent-symptom" in first
    assert "verify ID first" in first and "no voicemail" in first
    assert second.startswith("Next step: Clinical team calls back")
    assert third == "[i]Escalate.[/i]"


def test_bar() -> None:
    assert bar(None, 4) == "····"
    assert bar(50.0, 4) == "██░░"
    assert bar(150.0, 4) == "████"
