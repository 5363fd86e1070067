"""The trainer's training desk (issue 9; DESIGN "Training").

Three tables: the scenario library (title, workflow, situations; the selected
one's brief below), the trainees (the training practice's assistants, their runs
and what they are cleared for) and the runs, newest first (status, score and
result). Read from `GET /v1/training/scenarios`, `/trainees` and `/runs`; the
trainees and runs are re-read ~0.2 s after a live event that can move them (a
feed change: the run's task was saved or changed; `assignment`, `team`,
`whisper`), with the team board's timed fallback (30 s with the live stream, 5 s
without). A run lives on the synthetic training practice: no real patient here.

Keys (area "train"): A assigns the selected scenario to a trainee; Enter on a
run follows it live (the trainee's panes through the session mirror, the
expected handling and the patient's lines, W coaches at the trainee's step), or
shows the result of a scored run; M marks a run; V shows its result; P a
trainee's progress; C clears a trainee for a workflow (audited by the server).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.timer import Timer
from textual.widgets import DataTable, Static

from assistant_tui import actions
from assistant_tui.messages import FeedChanged
from assistant_tui.modes.base import ModeScreen
from assistant_tui.modes.placeholder import connection_text
from assistant_tui.screens.training_cells import (
    RUN_COLUMNS,
    SCENARIO_COLUMNS,
    TRAINEE_COLUMNS,
    names_of,
    run_cells,
    scenario_cells,
    trainee_cells,
)
from assistant_tui.widgets.footer import LeanFooter

if TYPE_CHECKING:
    from backend_client.training import TrainingApi
    from followup_core.training.evaluation import EvaluationForm
    from followup_core.training.wire import RunOut, ScenarioSummary, TraineeOut

REFRESH_DEBOUNCE = 0.2  # seconds after a live event before runs and trainees are re-read
POLL_LIVE = 30.0  # seconds between fallback re-reads while the stream is up
POLL_OFFLINE = 5.0  # … and while it is not
# What M, V and Enter on the runs say when there is no run to act on (else nothing happens).
NO_RUN = "no run selected: assign a scenario first (a), or pick a run in the runs table"


def error_text(exc: Exception) -> str:
    """A client error in a few words (the server's message when it sent one)."""
    return str(getattr(exc, "message", "") or type(exc).__name__)


class TrainScreen(ModeScreen):
    """The training desk: scenario library, trainees and live runs."""

    MODE = "train"
    AREAS = ("train",)
    BINDINGS = actions.bindings("train")
    TITLE: ClassVar[str] = "Training desk"

    def __init__(self, services: Any, api: TrainingApi | None = None) -> None:
        super().__init__(services)
        self._fixed_api = api  # snapshots hand fixed answers; else the sync engine's client
        self.scenarios: list[ScenarioSummary] = []
        self.trainees: list[TraineeOut] = []
        self.runs: list[RunOut] = []
        self.forms: dict[tuple[str, int], EvaluationForm] = {}
        self.error: str | None = None
        self.loads = 0  # times runs and trainees were received (tests wait on it)
        self._debounce: Timer | None = None
        self._poll: Timer | None = None
        self._table = "#train-scenarios"  # the table last focused: what P and C act on

    # --- layout ----------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        with Vertical(id="train"):
            yield Static(self._header_text(), id="train-header")
            with Horizontal(id="train-body"):
                with Vertical(id="train-left"):
                    scenarios: DataTable[Any] = DataTable(id="train-scenarios", cursor_type="row")
                    scenarios.add_columns(*SCENARIO_COLUMNS)
                    yield scenarios
                    yield Static("", id="train-brief")
                with Vertical(id="train-right"):
                    trainees: DataTable[Any] = DataTable(id="train-trainees", cursor_type="row")
                    trainees.add_columns(*TRAINEE_COLUMNS)
                    yield trainees
                    runs: DataTable[Any] = DataTable(
                        id="train-runs", cursor_type="row", zebra_stripes=True
                    )
                    runs.add_columns(*RUN_COLUMNS)
                    yield runs
            yield Static("", id="train-message")
        yield LeanFooter()

    def on_mount(self) -> None:
        self.query_one("#train-scenarios", DataTable).border_title = "Scenario library"
        self.query_one("#train-trainees", DataTable).border_title = "Trainees"
        self.query_one("#train-runs", DataTable).border_title = "Runs (newest first)"
        self.query_one("#train-scenarios", DataTable).focus()
        self._schedule_poll()
        self.load_library()
        self.refresh_runs()

    @property
    def api(self) -> TrainingApi | None:
        """The training endpoints over the signed-in client (None offline)."""
        if self._fixed_api is not None:
            return self._fixed_api
        sync = self.services.sync
        if sync is None:
            return None
        from backend_client.training import TrainingApi

        return TrainingApi(sync.client)

    @property
    def supervision(self) -> Any:
        """The supervision endpoints (shadow, mirror, whisper) over the same client."""
        sync = self.services.sync
        if sync is None:
            return None
        from backend_client.supervision import SupervisionApi

        return SupervisionApi(sync.client)

    def _header_text(self) -> str:
        user = self.services.user
        who = (
            f"[b]{escape(user.display_name)}[/b] ({escape(str(user.role))})"
            if user is not None
            else "not signed in"
        )
        status = self.services.status
        link = connection_text(status.online if status else False, self.services.live)
        return f"[b]{self.TITLE}[/b] · {who} · {escape(link.split(':')[0])}"

    # --- loading -----------------------------------------------------------------------

    def _schedule_poll(self) -> None:
        if self._poll is not None:
            self._poll.stop()
        every = POLL_LIVE if self.services.live else POLL_OFFLINE
        self._poll = self.set_interval(every, self.refresh_runs)

    def sync_status_changed(self) -> None:
        self.query_one("#train-header", Static).update(self._header_text())
        self._schedule_poll()

    def live_event(self, kind: str, data: dict[str, object]) -> None:
        if kind in ("assignment", "team", "whisper", "resync"):
            self.soon()
        if kind == "session":
            from assistant_tui.screens.shadow import ShadowScreen

            for screen in self.app.screen_stack:
                if isinstance(screen, ShadowScreen) and screen.subject_id == data.get("user_id"):
                    screen.nudged(int(str(data.get("seq", 0))))

    @on(FeedChanged)
    def _feed_changed(self, message: FeedChanged) -> None:
        message.stop()
        self.soon()
        from assistant_tui.screens.training_follow import FollowRunScreen

        mine = {r.task_id for r in self.runs}
        if message.full or set(message.task_ids) & mine:
            for screen in self.app.screen_stack:
                if isinstance(screen, FollowRunScreen):
                    screen.reload_run()

    def soon(self) -> None:
        """Re-read runs and trainees shortly (a burst of events costs one read)."""
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(REFRESH_DEBOUNCE, self.refresh_runs)

    @work(exclusive=True, group="library", exit_on_error=False)
    async def load_library(self) -> None:
        api = self.api
        if api is None:
            self._say("offline: the training desk needs the server")
            return
        from backend_client.errors import ApiError, Offline

        try:
            scenarios = await api.scenarios()
            forms = await api.forms()
        except (ApiError, Offline) as exc:
            self._say(f"library not loaded: {error_text(exc)}")
            return
        self.scenarios = scenarios
        self.forms = {(f.id, f.version): f for f in forms}
        if self.error is not None and self.error.startswith(("offline", "library")):
            self.error = None
            self.query_one("#train-message", Static).update("")
        self._draw_scenarios()

    @work(exclusive=True, group="runs", exit_on_error=False)
    async def refresh_runs(self) -> None:
        api = self.api
        if api is None:
            return
        from backend_client.errors import ApiError, Offline

        try:
            trainees = await api.trainees()
            runs = await api.runs()
        except (ApiError, Offline) as exc:
            self._say(f"runs not refreshed: {error_text(exc)}")
            return
        self.trainees, self.runs = trainees, runs
        self.loads += 1
        self._draw_runs()

    # --- drawing ---------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.error = text
        self.query_one("#train-message", Static).update(escape(text))

    def _draw_scenarios(self) -> None:
        table = self.query_one("#train-scenarios", DataTable)
        row = table.cursor_row
        table.clear()
        for s in self.scenarios:
            table.add_row(*scenario_cells(s), key=s.id)
        if self.scenarios and row is not None:
            table.move_cursor(row=min(row, len(self.scenarios) - 1))
        self._draw_brief()

    def _draw_brief(self) -> None:
        s = self.selected_scenario
        text = ""
        if s is not None:
            text = (
                f"[b]{escape(s.title)}[/b] ({escape(s.id)} v{s.version})\n{escape(s.brief)}\n"
                f"[dim]Situations: {escape(', '.join(s.situations))}[/dim]"
            )
        self.query_one("#train-brief", Static).update(text)

    def draw(self) -> None:
        """Redraw every table from what was last received (snapshots set the lists)."""
        self._draw_scenarios()
        self._draw_runs()

    def _draw_runs(self) -> None:
        names = names_of(self.trainees)
        trainees = self.query_one("#train-trainees", DataTable)
        row = trainees.cursor_row
        trainees.clear()
        for t in self.trainees:
            trainees.add_row(*trainee_cells(t), key=t.id)
        if self.trainees and row is not None:
            trainees.move_cursor(row=min(row, len(self.trainees) - 1))
        table = self.query_one("#train-runs", DataTable)
        selected = self.selected_run.id if self.selected_run is not None else None
        table.clear()
        for run in self.runs:
            table.add_row(*run_cells(run, names), key=run.id)
        for index, run in enumerate(self.runs):
            if run.id == selected:
                table.move_cursor(row=index)

    # --- selection -------------------------------------------------------------------------

    @property
    def selected_scenario(self) -> ScenarioSummary | None:
        return self._pick(self.scenarios, "#train-scenarios")

    @property
    def selected_trainee(self) -> TraineeOut | None:
        return self._pick(self.trainees, "#train-trainees")

    @property
    def selected_run(self) -> RunOut | None:
        return self._pick(self.runs, "#train-runs")

    def _pick(self, rows: list[Any], table_id: str) -> Any:
        table = self.query_one(table_id, DataTable)
        if rows and table.cursor_row is not None and 0 <= table.cursor_row < len(rows):
            return rows[table.cursor_row]
        return None

    @on(DataTable.RowHighlighted, "#train-scenarios")
    def _scenario_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._draw_brief()

    def on_descendant_focus(self, event: Any) -> None:
        widget = event.widget
        if isinstance(widget, DataTable) and widget.id:
            self._table = f"#{widget.id}"

    def _trainee_in_view(self) -> TraineeOut | None:
        """The trainee P and C act on: the selected trainee, or the selected run's."""
        if self._table == "#train-runs" and self.selected_run is not None:
            wanted = self.selected_run.trainee_id
            return next((t for t in self.trainees if t.id == wanted), None)
        return self.selected_trainee

    def form_of(self, run: RunOut) -> EvaluationForm | None:
        e = run.evaluation
        return self.forms.get((e.form_id, e.form_version))

    # --- actions ---------------------------------------------------------------------------

    @on(DataTable.RowSelected, "#train-runs")
    def _run_chosen(self, event: DataTable.RowSelected) -> None:
        """Enter on a run (the table takes the key first): follow it, or its result."""
        event.stop()
        self.action_open_run()

    @on(DataTable.RowSelected, "#train-scenarios")
    def _scenario_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_assign()

    @on(DataTable.RowSelected, "#train-trainees")
    def _trainee_chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_progress()

    def action_open_run(self) -> None:
        run = self.selected_run
        if run is None:
            self._say(NO_RUN)
            return
        if run.status == "scored":
            self.action_result()
            return
        api, supervision = self.api, self.supervision
        if api is None or supervision is None:
            self._say("offline: following a run needs the server")
            return
        from assistant_tui.screens.training_follow import FollowRunScreen

        name = names_of(self.trainees).get(run.trainee_id, "the trainee")
        self.app.push_screen(
            FollowRunScreen(self.services, supervision, api, run, name, self.form_of(run))
        )

    def action_assign(self) -> None:
        scenario = self.selected_scenario
        if scenario is None or self.api is None:
            return
        if not self.trainees:
            self._say("no trainee on the training practice to assign to")
            return
        from assistant_tui.screens.training_dialogs import AssignScreen

        def chosen(trainee_id: str | None) -> None:
            if trainee_id:
                self.assign(scenario.id, trainee_id)

        self.app.push_screen(AssignScreen(scenario, self.trainees), chosen)

    @work(group="assign", exit_on_error=False)
    async def assign(self, scenario_id: str, trainee_id: str) -> None:
        api = self.api
        if api is None:
            return
        from backend_client.errors import ApiError, Offline

        try:
            run = await api.assign(scenario_id, trainee_id)
        except (ApiError, Offline) as exc:
            self._say(f"not assigned: {error_text(exc)}")
            return
        name = names_of(self.trainees).get(trainee_id, "the trainee")
        self._say(f"assigned “{run.title}” to {name}")
        if all(r.id != run.id for r in self.runs):
            self.runs.insert(0, run)
            self._draw_runs()
        self.soon()

    def action_marks(self) -> None:
        run = self.selected_run
        if run is None:
            self._say(NO_RUN)
            return
        self.open_marks(run)

    def open_marks(self, run: RunOut, then: Callable[[RunOut], None] | None = None) -> None:
        """Open the marks of `run` (the trainer's items of its form); `then` gets the run
        as the server answers it once marks are saved."""
        api = self.api
        form = self.form_of(run)
        if api is None or form is None:
            self._say("the run's evaluation form is not loaded")
            return
        if run.status == "scored":
            self._say("the run is scored; its marks are closed")
            return
        from assistant_tui.screens.training_marks import MarksScreen

        name = names_of(self.trainees).get(run.trainee_id, "the trainee")

        def marked(answer: RunOut | None) -> None:
            if answer is not None and then is not None:
                then(answer)
            self._marked(answer)

        self.app.push_screen(MarksScreen(api, run, form, name), marked)

    def _marked(self, run: RunOut | None) -> None:
        if run is None:
            return
        self.runs = [run if r.id == run.id else r for r in self.runs]
        self._draw_runs()
        self.soon()
        if run.status == "scored":
            self.show_result(run)
        else:
            self._say("marks saved; the run is scored once its outcome is saved")

    def action_result(self) -> None:
        run = self.selected_run
        if run is None:
            self._say(NO_RUN)
            return
        self.show_result(run)

    def show_result(self, run: RunOut) -> None:
        """The run's result: score, pass/fail, fatal items and each section."""
        from assistant_tui.screens.training_result import ResultScreen

        name = names_of(self.trainees).get(run.trainee_id, "the trainee")
        self.app.push_screen(ResultScreen(run, name, self.form_of(run)))

    def action_progress(self) -> None:
        trainee = self._trainee_in_view()
        api = self.api
        if trainee is None or api is None:
            return
        from assistant_tui.screens.training_result import ProgressScreen

        titles: dict[str, str] = {}
        for form in self.forms.values():
            for section in form.sections:
                titles.update({item.id: item.text for item in section.items})
        self.app.push_screen(ProgressScreen(api, trainee, titles), lambda _: self.soon())

    def action_clear(self) -> None:
        trainee = self._trainee_in_view()
        if trainee is None or self.api is None:
            return
        from assistant_tui.screens.training_dialogs import ClearScreen

        def chosen(workflow: str | None) -> None:
            if workflow:
                self.clear(trainee.id, workflow)

        self.app.push_screen(ClearScreen(trainee), chosen)

    @work(group="clear", exit_on_error=False)
    async def clear(self, trainee_id: str, workflow: str) -> None:
        api = self.api
        if api is None:
            return
        from backend_client.errors import ApiError, Offline

        try:
            await api.clear(trainee_id, workflow)
        except (ApiError, Offline) as exc:
            self._say(f"not cleared: {error_text(exc)}")
            return
        name = names_of(self.trainees).get(trainee_id, "the trainee")
        self._say(f"{name} cleared for {workflow}")
        self.refresh_runs()
