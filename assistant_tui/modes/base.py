"""The base of every mode's screen: its areas, its help area, the sync status it is shown."""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.screen import Screen

from assistant_tui.messages import LiveNudge, SyncStatusChanged
from assistant_tui.services import Services


class ModeScreen(Screen[None]):
    """One role's view, the base screen of its Textual mode.

    `AREAS` names the action areas (see `actions.py`) this screen offers: the
    palette lists their commands and F1 help their keys. `SHOWS_PHI` says
    whether the screen draws patient data (every such screen must be hidden by
    the lock, which covers every mode anyway). The App forwards each sync
    status and live event to every mode screen it has built, as messages.
    """

    MODE: ClassVar[str] = ""
    AREAS: ClassVar[tuple[str, ...]] = ()
    SHOWS_PHI: ClassVar[bool] = False

    def __init__(self, services: Services) -> None:
        super().__init__(id=self.MODE)
        self.services = services

    def help_area(self) -> str:
        """The area F1 help is about: the focused pane's, else the screen's first."""
        return self.AREAS[0] if self.AREAS else "app"

    @on(SyncStatusChanged)
    def _status_arrived(self, message: SyncStatusChanged) -> None:
        message.stop()
        # The App set it already for statuses it forwards; a mode's own offline
        # figures (the workspace's outbox count) arrive this way too.
        self.services.status = message.status
        self.sync_status_changed()

    def sync_status_changed(self) -> None:
        """Hook: `self.services.status` has changed."""

    @on(LiveNudge)
    def _nudged(self, message: LiveNudge) -> None:
        message.stop()
        self.live_event(message.kind, message.data)

    def live_event(self, kind: str, data: dict[str, object]) -> None:
        """Hook: a non-feed live event (team, escalation, whisper, assignment)."""
