"""The workspace's side of training (issue 9): the simulated patient and the run's result.

- **Which run.** When a task of the training practice opens, the trainee's runs are
  read once (`GET /v1/training/runs`, in a worker) and kept by task id; a task not
  among them is re-read at most once per open. The run's scenario lines
  (`GET .../script`) and the trainer's live lines (`GET .../lines`) are kept by run.
- **Patient strip.** `PatientLines` shows what the simulated patient says at the
  script step and branch the trainee is on (it follows `ScriptPane.step`, `branch`
  and `voicemail`), and the trainer's latest live line. A `training` event (ids
  only) re-reads the run's live lines and, once its outcome is saved, its result.
- **Recording** needs nothing here: the server records the run from the session
  mirror the workspace already publishes (`central_api.training.relay`); the
  mirror notes each step and identity change as it happens (see
  `WorkspaceLive.mirror_note`), so their order reaches the server.
- **Result.** After the run's outcome is saved, the first feed change of its task
  (the server has the attempt) reads the run and opens `TraineeResultScreen`; the
  trainer's marks (a `training` event) update it while it is open, else a notice
  says the result is in; Ctrl+T reopens the latest.

Nothing here blocks the UI thread: every call is an async worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import work

from assistant_tui.widgets.patient_lines import PatientLines, lines_for

if TYPE_CHECKING:
    from backend_client.training import TrainingApi
    from followup_core.training.wire import LiveLineOut, RunOut, RunScriptOut


class WorkspaceTraining:
    """Mixin of the workspace screen: the training run behind the open task.

    The host provides `services`, `context`, `script` (a `ScriptPane`), `notify`,
    `app` and `query_one`, and calls `start_training()` from `on_mount`.
    """

    training_runs: dict[str, RunOut]  # by task id
    training_scripts: dict[str, RunScriptOut]  # by run id
    training_live: dict[str, list[LiveLineOut]]  # by run id
    training_result: RunOut | None  # the latest result shown
    _awaiting_result: set[str]  # run ids saved here whose result is not read yet
    _runs_read_for: str | None  # the task id the last runs read was for

    def start_training(self) -> None:
        self.training_runs = {}
        self.training_scripts = {}
        self.training_live = {}
        self.training_result = None
        self._awaiting_result = set()
        self._runs_read_for = None
        script = self.script  # type: ignore[attr-defined]
        for name in ("step", "branch", "voicemail"):
            self.watch(script, name, self._training_follow, init=False)  # type: ignore[attr-defined]

    def trainee_api(self) -> TrainingApi | None:
        sync = self.services.sync  # type: ignore[attr-defined]
        if sync is None:
            return None
        from backend_client.training import TrainingApi

        return TrainingApi(sync.client)

    @property
    def open_run(self) -> RunOut | None:
        """The training run whose task is open, if known."""
        context = self.context  # type: ignore[attr-defined]
        if context is None:
            return None
        return self.training_runs.get(context.task.id)

    # --- the patient strip ------------------------------------------------------

    def training_task_opened(self) -> None:
        """A task just opened: show its run's patient, reading the runs if needed."""
        context = self.context  # type: ignore[attr-defined]
        if context is None or not context.practice.is_training:
            self.query_one(PatientLines).hide()  # type: ignore[attr-defined]
            return
        self.draw_patient()
        run = self.open_run
        if run is None and self._runs_read_for != context.task.id:
            self._runs_read_for = context.task.id
            self.load_training_runs()
        elif run is not None and run.id not in self.training_scripts:
            self.load_run_lines(run.id)

    def _training_follow(self, *_: Any) -> None:
        self.draw_patient()

    def draw_patient(self) -> None:
        """Redraw the strip for the open task's run and the script's step and branch now."""
        strip = self.query_one(PatientLines)  # type: ignore[attr-defined]
        run = self.open_run
        script_out = self.training_scripts.get(run.id) if run is not None else None
        if run is None or script_out is None:
            strip.hide()
            return
        from followup_core.training.run import STEP_KEYS

        pane = self.script  # type: ignore[attr-defined]
        step = STEP_KEYS[pane.step] if 0 <= pane.step < len(STEP_KEYS) else None
        branch: str | None = None
        shown = pane.script
        if pane.branch is not None and shown is not None and pane.step < len(shown.steps):
            branches = shown.steps[pane.step].branches
            if 1 <= pane.branch <= len(branches):
                branch = branches[pane.branch - 1][0]
        said = lines_for(script_out.lines, step, branch, bool(pane.voicemail))
        live = self.training_live.get(run.id) or []
        strip.show_lines(run.title, step, said, live[-1] if live else None, bool(pane.voicemail))

    @work(exclusive=True, group="training-runs", exit_on_error=False)
    async def load_training_runs(self) -> None:
        from backend_client.errors import ApiError, Offline

        api = self.trainee_api()
        if api is None:
            return
        try:
            runs = await api.runs()
        except (ApiError, Offline):
            return
        self.training_runs = {r.task_id: r for r in runs}
        run = self.open_run
        if run is not None:
            await self._read_lines(api, run.id)
            self.draw_patient()

    @work(group="training-lines", exit_on_error=False)
    async def load_run_lines(self, run_id: str) -> None:
        api = self.trainee_api()
        if api is not None:
            await self._read_lines(api, run_id)
            self.draw_patient()

    async def _read_lines(self, api: TrainingApi, run_id: str) -> None:
        from backend_client.errors import ApiError, Offline

        try:
            if run_id not in self.training_scripts:
                self.training_scripts[run_id] = await api.script(run_id)
            self.training_live[run_id] = list((await api.live_lines(run_id)).lines)
        except (ApiError, Offline):
            return

    # --- events and results -----------------------------------------------------------

    def training_event(self, data: dict[str, object]) -> None:
        """A `training` event: a run of ours has a new live line or was scored."""
        run_id = data.get("run_id")
        if isinstance(run_id, str) and any(r.id == run_id for r in self.training_runs.values()):
            self.refresh_run(run_id)

    def training_attempt_saved(self, task_id: str) -> None:
        """The outcome of `task_id` was saved here: its result follows once it is delivered."""
        run = self.training_runs.get(task_id)
        if run is not None:
            self._awaiting_result.add(run.id)

    def training_feed_changed(self, task_ids: frozenset[str], full: bool) -> None:
        """The feed moved: read the result of each saved run whose task changed."""
        for run in list(self.training_runs.values()):
            if run.id in self._awaiting_result and (full or run.task_id in task_ids):
                self.refresh_run(run.id)

    @work(group="training-run", exit_on_error=False)
    async def refresh_run(self, run_id: str) -> None:
        from backend_client.errors import ApiError, Offline

        api = self.trainee_api()
        if api is None:
            return
        try:
            run = await api.run(run_id)
            self.training_live[run_id] = list((await api.live_lines(run_id)).lines)
        except (ApiError, Offline):
            return
        self.training_runs[run.task_id] = run
        if self.open_run is not None and self.open_run.id == run_id:
            self.draw_patient()
        first = run.id in self._awaiting_result
        if run.outcome is not None and (first or run.status == "scored"):
            self._awaiting_result.discard(run.id)
            self.show_training_result(run, open_dialog=first)

    def show_training_result(self, run: RunOut, *, open_dialog: bool = True) -> None:
        """Show `run`'s result: update its open result dialog; else open one if
        `open_dialog` (the first result, right after the save) and nothing else is on
        top (another dialog, the lock); otherwise only a notice (Ctrl+T opens it)."""
        from assistant_tui.screens.trainee_result import TraineeResultScreen

        self.training_result = run
        app = self.app  # type: ignore[attr-defined]
        top = app.screen
        if isinstance(top, TraineeResultScreen) and (top.run.id == run.id or open_dialog):
            top.show_run(run)
        elif top is self and open_dialog:
            app.push_screen(TraineeResultScreen(run))
        else:
            key = self._result_key()
            self.notify(f"Training result: {run.title} ({key} shows it)", timeout=8)  # type: ignore[attr-defined]

    def _result_key(self) -> str:
        from assistant_tui import actions

        keymap = self.services.settings.keymap  # type: ignore[attr-defined]
        return actions.key_for("workspace.training_result", keymap)

    def action_show_training_result(self) -> None:
        from assistant_tui.screens.trainee_result import TraineeResultScreen

        if self.training_result is None:
            self.notify("No training result yet.", severity="warning")  # type: ignore[attr-defined]
            return
        self.app.push_screen(TraineeResultScreen(self.training_result))  # type: ignore[attr-defined]
