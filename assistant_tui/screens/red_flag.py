"""Clinical red flags found in notes: escalate clinically, or say why not."""

from __future__ import annotations

from dataclasses import dataclass

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from assistant_tui import actions


@dataclass(frozen=True)
class RedFlagDecision:
    escalate: bool
    dismissal_reason: str = ""


class RedFlagScreen(ModalScreen[RedFlagDecision | None]):
    BINDINGS = actions.bindings("red_flag")
    AUTO_FOCUS = "#red-flag-reason"

    def __init__(self, phrases: list[str], escalate_key: str = "F2") -> None:
        super().__init__()
        self.phrases = phrases
        self.escalate_key = escalate_key  # shown: the key `red_flag.escalate` is on now

    def compose(self) -> ComposeResult:
        found = ", ".join(f"“{escape(p)}”" for p in self.phrases)
        with Vertical(id="red-flag-dialog"):
            yield Static("[b]Possible clinical red flag in the notes[/b]", id="red-flag-title")
            yield Static(
                f"The notes mention {found}. Assistants do not assess symptoms: escalate to "
                "the clinical team, or record why this is not a clinical concern.",
                id="red-flag-text",
            )
            yield Static(
                f"[b]{escape(self.escalate_key)}[/b]  escalate clinically (saved with this outcome)"
            )
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
                f"Give a reason (a few words) or press {self.escalate_key} to escalate."
            )
            return
        self.dismiss(RedFlagDecision(escalate=False, dismissal_reason=reason))
