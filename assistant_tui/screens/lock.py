"""The lock screen: an opaque screen over any mode, so no PHI stays visible.

It is a full `Screen` (not a modal), which means nothing underneath is drawn.
Only the local cache passphrase unlocks it: the screen posts `Unlock` and the
App checks it in a worker.
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.containers import Center, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Input, Static


class LockScreen(Screen[None]):
    # No bindings of its own and none inherited from the workspace: the only
    # way forward is the passphrase.
    AUTO_FOCUS = "#lock-passphrase"

    class Unlock(Message):
        """The user entered a passphrase to check (never logged or shown)."""

        def __init__(self, passphrase: str) -> None:
            super().__init__()
            self.passphrase = passphrase

        def __repr__(self) -> str:
            return "LockScreen.Unlock(…)"

    def __init__(self, reason: str) -> None:
        super().__init__()
        self.reason = reason

    def compose(self) -> ComposeResult:
        with Center(), Vertical(id="lock-dialog"):
            yield Static("[b]Locked[/b]", id="lock-title")
            yield Static(
                f"{self.reason} Enter your local passphrase to continue.", id="lock-reason"
            )
            yield Input(password=True, placeholder="local passphrase", id="lock-passphrase")
            yield Static("", id="lock-error")

    @on(Input.Submitted, "#lock-passphrase")
    def _check(self, event: Input.Submitted) -> None:
        event.stop()
        if not event.value:
            return
        self.query_one("#lock-error", Static).update("Checking…")
        self.post_message(self.Unlock(event.value))
        event.input.value = ""

    def wrong(self) -> None:
        self.query_one("#lock-error", Static).update("Wrong passphrase. Try again.")
        self.query_one("#lock-passphrase", Input).focus()
