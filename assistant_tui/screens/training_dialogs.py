"""The training desk's small dialogs: assign a scenario, clear a trainee, coach a step.

Each is a `SupervisorDialog` (Escape or Ctrl+G cancels with None):
- `AssignScreen`: Enter on a trainee assigns the scenario shown (dismisses with their id).
- `ClearScreen`: Enter on a workflow signs the trainee off for it (dismisses with its id);
  the workflows they are already cleared for are ticked.
- `CoachScreen`: a one-line whisper tied to the step the trainee is on.
- `SayScreen`: a line the trainer says as the simulated patient, live (the trainee's
  patient strip shows it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markup import escape
from textual import on
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from assistant_tui.screens.supervision import SupervisorDialog
from assistant_tui.screens.training_cells import short_workflow
from followup_core.enums import WorkflowId
from followup_core.supervision import WHISPER_MAX_CHARS

if TYPE_CHECKING:
    from followup_core.training.wire import ScenarioSummary, TraineeOut


class AssignScreen(SupervisorDialog):
    """Pick the trainee who gets `scenario` (a task in their queue on the training practice)."""

    def __init__(self, scenario: ScenarioSummary, trainees: list[TraineeOut]) -> None:
        super().__init__()
        self.scenario = scenario
        self.trainees = trainees

    def compose(self) -> ComposeResult:
        s = self.scenario
        with Vertical(classes="sup-dialog"):
            yield Static(
                f"Assign [b]{escape(s.title)}[/b] ({escape(short_workflow(s.workflow))})\n"
                f"[dim]{escape(s.brief)}[/dim]\nEnter on a trainee assigns it:"
            )
            options = []
            for t in self.trainees:
                cleared = "  [dim](cleared for it)[/dim]" if s.workflow in t.cleared else ""
                label = f"{escape(t.display_name)}  {t.open} open run(s){cleared}"
                options.append(Option(label, id=t.id))
            yield OptionList(*options, id="assign-trainee")

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class ClearScreen(SupervisorDialog):
    """Pick a workflow to clear `trainee` for real work in (audited by the server)."""

    def __init__(self, trainee: TraineeOut) -> None:
        super().__init__()
        self.trainee = trainee

    def compose(self) -> ComposeResult:
        with Vertical(classes="sup-dialog"):
            yield Static(
                f"Clear [b]{escape(self.trainee.display_name)}[/b] for real work in "
                "(Enter signs off; the server records who and when):"
            )
            cleared = {str(w) for w in self.trainee.cleared}
            yield OptionList(
                *[
                    Option(f"{'✓' if w.value in cleared else ' '} {w.value}", id=w.value)
                    for w in WorkflowId
                ],
                id="clear-workflow",
            )

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class CoachScreen(SupervisorDialog):
    """A coaching whisper to `name` about step `step` (its title shown); Enter sends."""

    def __init__(self, name: str, step: str | None, step_title: str | None) -> None:
        super().__init__()
        self.to_name = name
        self.step = step
        self.step_title = step_title

    def compose(self) -> ComposeResult:
        where = (
            f" at step [b]{escape(self.step_title or self.step or '')}[/b]"
            if self.step
            else " (no step yet: an ordinary whisper)"
        )
        with Vertical(classes="sup-dialog"):
            yield Static(f"Coach [b]{escape(self.to_name)}[/b]{where}; only they see it")
            yield Input(
                placeholder="one line, plain text", max_length=WHISPER_MAX_CHARS, id="coach-text"
            )

    @on(Input.Submitted)
    def _send(self, event: Input.Submitted) -> None:
        text = " ".join(event.value.split())
        self.dismiss(text or None)


class SayScreen(CoachScreen):
    """A line said as the run's simulated patient to `name`'s workspace; Enter sends."""

    def compose(self) -> ComposeResult:
        from followup_core.training.wire import LIVE_LINE_MAX_CHARS

        where = f" at step [b]{escape(self.step_title or self.step or '')}[/b]" if self.step else ""
        with Vertical(classes="sup-dialog"):
            yield Static(
                f"Say as the patient to [b]{escape(self.to_name)}[/b]{where} "
                "(instead of the scenario's line; synthetic, never a real patient's words)"
            )
            yield Input(
                placeholder="what the patient says", max_length=LIVE_LINE_MAX_CHARS, id="say-text"
            )
