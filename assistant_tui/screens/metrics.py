"""The metrics dashboard for managers and supervisors, and the exceptions review.

`MetricsScreen` shows one practice's follow-up figures (value, trend arrow
against the previous bucket of its series, the definition of the highlighted
figure and its series as a Sparkline), a daily and weekly summary, and opens
`ExceptionsScreen`; each exceptions line opens `TaskListScreen`, the tasks
behind it. Data comes from a `MetricsSource` (the `backend_client.ApiClient`
is one) in an async worker: the UI thread never waits on the network.
Filters are keys: period (7/30/90/365 days), day or week buckets, workflow.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import ClassVar, Protocol

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Sparkline, Static

from followup_core.enums import WorkflowId
from followup_core.metrics import ExceptionGroup, ExceptionsReport, Figure, MetricsReport

PERIODS = (7, 30, 90, 365)
WORKFLOW_CHOICES: tuple[str | None, ...] = (None, *(w.value for w in WorkflowId))
EXCEPTION_TITLES = {
    "recurring_reasons": "Recurring escalation reasons",
    "repeated_failed_contact": "Repeated failed contact",
    "conflicts": "Conflicts needing attention",
    "past_target": "Tasks past their target",
}
# Figures where a rise is bad news (the arrow is shown in red).
LOWER_IS_BETTER = frozenset(
    {"callback-time", "no-show-trend", "unresolved-by-age", "referral-aging", "escalations",
     "access-complaints", "work-outside-hours", "attempts-per-resolved-task"}
)  # fmt: skip


class MetricsSource(Protocol):
    """What the screen needs from the API (`backend_client.ApiClient` has both)."""

    async def metrics(
        self,
        practice_id: str,
        start: date,
        end: date,
        *,
        workflow: str | None = None,
        assistant_id: str | None = None,
        granularity: str = "day",
    ) -> MetricsReport: ...

    async def metrics_exceptions(
        self,
        practice_id: str,
        start: date,
        end: date,
        *,
        workflow: str | None = None,
        assistant_id: str | None = None,
    ) -> ExceptionsReport: ...


def format_value(fig: Figure) -> str:
    """83%, 42 min, 7, 12 d; `no data source` or `no data` instead of a made-up zero."""
    if fig.status == "no-data-source":
        return "no data source"
    if fig.value is None:
        return "no data"
    if fig.unit == "ratio":
        return f"{fig.value * 100:.0f}%"
    if fig.unit == "minutes":
        return f"{fig.value:.0f} min"
    if fig.unit == "days":
        return f"{fig.value:.0f} d"
    return f"{fig.value:.2f}".rstrip("0").rstrip(".")


def trend_arrow(fig: Figure) -> str:
    """↑, ↓ or → from the last two buckets of the series that have a value; '' if fewer."""
    values = [p.value for p in fig.series if p.value is not None]
    if len(values) < 2:
        return ""
    last, before = values[-1], values[-2]
    if abs(last - before) < 1e-9:
        return "→"
    up = last > before
    good = up != (fig.id in LOWER_IS_BETTER)
    colour = "green" if good else "red"
    return f"[{colour}]{'↑' if up else '↓'}[/]"


def summary_lines(report: MetricsReport) -> list[str]:
    """The daily and weekly summary: the last day's and the last seven days' headlines."""
    figs = {f.id: f for f in report.figures}
    lines = []
    for label, days in (("Last day", 1), ("Last 7 days", 7)):
        parts = []
        for fid, name in (
            ("sla-met", "SLA met"),
            ("missed-call-recovery", "recovery"),
            ("callback-time", "callback median"),
            ("confirmation-rate", "confirmed"),
        ):
            fig = figs.get(fid)
            if fig is None:
                continue
            points = [p.value for p in fig.series[-days:] if p.value is not None]
            if not points:
                parts.append(f"{name} -")
                continue
            value = sum(points) / len(points)
            text = f"{value * 100:.0f}%" if fig.unit == "ratio" else f"{value:.0f} min"
            parts.append(f"{name} {text}")
        lines.append(f"[b]{label}[/b]: " + ", ".join(parts))
    return lines


class TaskListScreen(Screen[None]):
    """The tasks behind one exceptions line (ids: the names stay in the workspace)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="metrics.back")
    ]

    def __init__(self, group: ExceptionGroup) -> None:
        super().__init__()
        self.group = group

    def compose(self) -> ComposeResult:
        yield Static(
            f"[b]{escape(self.group.label)}[/b] · {self.group.count}",
            id="list-title",
        )
        table: DataTable[str] = DataTable(id="task-list", cursor_type="row")
        table.add_columns("#", "Task")
        for n, task_id in enumerate(self.group.task_ids, 1):
            table.add_row(str(n), task_id, key=task_id)
        yield table
        yield Footer()


