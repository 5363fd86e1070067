"""The action registry is the one source: bindings, help and palette all agree with it."""

from __future__ import annotations

from typing import Any

from textual.binding import Binding
from textual.widgets import Static

from assistant_tui import actions
from assistant_tui.app import AssistantApp
from assistant_tui.commands import ActionCommands
from assistant_tui.modes.supervise import SuperviseScreen
from assistant_tui.modes.train import TrainScreen
from assistant_tui.modes.workspace import WorkspaceScreen
from assistant_tui.screens.attention import AttentionScreen
from assistant_tui.screens.escalation import EscalationScreen
from assistant_tui.screens.help import HelpScreen
from assistant_tui.screens.lock import LockScreen
from assistant_tui.screens.metrics import ExceptionsScreen, MetricsDashboard, TaskListScreen
from assistant_tui.screens.red_flag import RedFlagScreen
from assistant_tui.screens.shadow import ShadowScreen
from assistant_tui.screens.supervision import InboxScreen, SupervisorDialog
from assistant_tui.screens.trainee_result import TraineeResultScreen
from assistant_tui.screens.training_follow import FollowRunScreen
from assistant_tui.screens.training_marks import MarksScreen
from assistant_tui.screens.training_result import ProgressScreen, ResultScreen
from assistant_tui.widgets.queue import QueueList
from assistant_tui.widgets.script import ScriptPane
from tests.tui.test_work_a_task import SIZE, open_first, settle

BOUND = [
    AssistantApp,
    WorkspaceScreen,
    QueueList,
    ScriptPane,
    EscalationScreen,
    RedFlagScreen,
    SuperviseScreen,
    ShadowScreen,
    InboxScreen,
    SupervisorDialog,
    AttentionScreen,
    TraineeResultScreen,
    TrainScreen,
    FollowRunScreen,
    MarksScreen,
    ResultScreen,
    ProgressScreen,
    MetricsDashboard,
    ExceptionsScreen,
    TaskListScreen,
]


def test_every_binding_comes_from_the_registry_once() -> None:
    ids = [a.id for a in actions.ACTIONS]
    assert len(ids) == len(set(ids))
    assert all(a.id.count(".") == 1 and a.area for a in actions.ACTIONS)
    seen: list[str] = []
    for owner in [*BOUND, HelpScreen]:
        for binding in owner.BINDINGS:
            assert isinstance(binding, Binding) and binding.id in actions.BY_ID, binding
            action = actions.BY_ID[binding.id]
            assert (binding.key, binding.action) == (action.key, action.action)
            seen.append(binding.id)
    assert len(seen) == len(set(seen))  # no id bound in two places
    assert set(seen) == actions.BINDING_IDS  # and every keyed action is bound somewhere


def test_unknown_ids_are_the_ones_not_in_the_registry() -> None:
    keymap = {"app.lock": "f9", "queue.filter": "ctrl+f", "app.frobnicate": "f12"}
    assert actions.unknown_ids(keymap) == ["app.frobnicate"]
    assert actions.key_for("app.lock", keymap) == "F9"
    assert actions.key_for("app.lock", {}) == "CTRL+L"


def help_text(app: Any) -> str:
    return str(app.screen.query_one("#help-text", Static).render())


async def test_help_and_palette_list_the_same_actions(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        workspace = app.screen
        provider = ActionCommands(workspace)
        palette = {title for title, _help, _run in provider.commands()}
        live = [(key, active.binding) for key, active in workspace.active_bindings.items()]
        rows = actions.help_rows(live, [*workspace.AREAS, "app"])
        described = {row.description for row in rows}
        assert palette  # the workspace offers commands
        assert palette <= described  # every palette command is in help…
        offered = {a.description for a in actions.palette_actions(workspace.AREAS)}
        assert offered - {"Next view"} == palette  # …and the palette is the registry's list
        await pilot.press("f1")
        shown = help_text(app)
        for title in palette:
            assert title in shown


async def test_a_remapped_key_works_and_help_says_so(make_app: Any) -> None:
    app = make_app(keymap={"app.lock": "f9", "workspace.escalate": "f7"})
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        await pilot.press("f1")
        shown = help_text(app)
        assert "F7, e" in shown and "F9" in shown
        assert "CTRL+L" not in shown and "F2, e" not in shown
        await pilot.press("f1")
        await pilot.press("f7")
        assert isinstance(app.screen, EscalationScreen)
        await pilot.press("ctrl+g", "f9")
        assert isinstance(app.screen, LockScreen)
        assert not [n for n in app._notifications if "Unknown" in n.message]  # no warning


async def test_an_unknown_id_is_reported_once(make_app: Any) -> None:
    app = make_app(keymap={"app.frobnicate": "f12", "queue.filter": "ctrl+f"})
    # Every notification is kept as it is raised: on a loaded machine the toast's own
    # timeout can pass before the test reads the screen's list.
    shown: list[str] = []
    notify = app.notify

    def keep(message: str, *args: Any, **kwargs: Any) -> None:
        shown.append(message)
        notify(message, *args, **kwargs)

    app.notify = keep
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f8", "f5")  # keys and mode routing do not repeat the report
        await settle(pilot)
        reports = [m for m in shown if "Unknown" in m]
        assert len(reports) == 1
        assert "app.frobnicate" in reports[0] and "queue.filter" not in reports[0]
