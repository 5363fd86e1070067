"""An honest placeholder for a mode a later issue fills: what it will be, who, and the link.

It shows no patient data and no queue: a supervisor or manager no longer gets
their practice's whole task list as if it were theirs to work.
"""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from assistant_tui.modes.base import ModeScreen
from assistant_tui.widgets.footer import LeanFooter


def connection_text(online: bool, live: bool) -> str:
    """One line on how fresh this view is: live stream, polling, or offline."""
    if live:
        return "● live: the server pushes changes as they happen"
    if online:
        return "◐ connected, no live stream: changes arrive at the next poll"
    return "○ offline: showing what was cached"


class PlaceholderScreen(ModeScreen):
    """A titled page saying what this mode will hold and which issue brings it."""

    TITLE: ClassVar[str] = ""
    COMING: ClassVar[str] = ""

    def compose(self) -> ComposeResult:
        user = self.services.user
        who = (
            f"Signed in as [b]{escape(user.display_name)}[/b] ({escape(str(user.role))})"
            if user is not None
            else "Opened offline from the local cache"
        )
        with Vertical(classes="placeholder"):
            yield Static(f"[b]{escape(self.TITLE)}[/b]", classes="placeholder-title")
            yield Static(escape(self.COMING), classes="placeholder-text")
            yield Static(who, classes="placeholder-user")
            yield Static(self._link_text(), classes="placeholder-link")
        yield LeanFooter()

    def _link_text(self) -> str:
        status = self.services.status
        return connection_text(status.online if status else False, self.services.live)

    def sync_status_changed(self) -> None:
        for link in self.query(".placeholder-link").results(Static):
            link.update(self._link_text())
