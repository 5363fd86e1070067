"""F1 help for the area that has the focus: what it is for and its keys."""

from __future__ import annotations

from collections.abc import Sequence

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from assistant_tui import keymap


def keys_for(bindings: Sequence[BindingType], overrides: dict[str, str]) -> list[tuple[str, str]]:
    """(keys, description) with the user's remapping applied, one row per binding id."""
    rows: list[tuple[str, str]] = []
    for binding in bindings:
        if not isinstance(binding, Binding):
            continue
        key = overrides.get(binding.id or "", binding.key)
        rows.append((key, binding.description))
    return rows


AREA_BINDINGS: dict[str, list[BindingType]] = {
    "queue": keymap.QUEUE,
    "script": keymap.SCRIPT[:2],
    "patient": [],
    "outcome": keymap.WORKSPACE,
}


class HelpScreen(ModalScreen[None]):
    BINDINGS = [*keymap.HELP, Binding("escape", "dismiss", "Close", show=False)]

    def __init__(self, area: str, overrides: dict[str, str]) -> None:
        super().__init__()
        self.area = area
        self.overrides = overrides

    def compose(self) -> ComposeResult:
        lines = [f"[b]{self.area.title()}[/b]", "", escape(keymap.AREA_HELP.get(self.area, ""))]
        rows = keys_for(AREA_BINDINGS.get(self.area, []), self.overrides)
        if self.area == "script":
            rows.append(("1…9", "Take a branch"))
        rows += keys_for(keymap.APP + keymap.WORKSPACE[:1], self.overrides)
        rows.append(("e", "Escalate (one more key picks the route)"))
        rows.append(("letter", "Outcome key of the open task (shown in the outcome pane)"))
        rows.append(("ctrl+p", "Command palette"))
        lines += ["", "[b]Keys[/b]"]
        lines += [f"  {escape(key):<18} {escape(text)}" for key, text in rows]
        with VerticalScroll(id="help-dialog"):
            yield Static("\n".join(lines), id="help-text")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
