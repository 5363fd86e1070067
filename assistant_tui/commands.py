"""Command palette provider: every workspace action, findable by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

if TYPE_CHECKING:
    from assistant_tui.app import AssistantApp

# (title, help, action name on the App)
COMMANDS: list[tuple[str, str, str]] = [
    ("Escalate this task", "Pick a route; the named contact is shown", "escalate"),
    ("Mark identity verified", "Show appointment, referral and intake", "toggle_identity"),
    ("Lock the workspace", "Hide every PHI pane now", "lock"),
    ("Sync now", "Pull and send without waiting", "sync_now"),
    ("Help for this area", "Keys and purpose of the focused pane", "help"),
    ("Agent state: available", "Ready for the next task", "set_state('available')"),
    ("Agent state: on call", "On a call", "set_state('on-call')"),
    ("Agent state: wrap-up", "Documenting after a call", "set_state('wrap-up')"),
    ("Agent state: break", "Away; no new work", "set_state('break')"),
]


class WorkspaceCommands(Provider):
    def _runner(self, action: str) -> Callable[[], object]:
        app = cast("AssistantApp", self.app)
        return partial(app.run_action, action)

    async def discover(self) -> Hits:
        for title, help_text, action in COMMANDS:
            yield DiscoveryHit(title, self._runner(action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, action in COMMANDS:
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), self._runner(action), help=help_text)
