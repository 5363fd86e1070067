"""Which of a scenario's lines the simulated patient's strip shows (`lines_for`)."""

from __future__ import annotations

from assistant_tui.widgets.patient_lines import lines_for
from followup_core.training.wire import PatientLineOut

LINES = [
    PatientLineOut(step="greet", branch=None, text="This is Priya."),
    PatientLineOut(step="details", branch="Confirms", text="Yes, Thursday works."),
    PatientLineOut(step="details", branch="Needs a different time", text="Can we move it?"),
    PatientLineOut(step="close", branch=None, text="Thanks!"),
    PatientLineOut(step="close", branch="Confirms", text="See you Thursday."),
]


def test_the_step_own_line() -> None:
    assert lines_for(LINES, "greet", None, False) == ["This is Priya."]
    assert lines_for(LINES, "reason", None, False) == []


def test_no_branch_taken_shows_every_answer_that_tells_which_to_take() -> None:
    assert lines_for(LINES, "details", None, False) == ["Yes, Thursday works.", "Can we move it?"]


def test_a_branch_taken_shows_its_line_else_the_step_plain_line() -> None:
    assert lines_for(LINES, "details", "Confirms", False) == ["Yes, Thursday works."]
    assert lines_for(LINES, "close", "Confirms", False) == ["See you Thursday."]
    assert lines_for(LINES, "close", "Other", False) == ["Thanks!"]
    assert lines_for(LINES, "details", "Other", False) == []
    assert lines_for(LINES, "close", None, False) == ["Thanks!"]


def test_nobody_speaks_on_a_voicemail_or_past_the_script() -> None:
    assert lines_for(LINES, "greet", None, True) == []
    assert lines_for(LINES, None, None, False) == []