class ExceptionsScreen(Screen[None]):
    """Recurring reasons, repeated failed contact, conflicts, tasks past target."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "app.pop_screen", "Back", id="metrics.back"),
        Binding("enter", "open", "Open list", id="metrics.open_list"),
    ]

    def __init__(self, report: ExceptionsReport) -> None:
        super().__init__()
        self.report = report
        self._groups: dict[str, ExceptionGroup] = {}

    def compose(self) -> ComposeResult:
        r = self.report
        yield Static(
            f"[b]Exceptions review[/b] · {r.period_start} to {r.period_end}", id="exceptions-title"
        )
        table: DataTable[str] = DataTable(id="exceptions", cursor_type="row")
        table.add_columns("Kind", "What", "Count")
        for section, title in EXCEPTION_TITLES.items():
            groups: list[ExceptionGroup] = getattr(r, section)
            if not groups:
                table.add_row(title, "[dim]none[/dim]", "0", key=f"{section}:none")
            for g in groups:
                key = f"{section}:{g.key}"
                self._groups[key] = g
                table.add_row(title, escape(g.label), str(g.count), key=key)
        yield table
        yield Footer()

    def action_open(self) -> None:
        table = self.query_one("#exceptions", DataTable)
        if table.row_count == 0:
            return
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        group = self._groups.get(str(key))
        if group is not None:
            self.app.push_screen(TaskListScreen(group))

    @on(DataTable.RowSelected, "#exceptions")
    def _selected(self) -> None:
        self.action_open()


class MetricsDashboard(Vertical):
    """The dashboard: figures with trend arrows, the highlighted figure's chart and
    definition, the summary; keys change the period, buckets and workflow. A widget,
    so the metrics mode and the standalone `MetricsScreen` both host it (its keys work
    while the focus is inside it)."""

    DEFAULT_CSS = """
    MetricsDashboard #figures { height: 15; }
    MetricsDashboard #chart { height: 4; margin: 0 1; }
    MetricsDashboard #definition { height: auto; max-height: 6; margin: 0 1; }
    MetricsDashboard #summary { height: 2; margin: 0 1; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "cycle_period", "Period", id="metrics.period"),
        Binding("g", "toggle_granularity", "Day/week", id="metrics.granularity"),
        Binding("w", "cycle_workflow", "Workflow", id="metrics.workflow"),
        Binding("x", "exceptions", "Exceptions", id="metrics.exceptions"),
        Binding("r", "reload", "Reload", id="metrics.reload"),
    ]

    def __init__(self, source: MetricsSource, practice_id: str, today: date) -> None:
        super().__init__()
        self.source = source
        self.practice_id = practice_id
        self.today = today
        self.period_days = 30
        self.granularity = "day"
        self.workflow: str | None = None
        self.report: MetricsReport | None = None
        self.error: str | None = None

    @property
    def start(self) -> date:
        return self.today - timedelta(days=self.period_days - 1)

    def compose(self) -> ComposeResult:
        yield Static("Loading the figures…", id="metrics-title")
        yield Static("", id="summary")
        table: DataTable[str] = DataTable(id="figures", cursor_type="row")
        table.add_columns("Figure", "Value", "Trend", "Detail")
        yield table
        yield Sparkline([], id="chart")
        yield Static("", id="definition")

    def on_mount(self) -> None:
        self.load()

    @work(exclusive=True, group="metrics")
    async def load(self) -> None:
        try:
            report = await self.source.metrics(
                self.practice_id,
                self.start,
                self.today,
                workflow=self.workflow,
                granularity=self.granularity,
            )
        except Exception as exc:  # shown, never raised into the UI
            self.error = f"could not load the figures: {type(exc).__name__}"
            self.query_one("#metrics-title", Static).update(f"[red]{escape(self.error)}[/red]")
            return
        self.report = report
        self.error = None
        self._show(report)

    def _filters_text(self) -> str:
        wf = self.workflow or "all workflows"
        return f"last {self.period_days} days by {self.granularity} · {wf}"

    def _show(self, report: MetricsReport) -> None:
        self.query_one("#metrics-title", Static).update(
            f"[b]Follow-up metrics[/b] · {report.period_start} to {report.period_end} "
            f"({escape(report.timezone)})  ·  {escape(self._filters_text())}"
        )
        self.query_one("#summary", Static).update("\n".join(summary_lines(report)))
        table = self.query_one("#figures", DataTable)
        row = table.cursor_row
        table.clear()
        for fig in report.figures:
            detail = _detail(fig)
            table.add_row(fig.title, format_value(fig), trend_arrow(fig), detail, key=fig.id)
        if report.figures:
            table.move_cursor(row=min(max(row, 0), len(report.figures) - 1))
            self._highlight(report.figures[table.cursor_row])

    def _highlight(self, fig: Figure) -> None:
        values = [p.value or 0.0 for p in fig.series]
        self.query_one("#chart", Sparkline).data = values
        self.query_one("#definition", Static).update(
            f"[b]{escape(fig.title)}[/b]: {escape(fig.definition)}"
        )

    @on(DataTable.RowHighlighted, "#figures")
    def _row(self, event: DataTable.RowHighlighted) -> None:
        if self.report is None or event.row_key.value is None:
            return
        for fig in self.report.figures:
            if fig.id == event.row_key.value:
                self._highlight(fig)

    def action_cycle_period(self) -> None:
        self.period_days = PERIODS[(PERIODS.index(self.period_days) + 1) % len(PERIODS)]
        self.load()

    def action_toggle_granularity(self) -> None:
        self.granularity = "week" if self.granularity == "day" else "day"
        self.load()

    def action_cycle_workflow(self) -> None:
        i = WORKFLOW_CHOICES.index(self.workflow)
        self.workflow = WORKFLOW_CHOICES[(i + 1) % len(WORKFLOW_CHOICES)]
        self.load()

    def action_reload(self) -> None:
        self.load()

    @work(exclusive=True, group="exceptions")
    async def action_exceptions(self) -> None:
        try:
            report = await self.source.metrics_exceptions(
                self.practice_id, self.start, self.today, workflow=self.workflow
            )
        except Exception as exc:
            self.notify(f"could not load the exceptions: {type(exc).__name__}", severity="error")
            return
        await self.app.push_screen(ExceptionsScreen(report))


