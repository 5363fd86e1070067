"""F1 help for the area that has the focus: what it is for and its live keys.

The rows come from the screen's active bindings at the moment F1 was pressed
(`actions.help_rows`), so a key remapped in the config is the key shown here.
"""

from __future__ import annotations

from rich.markup import escape
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from assistant_tui import actions

# The workspace's panes, where a letter outside a text field is an outcome key.
WORKSPACE_AREAS = frozenset({"queue", "script", "patient", "outcome"})


class HelpScreen(ModalScreen[None]):
    BINDINGS = actions.bindings("help")

    def __init__(self, area: str, rows: list[actions.HelpRow]) -> None:
        super().__init__()
        self.area = area
        self.rows = rows

    def compose(self) -> ComposeResult:
        title = actions.AREA_TITLES.get(self.area, self.area.replace("_", " ").title())
        lines = [f"[b]{escape(title)}[/b]", "", escape(actions.AREA_HELP.get(self.area, ""))]
        area = None
        for row in self.rows:
            if row.area != area:
                area = row.area
                heading = actions.AREA_TITLES.get(area, area.title())
                lines += ["", f"[b]Keys: {escape(heading)}[/b]"]
            lines.append(f"  {escape(row.keys):<18} {escape(row.description)}")
        lines += ["", "[b]Keys: more[/b]"]
        if self.area in WORKSPACE_AREAS:
            lines.append(
                f"  {'letter':<18} Outcome key of the open task (shown in the outcome pane)"
            )
        palette = self.app.COMMAND_PALETTE_BINDING
        lines.append(f"  {escape(actions.display_key(palette)):<18} Command palette")
        with VerticalScroll(id="help-dialog"):
            yield Static("\n".join(lines), id="help-text")

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
