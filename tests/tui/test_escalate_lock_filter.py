"""Escalation routes, the red-flag-free safety paths, locking, filtering and keymaps."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Input, Static

from assistant_tui.config import TuiSettings
from assistant_tui.screens.escalation import EscalationScreen
from assistant_tui.screens.lock import LockScreen
from assistant_tui.widgets.patient import PatientPane
from followup_core.enums import EscalationRoute
from followup_core.escalation import ROUTE_KEYS, ROUTES_NEEDING_REASON
from tests.tui.conftest import outbox
from tests.tui.data import EMERGENCY, ROUTE_CONTACTS
from tests.tui.test_work_a_task import SIZE, open_first, settle, text_of


async def test_escalate_each_route(make_app: Any, cache: Any) -> None:
    """Every route, one after another on the open task (one app: the suite stays fast)."""
    app = make_app()
    workspace = app.workspace
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        for count, route in enumerate(EscalationRoute, start=1):
            await pilot.press("e")
            assert isinstance(app.screen, EscalationScreen)
            name = ROUTE_CONTACTS[route][0]
            assert name in text_of(app, "#escalation-routes")  # every contact named up front
            await pilot.press(ROUTE_KEYS[route])
            if route is EscalationRoute.URGENT_SYMPTOM:
                # The instruction is on screen at once, before any reason is typed.
                assert EMERGENCY in text_of(app, "#escalation-instruction")
            if route in ROUTES_NEEDING_REASON:
                assert isinstance(app.screen, EscalationScreen)
                assert name in text_of(app, "#escalation-chosen")
                await pilot.press("enter")  # an empty reason is refused
                assert isinstance(app.screen, EscalationScreen)
                await pilot.press(*"why", "enter")
            await settle(pilot)
            assert app.screen.id == "workspace", route
            sent = outbox(cache, "escalation")
            assert len(sent) == count
            assert sent[-1]["task_id"] == "task-1" and sent[-1]["route"] == route.value
            banner = text_of(app, "#banner")
            assert name in banner
            assert (EMERGENCY in banner) is (route is EscalationRoute.URGENT_SYMPTOM)
            # Offline: visibly undelivered until the outbox drains.
            assert f"{count} escalation(s) undelivered" in str(workspace.status.render())
            assert "task-1" in workspace.queue.held


async def test_escalation_can_be_abandoned(make_app: Any, cache: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        await pilot.press("e", "ctrl+g")
        await settle(pilot)
        assert app.screen is app.workspace
        assert outbox(cache, "escalation") == []


async def test_lock_hides_phi_and_unlocks_with_the_passphrase(
    make_app: Any, passphrase: str
) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        await pilot.press("ctrl+l")
        assert isinstance(app.screen, LockScreen)
        assert not app.screen.query(PatientPane)  # nothing of the workspace is drawn
        assert "Sample" not in "\n".join(str(s.render()) for s in app.screen.query(Static))
        await pilot.press("e", "f4")  # workspace keys do nothing while locked
        assert isinstance(app.screen, LockScreen)
        await pilot.press(*"nope", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)
        assert "Wrong" in text_of(app, "#lock-error")
        await pilot.press(*passphrase, "enter")
        await settle(pilot)
        assert app.screen is app.workspace
        assert not app.locked


async def test_idle_auto_lock(make_app: Any) -> None:
    app = make_app(idle_lock_minutes=2)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app._check_idle(now=time.monotonic() + 60)
        assert not app.locked
        app._check_idle(now=time.monotonic() + 121)
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)


async def test_lock_closes_an_open_modal_first(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        await pilot.press("e", "ctrl+l")
        await pilot.pause()
        assert isinstance(app.screen, LockScreen)
        assert len(app.screen_stack) == 2  # workspace, lock: the modal is gone


async def test_filter_the_queue(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        queue = app.workspace.queue
        assert queue.shown == 6
        await pilot.press("slash", *"refer")
        assert [r.task_id for r in queue.rows] == ["task-4"]
        await pilot.press("enter")
        assert app.focused is queue
        await pilot.press("slash", *["backspace"] * 5, *"overdue", "enter")
        assert [r.task_id for r in queue.rows] == ["task-2"]
        assert "1 of 6" in text_of(app, "#queue-count")
        await pilot.press("enter")  # opens the filtered task
        await settle(pilot)
        assert app.workspace.context.task.id == "task-2"


async def test_keymap_override_from_the_config_file(
    make_app: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        'idle_lock_minutes = 60\n[keymap]\n"app.lock" = "f9"\n"queue.filter" = "ctrl+f"\n'
    )
    monkeypatch.setenv("ASSISTANT_TUI_CONFIG", str(config))
    settings = TuiSettings()
    assert settings.idle_lock_minutes == 15  # clamped: policy caps the idle lock
    assert settings.keymap == {"app.lock": "f9", "queue.filter": "ctrl+f"}
    app = make_app(**settings.model_dump())
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+l")  # the old key no longer locks
        assert app.screen is app.workspace
        await pilot.press("ctrl+f")
        assert isinstance(app.focused, Input) and app.focused.id == "queue-filter"
        await pilot.press("enter", "f9")
        assert isinstance(app.screen, LockScreen)


def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_TUI_IDLE_LOCK_MINUTES", "3")
    assert TuiSettings().idle_lock_minutes == 3


async def test_help_is_for_the_focused_area(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)  # focus is on the script
        await pilot.press("f1")
        shown = str(app.screen.query_one("#help-text", Static).render())
        assert shown.startswith("Script") and "1…9                Take a branch" in shown
        await pilot.press("f1")
        assert app.screen is app.workspace


async def test_a_broken_config_file_starts_with_defaults(
    cache: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from assistant_tui.app import AssistantApp
    from tests.tui.data import NOW

    config = tmp_path / "broken.toml"
    config.write_text("idle_lock_minutes = = 3\n")
    monkeypatch.setenv("ASSISTANT_TUI_CONFIG", str(config))
    app = AssistantApp(cache, clock=lambda: NOW)  # settings read from the file
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.settings.idle_lock_minutes == 5
        messages = [n.message for n in app._notifications]
        assert any("broken.toml not used" in m for m in messages)
        assert app.workspace.context is not None  # the queue still works


async def test_command_palette_runs_workspace_actions(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p", *"lock the", "enter")
        await settle(pilot)
        assert isinstance(app.screen, LockScreen)


async def test_escalation_at_80x24_keeps_the_emergency_instruction_on_screen(
    make_app: Any,
) -> None:
    """At 80x24 every route fits on one line and choosing `urgent-symptom` shows the
    EMERGENCY instruction and the reason field inside the screen."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await open_first(pilot)
        await pilot.press("e")
        assert isinstance(app.screen, EscalationScreen)
        routes = app.screen.query_one("#escalation-routes", Static)
        assert routes.region.height == len(EscalationRoute)  # one line per route
        await pilot.press(ROUTE_KEYS[EscalationRoute.URGENT_SYMPTOM])
        await settle(pilot)
        screen = app.screen.region
        for selector in ("#escalation-instruction", "#escalation-reason"):
            widget = app.screen.query_one(selector)
            region = widget.region
            assert region.height > 0, selector
            assert screen.contains_region(region), (selector, region, screen)
        assert EMERGENCY in text_of(app, "#escalation-instruction")
