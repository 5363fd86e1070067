"""A training run's result, as the trainee sees it (issue 9): score, pass/fail, fatal
items hit and the per-section results.

Opened by the workspace when the outcome of a run's task reaches the server (the
automatic items are answered then; the trainer's items may still be pending) and
again when the trainer's marks score the run; Ctrl+T (`workspace.training_result`)
reopens the latest. `RunOut.evaluation` is the server's score (the workspace
never scores): `score` 0-100 over the applicable sections, `passed` only once
every item is answered, no fatal item is missed and the score reaches the pass mark.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from rich.table import Table
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from assistant_tui import actions

if TYPE_CHECKING:
    from followup_core.training.wire import RunOut


def item_title(item_id: str) -> str:
    """A form item's id as words: 'no-phi-before-identity' -> 'No PHI before identity'."""
    words = item_id.replace("-", " ").split()
    fixed = {"phi": "PHI", "sms": "SMS"}
    text = " ".join(fixed.get(w, w) for w in words)
    return text[:1].upper() + text[1:]


def verdict(run: RunOut) -> str:
    """'PASSED', 'FAILED' or 'AWAITING MARKS' (the trainer's items still pending)."""
    e = run.evaluation
    if e.fatal_hit:
        return "FAILED"
    if not e.complete:
        return "AWAITING MARKS"
    return "PASSED" if e.passed else "FAILED"


class TraineeResultScreen(ModalScreen[None]):
    """The result of one run: the figures of `run.evaluation`, read-only."""

    BINDINGS = actions.bindings("training_result")

    def __init__(self, run: RunOut) -> None:
        super().__init__()
        self.run = run

    def compose(self) -> ComposeResult:
        with Vertical(id="trainee-result-dialog"):
            yield Static("", id="trainee-result-head")
            with VerticalScroll(id="trainee-result-body"):
                yield Static("", id="trainee-result-sections")
                yield Static("", id="trainee-result-notes")
            close = actions.key_for("training_result.close", self.app_keymap())
            yield Static(f"[dim]{escape(close)} closes[/dim]", id="trainee-result-keys")

    def app_keymap(self) -> dict[str, str]:
        services = getattr(self.app, "services", None)
        settings = getattr(services, "settings", None)
        return dict(getattr(settings, "keymap", {}) or {})

    def on_mount(self) -> None:
        self.show_run(self.run)

    def show_run(self, run: RunOut) -> None:
        """Draw (or redraw, when the trainer's marks arrive) the run's result."""
        self.run = run
        e = run.evaluation
        word = verdict(run)
        colour = {"PASSED": "green", "FAILED": "red"}.get(word, "yellow")
        head = (
            f"[b]Training result[/b] · {escape(run.title)}\n"
            f"Score [b]{e.score:.1f}[/b] / 100   [b {colour}]{word}[/b {colour}]"
            f"   outcome: {escape(run.outcome or '—')}"
        )
        self.query_one("#trainee-result-head", Static).update(head)
        table = Table(box=None, padding=(0, 1), expand=True, show_edge=False)
        table.add_column("Section", ratio=1, no_wrap=True, overflow="ellipsis")
        table.add_column("Weight", justify="right")
        table.add_column("Points", justify="right")
        table.add_column("%", justify="right")
        for s in e.sections:
            percent = "n/a" if s.percent is None else f"{s.percent:.0f}"
            table.add_row(escape(s.title), str(s.weight), f"{s.earned}/{s.possible}", percent)
        self.query_one("#trainee-result-sections", Static).update(table)
        notes: list[str] = []
        if e.fatal_hit:
            notes.append("[b red]Fatal items missed[/b red] (fail the run whatever the score):")
            notes.extend(f"  • {escape(item_title(i))}" for i in e.fatal_hit)
        missed = [i for i, a in sorted(e.answers.items()) if a == "no" and i not in e.fatal_hit]
        if missed:
            notes.append("[b]Missed:[/b] " + ", ".join(escape(item_title(i)) for i in missed))
        if e.pending:
            notes.append(
                "[b]Awaiting the trainer's marks:[/b] "
                + ", ".join(escape(item_title(i)) for i in e.pending)
            )
        self.query_one("#trainee-result-notes", Static).update("\n".join(notes))

    def action_close(self) -> None:
        self.dismiss(None)
