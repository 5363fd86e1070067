"""Following a training run live: the trainee's panes through the session mirror,
the scenario's expected handling and the simulated patient's lines, and coaching.

`FollowRunScreen` is the shadow view (`screens/shadow.py`: a shadow session on
the server, the mirror re-read on each `session` nudge) with a band below it:
the run (title, status, score), the expected handling and the patient's lines
(`GET /v1/training/runs/{id}/script`, which shows `expected` to trainers) with
the lines at the trainee's current step marked. W coaches: a whisper that
carries the key of the step the trainee is on (stored with it, shown as "at step
…" in their whisper strip). P says a line as the simulated patient, live (the
trainee's patient strip shows it). M opens the run's marks. The run itself is re-read
when the desk sees its task change in the feed, and when the mirror says the
trainee saved.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rich.markup import escape
from textual import work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from assistant_tui import actions
from assistant_tui.screens.shadow import MirrorScriptPane, ShadowScreen
from assistant_tui.screens.training_cells import (
    expected_lines,
    patient_lines,
    result_text,
    score_text,
)
from assistant_tui.widgets.footer import LeanFooter
from assistant_tui.widgets.patient import PatientPane

if TYPE_CHECKING:
    from backend_client.supervision import SupervisionApi
    from backend_client.training import TrainingApi
    from followup_core.supervision import SessionSnapshot
    from followup_core.training.evaluation import EvaluationForm
    from followup_core.training.wire import RunOut, RunScriptOut


class FollowRunScreen(ShadowScreen):
    """One training run, followed live (read-only panes, coaching per step)."""

    BINDINGS = actions.bindings("follow")

    def __init__(
        self,
        services: Any,
        api: SupervisionApi,
        training: TrainingApi,
        run: RunOut,
        name: str,
        form: EvaluationForm | None,
    ) -> None:
        super().__init__(services, api, run.trainee_id, name)
        self.training = training
        self.run = run
        self.form = form
        self.script_out: RunScriptOut | None = None
        self.coached: list[tuple[str | None, str]] = []  # (step key, text) sent from here

    def compose(self) -> ComposeResult:
        with Horizontal(id="shadow"):
            yield Static("", id="shadow-session", classes="shadow-pane")
            yield MirrorScriptPane(id="shadow-script")
            with Vertical(id="shadow-right"):
                patient = PatientPane(id="shadow-patient")
                patient.can_focus = False
                yield patient
                yield Static("", id="shadow-outcome", classes="shadow-pane")
        with Horizontal(id="follow-run"):
            yield Static("", id="follow-expected")
            yield Static("", id="follow-lines")
        yield Static("", id="shadow-message")
        yield LeanFooter()

    def on_mount(self) -> None:
        super().on_mount()
        self.query_one("#follow-expected", Static).border_title = "Run and expected handling"
        self.query_one("#follow-lines", Static).border_title = "Simulated patient"
        self._draw_run()
        self.load_script()

    def on_resize(self) -> None:
        # Below 100 columns the session pane (state, observers) gives way to the script;
        # below 32 rows the script drops its heading and keeps "do not say" short (as the
        # workspace does on a small terminal).
        self.set_class(self.size.width < 100, "-narrow")
        self.set_class(self.size.height < 32, "-short")

    # --- the run ---------------------------------------------------------------------------

    @work(exclusive=True, group="run-script", exit_on_error=False)
    async def load_script(self) -> None:
        from backend_client.errors import ApiError, Offline

        try:
            self.script_out = await self.training.script(self.run.id)
        except (ApiError, Offline) as exc:
            self._say(f"patient lines not loaded: {getattr(exc, 'message', type(exc).__name__)}")
            return
        self._draw_run()

    @work(exclusive=True, group="run-reload", exit_on_error=False)
    async def reload_run(self) -> None:
        """Re-read the run (its task changed, or the trainee saved)."""
        from backend_client.errors import ApiError, Offline

        try:
            run = await self.training.run(self.run.id)
        except (ApiError, Offline) as exc:
            self._say(f"run not refreshed: {getattr(exc, 'message', type(exc).__name__)}")
            return
        self.run = run
        self._draw_run()

    async def _apply(self, snapshot: SessionSnapshot) -> None:
        saved_before = self.snapshot.state.last_saved_task_id if self.snapshot else None
        await super()._apply(snapshot)
        saved = snapshot.state.last_saved_task_id
        if saved == self.run.task_id and saved != saved_before:
            self.reload_run()

    def current_step(self) -> tuple[str | None, str | None, str | None]:
        """(step key, step title, branch label) the trainee is on, if their task is this run's."""
        snapshot, context = self.snapshot, self.context
        if snapshot is None or snapshot.state.task_id != self.run.task_id:
            return None, None, None
        if context is None or context.script is None or not context.script.steps:
            return None, None, None
        steps = context.script.steps
        step = steps[min(max(0, snapshot.state.step), len(steps) - 1)]
        branch = snapshot.state.branch
        label = None
        if branch and branch.isdigit() and 1 <= int(branch) <= len(step.branches):
            label = step.branches[int(branch) - 1].label
        return step.key, step.title, label

    def _draw(self) -> None:
        super()._draw()
        self._draw_run()

    def _draw_run(self) -> None:
        if not self.is_mounted:
            return
        run = self.run
        key, title, branch = self.current_step()
        on_task = self.snapshot is not None and self.snapshot.state.task_id == run.task_id
        where = (
            f"at step [b]{escape(title or key or '-')}[/b]"
            if on_task
            else "[dim]not on this run's task now[/dim]"
        )
        score = f" {score_text(run.evaluation.score)}" if run.status == "scored" else ""
        lines = [
            f"[b]{escape(run.title)}[/b] · {result_text(run).markup}{score}",
            f"{escape(self.subject_name)} {where}",
        ]
        expected = self.script_out.expected if self.script_out is not None else None
        lines += expected_lines(expected) if self.script_out is not None else ["loading…"]
        self.query_one("#follow-expected", Static).update("\n".join(lines))
        script_lines = self.script_out.lines if self.script_out is not None else []
        self.query_one("#follow-lines", Static).update(
            "\n".join(patient_lines(script_lines, key, branch))
        )

    # --- actions ---------------------------------------------------------------------------

    def action_whisper(self) -> None:
        """Coach: a whisper tied to the step the trainee is on now."""
        from assistant_tui.screens.training_dialogs import CoachScreen

        key, title, _ = self.current_step()

        def send(text: str | None) -> None:
            if text:
                self.coach(text, key)

        self.app.push_screen(CoachScreen(self.subject_name, key, title), send)

    @work(group="whisper", exit_on_error=False)
    async def coach(self, text: str, step: str | None) -> None:
        """Send `text` to the trainee, stored with `step` (a script step key, or None)."""
        from backend_client.errors import ApiError, Offline

        try:
            await self.api.whisper(self.subject_id, text, step=step)
        except (ApiError, Offline) as exc:
            self._say(f"coaching not sent: {getattr(exc, 'message', type(exc).__name__)}")
            return
        self.coached.append((step, text))
        self._say(f"coaching sent at step {step}" if step else "whisper sent")

    def action_say(self) -> None:
        """Speak as the simulated patient, live, at the step the trainee is on."""
        from assistant_tui.screens.training_dialogs import SayScreen

        key, title, _ = self.current_step()

        def send(text: str | None) -> None:
            if text:
                self.say(text, key)

        self.app.push_screen(SayScreen(self.subject_name, key, title), send)

    @work(group="say", exit_on_error=False)
    async def say(self, text: str, step: str | None) -> None:
        """Send `text` as the patient's line (`POST /runs/{id}/lines`, step key or None)."""
        from backend_client.errors import ApiError, Offline

        try:
            await self.training.say(self.run.id, text, step=step)
        except (ApiError, Offline) as exc:
            self._say(f"line not sent: {getattr(exc, 'message', type(exc).__name__)}")
            return
        self._say("said as the patient" + (f" at step {step}" if step else ""))

    def action_marks(self) -> None:
        from assistant_tui.modes.train import TrainScreen

        for screen in self.app.screen_stack:
            if isinstance(screen, TrainScreen):
                screen.open_marks(self.run, self._marked)

    def _marked(self, run: RunOut) -> None:
        self.run = run
        self._draw_run()
