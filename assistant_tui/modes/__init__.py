"""One Textual mode per role, and which roles get which modes.

Source of the mapping: DESIGN.md "Roles and modes" and issue 7. The first mode
of a role is the one it opens in; a user with more than one switches with the
`app.next_view` key or the palette.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from assistant_tui.modes.base import ModeScreen
    from assistant_tui.services import Services

# mode name -> the title shown in the palette and on the screen
MODE_TITLES: dict[str, str] = {
    "workspace": "Workspace",
    "supervise": "Team board",
    "train": "Training desk",
    "metrics": "Metrics",
}

ROLE_MODES: dict[str, tuple[str, ...]] = {
    "assistant": ("workspace",),
    "trainee": ("workspace",),
    "supervisor": ("supervise", "metrics"),
    "trainer": ("train",),
    "manager": ("metrics",),
    "admin": ("metrics", "supervise"),
}


def modes_for(role: str | None) -> tuple[str, ...]:
    """The modes of a role, first the one it opens in.

    `None` (a cache opened offline: the server was not asked who we are) gets
    the workspace, the only mode that works from the cache alone. A role this
    client does not know gets the metrics placeholder: no queue, no PHI.
    """
    if role is None:
        return ("workspace",)
    return ROLE_MODES.get(role, ("metrics",))


def build_mode(name: str, services: Services) -> ModeScreen:
    """The screen of mode `name`; each mode module is imported only when used."""
    if name == "workspace":
        from assistant_tui.modes.workspace import WorkspaceScreen

        return WorkspaceScreen(services)
    if name == "supervise":
        from assistant_tui.modes.supervise import SuperviseScreen

        return SuperviseScreen(services)
    if name == "train":
        from assistant_tui.modes.train import TrainScreen

        return TrainScreen(services)
    if name == "metrics":
        from assistant_tui.modes.metrics import MetricsScreen

        return MetricsScreen(services)
    raise KeyError(name)