class MetricsScreen(Screen[None]):
    """The dashboard as a screen of its own (tests, or an App without modes)."""

    def __init__(self, source: MetricsSource, practice_id: str, today: date) -> None:
        super().__init__()
        self.dashboard = MetricsDashboard(source, practice_id, today)

    @property
    def report(self) -> MetricsReport | None:
        return self.dashboard.report

    def compose(self) -> ComposeResult:
        yield self.dashboard
        yield Footer()


def _detail(fig: Figure) -> str:
    v = fig.values
    if fig.id == "callback-time" and v.get("p90_wall_minutes") is not None:
        return (
            f"p90 {v['p90_wall_minutes']:.0f} min · business median "
            f"{v.get('median_business_minutes') or 0:.0f} / p90 "
            f"{v.get('p90_business_minutes') or 0:.0f}"
        )
    if fig.id == "confirmation-rate" and fig.value is not None:
        patient = v.get("patient_rate")
        patient_text = "no data source" if patient is None else f"{patient * 100:.0f}%"
        return f"staff {(v.get('staff_rate') or 0) * 100:.0f}% · patient {patient_text}"
    if fig.breakdown:
        return " · ".join(
            f"{row.key} {_short(next(iter(row.values.values()), None))}" for row in fig.breakdown
        )
    return ""


def _short(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.0f}" if value >= 1 or value == 0 else f"{value:.2f}"
