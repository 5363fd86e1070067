"""Command palette provider: the registry's palette actions of the screen it opened over.

Nothing is listed here by hand: `actions.palette_actions(screen.AREAS)` gives
the commands, and each runs on the node that owns its area (the App for "app",
the mode's screen otherwise). A user with several views also gets one command
per view.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from assistant_tui import actions
from assistant_tui.modes import MODE_TITLES

if TYPE_CHECKING:
    from assistant_tui.app import AssistantApp


class ActionCommands(Provider):
    """Every palette action of the current mode, plus "View: …" for the user's other views."""

    def commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        """(title, help, run) for each command offered over the current screen."""
        from assistant_tui.modes.base import ModeScreen

        app = cast("AssistantApp", self.app)
        screen = self.screen
        areas = screen.AREAS if isinstance(screen, ModeScreen) else ()
        for action in actions.palette_actions(areas):
            node = app if action.area == "app" else screen
            if action.id == "app.next_view" and len(app.views) < 2:
                continue
            yield action.description, action.detail, partial(node.run_action, action.action)
        if len(app.views) > 1:
            for name in app.views:
                title = f"View: {MODE_TITLES.get(name, name)}"
                yield title, "Switch to this view", partial(app.switch_view, name)

    async def discover(self) -> Hits:
        for title, help_text, run in self.commands():
            yield DiscoveryHit(title, run, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, run in self.commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), run, help=help_text)
