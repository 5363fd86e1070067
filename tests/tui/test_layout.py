"""The workspace by terminal size: workable at 80x24, a message below it (issue 12.1)."""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Static

from assistant_tui.modes.workspace import layout_for
from assistant_tui.widgets.outcome import OutcomeForm
from assistant_tui.widgets.patient import PatientPane
from assistant_tui.widgets.queue import QueuePane
from assistant_tui.widgets.script import ScriptPane
from tests.tui.conftest import outbox
from tests.tui.data import odd_names_page
from tests.tui.test_work_a_task import open_first, settle


@pytest.mark.parametrize(
    ("size", "kind"),
    [
        ((79, 40), "too-small"),
        ((200, 23), "too-small"),
        ((80, 24), "narrow"),
        ((99, 60), "narrow"),
        ((100, 30), "medium"),
        ((149, 48), "medium"),
        ((150, 24), "wide"),
        ((160, 48), "wide"),
    ],
)
def test_layout_for(size: tuple[int, int], kind: str) -> None:
    assert layout_for(*size) == kind


def inside(app: Any, widget: Any) -> bool:
    """The widget is drawn, whole, inside the terminal."""
    region = widget.region
    width, height = app.size
    return (
        widget.display
        and region.width > 0
        and region.height > 0
        and region.right <= width
        and region.bottom <= height
    )


def screen_text(app: Any) -> str:
    return "\n".join(
        "".join(segment.text for segment in strip)
        for strip in app.screen._compositor.render_strips()
    )


async def test_a_call_is_worked_at_80x24(make_app: Any, cache: Any) -> None:
    cache.apply_page(odd_names_page())
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first(pilot)
        screen = app.screen
        assert screen.has_class("-narrow", "view-script")
        script = screen.query_one(ScriptPane)
        form = screen.query_one(OutcomeForm)
        # The current step and the outcome keys are on screen, whole.
        assert inside(app, script) and inside(app, form)
        keys = screen.query_one("#outcome-keys", Static)
        assert inside(app, keys)
        text = screen_text(app)
        assert "[c] confirmed" in text and "[w] wrong-number" in text
        assert "1. Greet" in text
        # Identity, then confirm and save, all from the keyboard.
        await pilot.press("f4", "space", "c", "ctrl+s")
        await settle(pilot)
        assert [(a["task_id"], a["outcome"]) for a in outbox(cache, "attempt")] == [
            ("task-1", "confirmed")
        ]
        assert app.workspace.context.task.id == "task-2"


async def test_f7_cycles_the_panes_and_the_step_stays_in_sight(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first(pilot)
        screen = app.screen
        queue, script = screen.query_one(QueuePane), screen.query_one(ScriptPane)
        patient, line = screen.query_one(PatientPane), screen.query_one("#step-line", Static)
        assert script.display and not queue.display and not line.display
        await pilot.press("f7")
        await pilot.pause()
        assert patient.display and not script.display and line.display
        assert "Step 1/6 · Greet" in str(line.render())
        assert app.focused is patient
        await pilot.press("f7")
        await pilot.pause()
        assert queue.display and not patient.display and line.display
        assert app.focused is screen.query_one("QueueList")
        assert inside(app, screen.query_one(OutcomeForm))
        await pilot.press("f7")
        await pilot.pause()
        assert script.display and not line.display


async def test_medium_keeps_patient_and_outcome_beside_the_main_pane(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await open_first(pilot)
        screen = app.screen
        assert screen.has_class("-medium")
        for pane in (ScriptPane, PatientPane, OutcomeForm):
            assert inside(app, screen.query_one(pane))
        assert not screen.query_one(QueuePane).display
        await pilot.press("f7")
        await pilot.pause()
        assert screen.query_one(QueuePane).display and not screen.query_one(ScriptPane).display
        assert "Step 1/6" in str(screen.query_one("#step-line", Static).render())


async def test_wide_shows_every_pane_and_f7_does_nothing(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await open_first(pilot)
        screen = app.screen
        await pilot.press("f7")
        await pilot.pause()
        for pane in (QueuePane, ScriptPane, PatientPane, OutcomeForm):
            assert inside(app, screen.query_one(pane))
        assert not screen.query_one("#pane-tabs", Static).display


async def test_below_the_minimum_a_message_then_back(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=(70, 20)) as pilot:
        await open_first(pilot)
        screen = app.screen
        message = screen.query_one("#too-small", Static)
        assert message.display
        assert "This terminal is 70x20; the workspace needs at least 80x24." in str(
            message.render()
        )
        assert not screen.query_one("#panes").display
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        assert not message.display and screen.query_one("#panes").display
        assert inside(app, screen.query_one(OutcomeForm))


async def test_below_the_minimum_the_workspace_keys_do_nothing(make_app: Any, cache: Any) -> None:
    """The too-small message hides the panes, so an outcome key, save, state or
    escalate key must not act unseen; at 80x24 again they work."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first(pilot)
        screen = app.screen
        state = screen.agent_state
        await pilot.resize_terminal(79, 23)
        await settle(pilot)
        assert screen.query_one("#too-small", Static).display
        await pilot.press("f4", "n", "ctrl+s", "enter", "f3", "f2")
        await settle(pilot)
        assert app.screen is screen  # no escalation picker opened
        assert outbox(cache, "attempt") == []
        assert screen.agent_state == state
        assert not screen.verified
        await pilot.resize_terminal(80, 24)
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert screen.agent_state != state
