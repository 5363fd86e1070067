"""One App, one mode per role: the right view for each role, no queue where none belongs.

The cache is the same seeded one for every role (as a supervisor's cache holds
the practice's records): what a role is shown is the shell's choice, not the data's.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.widgets import Static

from assistant_tui.modes.base import ModeScreen
from assistant_tui.screens.lock import LockScreen
from assistant_tui.widgets.queue import QueueList
from tests.tui.test_work_a_task import SIZE, open_first, settle

# Patient data of the seeded cache that no placeholder may draw.
PHI = ("Sample", "555-0101", "Example, Blake")

ROLES = [
    ("assistant", "workspace", ("workspace",)),
    ("supervisor", "supervise", ("supervise", "metrics")),
    ("trainer", "train", ("train",)),
    ("manager", "metrics", ("metrics",)),
    ("admin", "metrics", ("metrics", "supervise")),
]


def screen_text(app: Any) -> str:
    return "\n".join(str(s.render()) for s in app.screen.query(Static))


@pytest.mark.parametrize(("role", "first", "views"), ROLES)
async def test_each_role_opens_its_own_mode(
    make_app: Any, role: str, first: str, views: tuple[str, ...]
) -> None:
    app = make_app(role)
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.views == views
        assert app.current_mode == first
        assert isinstance(app.screen, ModeScreen) and first == app.screen.MODE
        if role == "assistant":
            assert app.screen.query(QueueList)
            return
        # Not a queue, not the practice's tasks: an honest placeholder.
        assert app.workspace is None
        assert not app.screen.query(QueueList)
        shown = screen_text(app)
        assert not any(phi in shown for phi in PHI)
        assert f"Avery {role.title()}" in shown and role in shown  # who is signed in
        assert "offline" in shown  # no sync engine here: the link state says so


async def test_supervisor_sees_no_task_queue_in_any_of_their_views(make_app: Any) -> None:
    app = make_app("supervisor")
    async with app.run_test(size=SIZE) as pilot:
        for _ in app.views:
            await settle(pilot)
            assert not app.screen.query(QueueList)
            assert not any(phi in screen_text(app) for phi in PHI)
            await pilot.press("f8")
        assert not any(isinstance(s, ModeScreen) and s.SHOWS_PHI for s in app.mode_screens.values())


async def test_the_view_key_and_the_palette_switch_modes(make_app: Any) -> None:
    app = make_app("supervisor")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert app.current_mode == "supervise"
        await pilot.press("f8")
        await settle(pilot)
        assert app.current_mode == "metrics"
        await pilot.press("f8")
        await settle(pilot)
        assert app.current_mode == "supervise"
        await pilot.press("ctrl+p", *"view: metrics", "enter")
        await settle(pilot)
        assert app.current_mode == "metrics"


async def test_one_view_has_no_view_key(make_app: Any) -> None:
    app = make_app("assistant")
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "f8" not in app.screen.active_bindings  # hidden, not just dimmed
        await pilot.press("f8")
        assert app.current_mode == "workspace"


@pytest.mark.parametrize(("role", "first", "views"), ROLES)
async def test_lock_covers_every_mode(
    make_app: Any, passphrase: str, role: str, first: str, views: tuple[str, ...]
) -> None:
    app = make_app(role)
    async with app.run_test(size=SIZE) as pilot:
        for view in views:
            app.switch_view(view)
            await settle(pilot)
            if view == "workspace":
                await open_first(pilot)
                assert any(phi in screen_text(app) for phi in PHI)  # PHI is on screen…
                await pilot.press("e")  # …and a modal is open over it
            await pilot.press("ctrl+l")
            await pilot.pause()
            assert isinstance(app.screen, LockScreen)
            assert app.screen_stack == [app.mode_screens[view], app.screen]  # modal gone
            assert not any(phi in screen_text(app) for phi in PHI)
            await pilot.press("f8", "f1")  # no view switch, no help while locked
            assert isinstance(app.screen, LockScreen) and app.current_mode == view
            await pilot.press(*passphrase, "enter")
            await settle(pilot)
            assert app.screen is app.mode_screens[view]
