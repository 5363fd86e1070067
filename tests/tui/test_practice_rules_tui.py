"""The workspace follows the practice's file: only its channels are offered, and its
voicemail wording is the voicemail step's (issue 13)."""

from __future__ import annotations

import json
from typing import Any

from followup_core.enums import WorkflowId
from followup_core.schemas import SyncPage
from tests.tui import data
from tests.tui.test_work_a_task import SIZE, open_first, settle, text_of

WORDING = "Hello from {practice_name}, please ring {callback_number} when you can. Thanks!"


def _practice_page(**fields: Any) -> SyncPage:
    """The practice record again, a version later, with `fields` (and scripts that have no
    voicemail of their own, so the practice's wording applies)."""
    changes = [{**data.change("practice", {**data.practice(), **fields}), "version": 2}]
    for wid in WorkflowId:
        script = {**data.script_record(wid), "voicemail": "", "version": 2}
        changes.append(data.change("script", script))
    body = {"cursor": "c-2", "has_more": False, "changes": changes}
    return SyncPage.model_validate_json(json.dumps(body))


async def test_only_the_practices_channels_are_offered(make_app: Any, cache: Any) -> None:
    cache.apply_page(_practice_page(channels=["phone", "voicemail"], voicemail=WORDING))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        # Patient 1 consented to phone, voicemail, sms and portal; the practice uses two.
        offered = {c.value for c in app.workspace.form.channels}
        assert offered and offered <= {"phone", "voicemail"}
        await pilot.press("m")  # message sent needs a written channel: none is offered
        assert app.workspace.form.channel not in ("sms", "portal", "email")


async def test_the_voicemail_step_uses_the_practices_wording(make_app: Any, cache: Any) -> None:
    cache.apply_page(_practice_page(voicemail=WORDING))
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        await pilot.press("v")
        await settle(pilot)
        shown = text_of(app, "#script-body .script-voicemail")
        assert "Hello from Maple Street Family Practice, please ring" in shown
        assert "Avery" not in shown  # still no patient name on an answering machine
    # Without a practice wording, the product's default.
    cache.apply_page(
        SyncPage.model_validate_json(
            json.dumps(
                {
                    "cursor": "c-3",
                    "has_more": False,
                    "changes": [{**data.change("practice", data.practice()), "version": 3}],
                }
            )
        )
    )
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        await pilot.press("v")
        await settle(pilot)
        shown = text_of(app, "#script-body .script-voicemail")
        assert "Hello, this is Maple Street Family Practice. Please call us back" in shown


def test_tasks_cancelled_when_their_workflow_is_turned_off_leave_the_queue(cache: Any) -> None:
    """What `practice apply` sends when a workflow is turned off (the task cancelled,
    business status workflow-turned-off) takes the task out of the offline queue."""
    row = data.TASKS[0]
    assert row[0] in {r.task_id for r in cache.queue()}
    cancelled = {
        **data.task(row, version=2),
        "status": "cancelled",
        "business_status": "workflow-turned-off",
    }
    body = {"cursor": "c-2", "has_more": False, "changes": [data.change("task", cancelled)]}
    cache.apply_page(SyncPage.model_validate_json(json.dumps(body)))
    assert row[0] not in {r.task_id for r in cache.queue()}
    assert len(cache.queue()) == len(data.TASKS) - 1
