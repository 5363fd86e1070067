"""Loading scenario and evaluation-form files: refusals name the line."""

from __future__ import annotations

import pytest

from followup_core.enums import WorkflowId
from followup_core.training.evaluation import load_form
from followup_core.training.scenarios import load_scenario, load_scenarios
from followup_core.training.tomlsource import TomlSource, TrainingFileError

FORM = """\
id = "f"
version = 1
title = "Form"
pass_mark = 80

[[sections]]
id = "a"
title = "A"
weight = 60

[[sections.items]]
id = "a1"
text = "Q"
points = 5

[[sections]]
id = "b"
title = "B"
weight = 40

[[sections.items]]
id = "b1"
text = "Q"
points = 5

[[sections.items]]
id = "b2"
text = "Q"
points = 3
"""

SCENARIO = """\
id = "s"
version = 2
title = "Scenario"
workflow = "appointment-confirmation"
situations = ["standard"]
brief = "Visit in 2 days."

[patient]
first_name = "Test"
last_name = "Person"
dob = "1990-01-01"
phone = "+1 217 555 0100"

[context]
appointment_date = "Friday"

[[lines]]
step = "greet"
text = "Hello."

[[lines]]
step = "details"
branch = "Confirms"
text = "Yes, fine."

[expected]
outcomes = ["confirmed"]
identity_verified = true
handling = "Confirm it."
"""


def _lineno(text: str, needle: str, nth: int = 1) -> int:
    hits = [n for n, line in enumerate(text.splitlines(), 1) if line.startswith(needle)]
    return hits[nth - 1]


def test_good_files_load() -> None:
    form = load_form(FORM, "forms/f.toml")
    assert [s.weight for s in form.sections] == [60, 40]
    scenario = load_scenario(SCENARIO, "scenarios/s.toml")
    assert scenario.version == 2 and scenario.workflow is WorkflowId.APPOINTMENT_CONFIRMATION
    assert scenario.lines_for("details", "Confirms")[0].text == "Yes, fine."
    assert scenario.lines_for("greet", "Someone else answers")[0].text == "Hello."


def test_weights_not_totalling_100_name_the_first_section() -> None:
    text = FORM.replace("weight = 40", "weight = 30")
    with pytest.raises(TrainingFileError) as caught:
        load_form(text, "forms/f.toml")
    assert caught.value.line == _lineno(text, "[[sections]]")
    assert str(caught.value).startswith(f"forms/f.toml:{caught.value.line}: ")
    assert "total 90" in str(caught.value)


def test_an_item_without_points_names_its_table() -> None:
    text = FORM.replace('id = "b2"\ntext = "Q"\npoints = 3\n', 'id = "b2"\ntext = "Q"\n')
    with pytest.raises(TrainingFileError, match="'b2' has no points") as caught:
        load_form(text, "f.toml")
    assert caught.value.line == _lineno(text, "[[sections.items]]", nth=3)


def test_zero_points_names_the_points_line() -> None:
    text = FORM.replace("points = 3", "points = 0")
    with pytest.raises(TrainingFileError, match="points") as caught:
        load_form(text, "f.toml")
    assert caught.value.line == _lineno(text, "points = 0")


def test_bad_toml_names_the_line() -> None:
    with pytest.raises(TrainingFileError, match="not valid TOML") as caught:
        load_form('id = "f"\nversion = = 1\n', "f.toml")
    assert caught.value.line == 2


@pytest.mark.parametrize(
    ("old", "new", "line_start", "message"),
    [
        ('outcomes = ["confirmed"]', 'outcomes = ["booked"]', "outcomes", "'booked' is not an"),
        (
            "identity_verified = true",
            'route = "lab-results"\nidentity_verified = true',
            "route",
            "expected.route",
        ),
        (
            "identity_verified = true",
            'route = "repeated-failed-contact"\nroute2 = 1\nidentity_verified = true',
            "route2",
            "route2",
        ),
        ('branch = "Confirms"', 'branch = "Says yes"', "branch", "no branch 'Says yes'"),
        ('step = "greet"', 'step = "hello"', 'step = "hello"', "not a script step"),
        ('appointment_date = "Friday"', 'diagnosis = "x"', "diagnosis", "not a script placeholder"),
        (
            "identity_verified = true",
            "identity_verified = false",
            "outcomes",
            "requires identity verified",
        ),
        (
            "identity_verified = true",
            "voicemail = true\nidentity_verified = true",
            "voicemail",
            "must expect left-voicemail",
        ),
    ],
)
def test_scenario_refusals_name_the_line(old: str, new: str, line_start: str, message: str) -> None:
    text = SCENARIO.replace(old, new)
    assert text != SCENARIO
    with pytest.raises(TrainingFileError, match=message) as caught:
        load_scenario(text, "scenarios/s.toml")
    assert caught.value.line == _lineno(text, line_start)


def test_a_route_the_workflow_does_not_offer_is_refused() -> None:
    text = SCENARIO.replace(
        "identity_verified = true", 'route = "clinical"\nidentity_verified = true'
    )
    load_scenario(text, "s.toml")  # clinical is offered everywhere
    rx = (
        text.replace('route = "clinical"', 'route = "scheduling-exception"')
        .replace("appointment-confirmation", "prescription-message-routing")
        .replace('outcomes = ["confirmed"]', 'outcomes = ["routed-to-clinical"]')
    )
    rx = rx.replace('branch = "Confirms"\n', "")
    with pytest.raises(TrainingFileError, match="not offered on prescription") as caught:
        load_scenario(rx, "s.toml")
    assert caught.value.line == _lineno(rx, "route")


def test_a_scenario_id_used_twice_is_refused() -> None:
    with pytest.raises(TrainingFileError, match="used twice"):
        load_scenarios({"a.toml": SCENARIO, "b.toml": SCENARIO})


def test_line_index_follows_nested_arrays_of_tables() -> None:
    source = TomlSource("f.toml", FORM)
    assert source.line_of(("sections", 1, "items", 1, "points")) == _lineno(FORM, "points = 3")
    assert source.line_of(("sections", 1, "weight")) == _lineno(FORM, "weight = 40")
    assert source.line_of(("nowhere",)) == 0
