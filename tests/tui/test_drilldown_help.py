"""F1 on the metrics drill-downs (pushed over the metrics mode, not mode screens).

The real App signed in as a manager; the exceptions review is the one the
dashboard pushes, over a canned report (the source is the edge under test).
"""

from __future__ import annotations

from typing import Any

from textual.widgets import Static

from assistant_tui.screens.help import HelpScreen
from assistant_tui.screens.metrics import ExceptionsScreen, TaskListScreen
from tests.support.pilot import until
from tests.tui.test_metrics_snapshots import _exceptions

SIZE = (120, 40)


def _help_text(app: Any) -> str:
    return str(app.screen.query_one("#help-text", Static).render())


async def test_f1_shows_the_keys_of_the_exceptions_review_and_its_drill_down(
    make_app: Any,
) -> None:
    app = make_app("manager")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.current_mode == "metrics", "the metrics mode")
        await app.push_screen(ExceptionsScreen(_exceptions()))
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help on the review")
        shown = _help_text(app)
        assert "Exceptions review" in shown
        assert "Enter" in shown and "Open list" in shown and "Back" in shown
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ExceptionsScreen), "back to the review")
        await pilot.press("enter")  # the first line: recurring reasons
        await until(pilot, lambda: isinstance(app.screen, TaskListScreen), "the drill-down")
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "help on the drill-down")
        shown = _help_text(app)
        assert "Tasks behind an exception" in shown and "Back" in shown
        assert "Open list" not in shown
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, TaskListScreen), "back to the list")
