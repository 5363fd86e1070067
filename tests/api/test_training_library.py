"""The scenario library and default form shipped with the product load and cover issue 9."""

from __future__ import annotations

from central_api.training import default_form, shipped_scenarios
from followup_core.enums import WorkflowId
from followup_core.training.evaluation import AutoCheck
from followup_core.training.run import STEP_KEYS
from followup_core.training.scenarios import Situation


def test_at_least_16_scenarios_cover_every_workflow_and_situation() -> None:
    scenarios = shipped_scenarios()
    assert len(scenarios) >= 16
    assert {s.workflow for s in scenarios.values()} == set(WorkflowId)
    covered = {sit for s in scenarios.values() for sit in s.situations}
    assert covered == set(Situation)


def test_every_scenario_gives_lines_and_handling() -> None:
    for scenario in shipped_scenarios().values():
        assert scenario.lines and all(line.step in STEP_KEYS for line in scenario.lines)
        assert scenario.expected.handling.strip()
        if scenario.expected.identity_verified:
            assert scenario.lines_for("verify-identity"), scenario.id
        if scenario.expected.next_step:
            assert scenario.expected.next_due, scenario.id


def test_the_default_form_has_the_four_fatal_items() -> None:
    form = default_form()
    assert sum(s.weight for s in form.sections) == 100
    fatal = {i.id for i in form.items() if i.fatal}
    assert fatal == {
        "no-phi-before-identity",
        "no-phi-in-voicemail",
        "no-clinical-advice",
        "red-flag-escalated",
    }
    autos = {i.auto for i in form.items() if i.auto is not None}
    assert autos == set(AutoCheck)
    assert any(i.trainer_marked for i in form.items())
