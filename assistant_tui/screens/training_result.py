"""A run's scored result and a trainee's progress, for the trainer.

- `ResultScreen`: score and pass/fail, the fatal items hit, the items missed and
  one row per form section (weight, points earned/possible, percent).
- `ProgressScreen`: `GET /v1/training/trainees/{id}/progress`, re-read on open and
  after a sign-off: per workflow the runs, passes, whether cleared and the scores
  over time as a sparkline (oldest left); per form section the share of points
  earned; the items the trainee keeps missing; runs with a fatal item. C clears
  the trainee for a workflow (audited by the server).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Sparkline, Static

from assistant_tui import actions
from assistant_tui.screens.training_cells import (
    item_titles,
    progress_lines,
    result_lines,
    section_cells,
    workflow_label,
)
from assistant_tui.widgets.footer import LeanFooter

if TYPE_CHECKING:
    from backend_client.training import TrainingApi
    from followup_core.training.evaluation import EvaluationForm
    from followup_core.training.wire import ProgressOut, RunOut, TraineeOut


class ResultScreen(Screen[None]):
    """The result of one run (scored, or so far)."""

    BINDINGS = actions.bindings("result")

    def __init__(self, run: RunOut, name: str, form: EvaluationForm | None) -> None:
        super().__init__()
        self.run = run
        self.trainee_name = name
        self.titles = item_titles(form)

    def compose(self) -> ComposeResult:
        run = self.run
        with Vertical(id="result"):
            yield Static(
                f"[b]Result[/b] · {escape(run.title)} · {escape(self.trainee_name)} · "
                f"form {escape(run.evaluation.form_id)} v{run.evaluation.form_version}",
                id="result-title",
            )
            yield Static("\n".join(result_lines(run, self.titles)), id="result-summary")
            table: DataTable[Any] = DataTable(id="result-sections", cursor_type="row")
            table.add_columns("Section", "Weight", "Points", "Percent")
            for row in section_cells(run):
                table.add_row(*row)
            yield table
        yield LeanFooter()

    def on_mount(self) -> None:
        self.query_one("#result-sections", DataTable).focus()

    def action_close(self) -> None:
        self.dismiss(None)


class ProgressScreen(Screen[None]):
    """One trainee's progress, and their sign-off per workflow."""

    BINDINGS = actions.bindings("progress")

    def __init__(self, api: TrainingApi, trainee: TraineeOut, titles: dict[str, str]) -> None:
        super().__init__()
        self.api = api
        self.trainee = trainee
        self.titles = titles
        self.progress: ProgressOut | None = None
        self.loads = 0
        self.error: str | None = None

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="progress"):
            yield Static(
                f"[b]Progress[/b] · {escape(self.trainee.display_name)}", id="progress-title"
            )
            yield Static(
                "[b]By workflow[/b] (scores over time, oldest left)", classes="progress-heading"
            )
            yield Vertical(id="progress-workflows")
            yield Static("loading…", id="progress-summary")
            yield Static("", id="progress-message")
        yield LeanFooter()

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="progress", exit_on_error=False)
    async def load(self) -> None:
        from backend_client.errors import ApiError, Offline

        try:
            progress = await self.api.progress(self.trainee.id)
        except (ApiError, Offline) as exc:
            self._say(f"progress not loaded: {getattr(exc, 'message', type(exc).__name__)}")
            return
        await self.show(progress)

    async def show(self, progress: ProgressOut) -> None:
        """Draw `progress` (snapshots hand a fixed one)."""
        self.progress = progress
        rows = self.query_one("#progress-workflows", Vertical)
        await rows.remove_children()
        widgets = []
        for w in progress.workflows:
            label = Static(
                workflow_label(w.workflow, w.runs, w.passed, w.cleared), classes="progress-label"
            )
            if w.scores:
                chart: Static | Sparkline = Sparkline(
                    list(w.scores), summary_function=max, classes="progress-spark"
                )
                last = Static(f"{w.scores[-1]:3.0f}%", classes="progress-last")
            else:
                chart = Static("[dim]no runs[/dim]", classes="progress-spark")
                last = Static("", classes="progress-last")
            widgets.append(Horizontal(label, chart, last, classes="progress-row"))
        if widgets:
            await rows.mount_all(widgets)
        self.query_one("#progress-summary", Static).update(
            "\n".join(progress_lines(progress, self.titles))
        )
        self.loads += 1

    def _say(self, text: str) -> None:
        self.error = text
        self.query_one("#progress-message", Static).update(escape(text))

    def action_clear(self) -> None:
        from assistant_tui.screens.training_dialogs import ClearScreen

        cleared = set()
        if self.progress is not None:
            cleared = {w.workflow for w in self.progress.workflows if w.cleared}
        trainee = self.trainee.model_copy(
            update={"cleared": sorted({*self.trainee.cleared, *cleared}, key=str)}
        )

        def chosen(workflow: str | None) -> None:
            if workflow:
                self.clear(workflow)

        self.app.push_screen(ClearScreen(trainee), chosen)

    @work(group="clear", exit_on_error=False)
    async def clear(self, workflow: str) -> None:
        from backend_client.errors import ApiError, Offline

        try:
            await self.api.clear(self.trainee.id, workflow)
        except (ApiError, Offline) as exc:
            self._say(f"not cleared: {getattr(exc, 'message', type(exc).__name__)}")
            return
        self.trainee = self.trainee.model_copy(
            update={"cleared": sorted({*self.trainee.cleared, workflow}, key=str)}
        )
        self._say(f"cleared for {workflow}")
        self.load()

    def action_close(self) -> None:
        self.dismiss(None)
