"""Clinical red flags found in notes: escalate clinically, or say why not."""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from assistant_tui import keymap


@dataclass(frozen=True)
class RedFlagDecision:
    escalate: bool
    dismissal_reason: str = ""


class RedFlagScreen(ModalScreen[RedFlagDecision | None]):
    BINDINGS = [*keymap.RED_FLAG, Binding("escape", "cancel", "Back", show=False)]
    AUTO_FOCUS = "#red-flag-reason"

    def __init__(self, phrases: list[str]) -> None:
        super().__init__()
        self.phrases = phrases

    def compose(self) -> ComposeResult:
        found = ", ".join(f"“{escape(p)}”" for p in self.phrases)
        with Vertical(id="red-flag-dialog"):
            yield Static("[b]Possible clinical red flag in the notes[/b]", id="red-flag-title")
            yield Static(
                f"The notes mention {found}. Assistants do not assess symptoms: escalate to "
                "the clinical team, or record why this is not a clinical concern.",
                id="red-flag-text",
            )
            key = keymap.key_for("red_flag.escalate", getattr(self.app, "settings_keymap", {}))
            yield Static(f"[b]{key}[/b]  escalate clinically (saved with this outcome)")
            yield Input(
                placeholder="or: why this is not a clinical concern — Enter", id="red-flag-reason"
            )
            yield Static("", id="red-flag-error")

    def action_escalate_clinical(self) -> None:
        self.dismiss(RedFlagDecision(escalate=True))

    def action_cancel(self) -> None:
        self.dismiss(None)

    @on(Input.Submitted, "#red-flag-reason")
    def _dismiss_flag(self, event: Input.Submitted) -> None:
        event.stop()
        reason = event.value.strip()
        if len(reason) < 5:
            self.query_one("#red-flag-error", Static).update(
                "Give a reason (a few words) or press F2 to escalate."
            )
            return
        self.dismiss(RedFlagDecision(escalate=False, dismissal_reason=reason))
