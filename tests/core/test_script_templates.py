"""Approved script bodies: valid wire scripts, full call structure, safe voicemail."""

from __future__ import annotations

import re

import pytest

from followup_core.enums import WorkflowId
from followup_core.schemas import ScriptOut
from followup_core.script_templates import approved_script

STEP_KEYS = ["greet", "verify-identity", "reason", "details", "next-step", "close"]
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def _as_script(wid: WorkflowId, version: int = 1) -> ScriptOut:
    return ScriptOut.model_validate(
        {
            "id": f"s-{wid.value}",
            "workflow": wid.value,
            "version": version,
            **approved_script(wid, version=version),
        }
    )


@pytest.mark.parametrize("wid", list(WorkflowId), ids=[w.value for w in WorkflowId])
def test_every_workflow_has_a_valid_approved_script(wid: WorkflowId) -> None:
    script = _as_script(wid)
    assert [s.key for s in script.steps] == STEP_KEYS
    assert all(s.text.strip() for s in script.steps)
    assert any(s.branches for s in script.steps if s.key == "details")
    assert script.approved_by
    assert len(script.do_not_say) >= 5
    assert any("medical advice" in line for line in script.do_not_say)
    # The voicemail names only the practice and the callback number.
    assert set(PLACEHOLDER.findall(script.voicemail)) <= {"practice_name", "callback_number"}
    assert "{practice_name}" in script.voicemail and "{callback_number}" in script.voicemail


def test_later_versions_are_approved_later() -> None:
    v1 = _as_script(WorkflowId.REACTIVATION, 1)
    v2 = _as_script(WorkflowId.REACTIVATION, 2)
    assert v2.approved_at > v1.approved_at
    with pytest.raises(ValueError):
        approved_script(WorkflowId.REACTIVATION, version=0)


def test_body_is_plain_json_data() -> None:
    import json

    body = approved_script("appointment-confirmation")
    assert json.loads(json.dumps(body)) == body
    assert set(body) == {"title", "approved_by", "approved_at", "steps", "voicemail", "do_not_say"}
