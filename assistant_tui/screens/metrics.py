"""The metrics dashboard for managers and supervisors, and the exceptions review.

`MetricsScreen` shows one practice's follow-up figures (value, trend arrow
against the previous bucket of its series, the definition of the highlighted
figure and its series as a Sparkline), a daily and weekly summary, and opens
`ExceptionsScreen`; each exceptions line opens `TaskListScreen`, the tasks
behind it. Data comes from a `MetricsSource` (the `backend_client.ApiClient`
is one) in an async worker: the UI thread never waits on the network.
Filters are keys from the action registry (`actions.bindings("metrics")`):
practice, period (7/30/90/365 days ending on the practice's local today), day or
week buckets, workflow, assistant; `s` switches the daily and weekly summary.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import ClassVar, Protocol

from rich.markup import escape
from textual import on, work
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Sparkline, Static

from assistant_tui import actions
from assistant_tui.widgets.metric_chart import MetricChart, chart_for
from followup_core.business_time import zone
from followup_core.enums import WorkflowId
from followup_core.metrics import (
    ExceptionGroup,
    ExceptionsReport,
    Figure,
    MetricsReport,
    StaffRef,
)

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


SUMMARY_FIGURES = (
    ("sla-met", "SLA met"),
    ("missed-call-recovery", "recovery"),
    ("callback-time", "callback median"),
    ("confirmation-rate", "confirmed"),
)


def summary_line(report: MetricsReport, which: str = "daily") -> str:
    """The daily or the weekly summary of the report's headline figures.

    Daily: the last bucket of each daily series, the practice's today (its local date;
    the period ends on it). Weekly: the mean of the last seven daily buckets that have
    a value, or the last ISO-week bucket when the series are weekly. A figure with no
    value in those buckets shows "-", never 0.
    """
    figs = {f.id: f for f in report.figures}
    weekly_buckets = report.granularity == "week"
    if which == "daily" and weekly_buckets:
        return "[b]Today[/b]: the series are by week (g shows days)"
    days = 7 if which == "weekly" and not weekly_buckets else 1
    label = "Today" if which == "daily" else "Last 7 days"
    if weekly_buckets:
        label = "This week"
    parts = []
    for fid, name in SUMMARY_FIGURES:
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
    return f"[b]{label}[/b] ({which}, s switches): " + ", ".join(parts)


class TaskListScreen(Screen[None]):
    """The tasks behind one exceptions line (ids: the names stay in the workspace)."""

    BINDINGS: ClassVar[list[BindingType]] = actions.bindings("drilldown")
    AREAS: ClassVar[tuple[str, ...]] = ("drilldown",)  # F1 help's area (see `AssistantApp`)

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

    BINDINGS: ClassVar[list[BindingType]] = actions.bindings("exceptions")
    AREAS: ClassVar[tuple[str, ...]] = ("exceptions",)  # F1 help's area (see `AssistantApp`)

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
        """Open the tasks behind the highlighted line (a "none" line opens nothing)."""
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


def local_today(now: datetime, timezone: str | None) -> date:
    """The practice's own date at `now` (aware): in its IANA `timezone`, UTC if unknown.

    Source of the rule: DESIGN.md "Metrics and reports" (days and weeks are the
    practice's local calendar); 23:30 in Los Angeles is already tomorrow in UTC.
    """
    if timezone is None:
        return now.astimezone(UTC).date()
    return now.astimezone(zone(timezone)).date()


class MetricsDashboard(Vertical):
    """The dashboard: figures with trend arrows, the highlighted figure's chart and
    definition, the daily or weekly summary; keys (from `actions.bindings("metrics")`)
    change the practice, period, buckets, workflow and assistant. A widget, so the
    metrics mode and the standalone `MetricsScreen` both host it (its keys work while
    the focus is inside it).

    "Today", the last day of every period, is the practice's local date: from
    `today` if given (tests), else from `now()` in the practice's time zone, known
    from `timezones` or, failing that, from the last answer's `today`; when an answer
    says the practice's today is another date than the one asked for, the figures are
    read again for that date (once per answer).
    """

    DEFAULT_CSS = """
    MetricsDashboard #figures { height: 1fr; max-height: 15; min-height: 5; }
    MetricsDashboard #charts { height: 1fr; min-height: 5; margin: 0 1; }
    MetricsDashboard #chart { height: 1fr; }
    MetricsDashboard #definition { height: auto; max-height: 4; margin: 0 1; }
    MetricsDashboard #summary { height: 1; margin: 0 1; }
    MetricsDashboard #metrics-title { height: auto; max-height: 2; }
    """

    BINDINGS: ClassVar[list[BindingType]] = actions.bindings("metrics")

    def __init__(
        self,
        source: MetricsSource,
        practice_ids: str | Sequence[str],
        today: date | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        timezones: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.source = source
        ids = [practice_ids] if isinstance(practice_ids, str) else list(practice_ids)
        if not ids:
            raise ValueError("the dashboard needs at least one practice")
        self.practice_ids = ids
        self.practice_id = ids[0]
        self._fixed_today = today
        self._now = now or (lambda: datetime.now(UTC))
        self._timezones: dict[str, str] = dict(timezones or {})
        self.period_days = 30
        self.granularity = "day"
        self.workflow: str | None = None
        self.assistant_id: str | None = None
        self.assistants: list[StaffRef] = []
        self.summary = "daily"
        self.report: MetricsReport | None = None
        self.error: str | None = None
        self.loads = 0  # answers shown (tests wait on it)

    @property
    def today(self) -> date:
        """The last day of the period: the practice's local date (see the class doc)."""
        if self._fixed_today is not None:
            return self._fixed_today
        return local_today(self._now(), self._timezones.get(self.practice_id))

    @property
    def start(self) -> date:
        return self.today - timedelta(days=self.period_days - 1)

    def compose(self) -> ComposeResult:
        yield Static("Loading the figures…", id="metrics-title")
        yield Static("", id="summary")
        table: DataTable[str] = DataTable(id="figures", cursor_type="row")
        table.add_columns("Figure", "Value", "Trend", "Detail")
        yield table
        with Vertical(id="charts"):
            yield Sparkline([], id="chart")
            yield MetricChart(id="plot")
        yield Static("", id="definition")

    def on_mount(self) -> None:
        self.query_one("#plot", MetricChart).display = False
        self.load()

    @work(exclusive=True, group="metrics")
    async def load(self) -> None:
        """Read the figures for the current filters (a worker: the UI never waits)."""
        for _ in range(2):  # a second read only when the practice's today was not known
            today = self.today
            try:
                report = await self.source.metrics(
                    self.practice_id,
                    today - timedelta(days=self.period_days - 1),
                    today,
                    workflow=self.workflow,
                    assistant_id=self.assistant_id,
                    granularity=self.granularity,
                )
            except Exception as exc:  # shown, never raised into the UI
                self.error = f"could not load the figures: {type(exc).__name__}"
                self.query_one("#metrics-title", Static).update(f"[red]{escape(self.error)}[/red]")
                return
            self._timezones[report.practice_id] = report.timezone
            if self._fixed_today is None and report.today not in (None, today):
                continue  # the practice's today is another date: ask for that one
            break
        self.report = report
        self.assistants = list(report.assistants)
        self.error = None
        self._show(report)
        self.loads += 1

    def _assistant_name(self) -> str:
        for a in self.assistants:
            if a.id == self.assistant_id:
                return a.display_name
        return self.assistant_id or "all assistants"

    def _filters_text(self) -> str:
        wf = self.workflow or "all workflows"
        return (
            f"last {self.period_days} days by {self.granularity} · {wf} · {self._assistant_name()}"
        )

    def _show(self, report: MetricsReport) -> None:
        practice = ""
        if len(self.practice_ids) > 1:
            n = self.practice_ids.index(self.practice_id) + 1
            practice = f" · practice {n}/{len(self.practice_ids)}"
        self.query_one("#metrics-title", Static).update(
            f"[b]Follow-up metrics[/b] · {report.period_start} to {report.period_end} "
            f"({escape(report.timezone)}){practice}  ·  {escape(self._filters_text())}"
        )
        self.query_one("#summary", Static).update(summary_line(report, self.summary))
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
        spec = chart_for(fig)
        sparkline = self.query_one("#chart", Sparkline)
        plot = self.query_one("#plot", MetricChart)
        # The Sparkline keeps the series (zero for an empty bucket is its only way to
        # draw a gap); a figure with a line or bar chart shows that instead.
        sparkline.data = [p.value or 0.0 for p in fig.series]
        sparkline.display = spec is None
        plot.display = spec is not None
        if spec is not None:
            plot.show(spec)
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

    def action_cycle_practice(self) -> None:
        """The next of the user's practices (the assistant filter is the practice's)."""
        if len(self.practice_ids) < 2:
            self.notify("You have one practice.")
            return
        i = self.practice_ids.index(self.practice_id)
        self.practice_id = self.practice_ids[(i + 1) % len(self.practice_ids)]
        self.assistant_id = None
        self.assistants = []
        self.load()

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

    def action_cycle_assistant(self) -> None:
        """All assistants → each of the practice's assistants in turn → all."""
        choices: list[str | None] = [None, *(a.id for a in self.assistants)]
        if len(choices) < 2:
            self.notify("No assistants to choose from in this practice.")
            return
        i = choices.index(self.assistant_id) if self.assistant_id in choices else 0
        self.assistant_id = choices[(i + 1) % len(choices)]
        self.load()

    def action_toggle_summary(self) -> None:
        self.summary = "weekly" if self.summary == "daily" else "daily"
        if self.report is not None:
            self.query_one("#summary", Static).update(summary_line(self.report, self.summary))

    def action_reload(self) -> None:
        self.load()

    @work(exclusive=True, group="exceptions")
    async def action_exceptions(self) -> None:
        today = self.today
        try:
            report = await self.source.metrics_exceptions(
                self.practice_id,
                today - timedelta(days=self.period_days - 1),
                today,
                workflow=self.workflow,
                assistant_id=self.assistant_id,
            )
        except Exception as exc:
            self.notify(f"could not load the exceptions: {type(exc).__name__}", severity="error")
            return
        await self.app.push_screen(ExceptionsScreen(report))


class MetricsScreen(Screen[None]):
    """The dashboard as a screen of its own (tests, or an App without modes)."""

    def __init__(
        self,
        source: MetricsSource,
        practice_ids: str | Sequence[str],
        today: date | None = None,
        *,
        now: Callable[[], datetime] | None = None,
        timezones: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        self.dashboard = MetricsDashboard(source, practice_ids, today, now=now, timezones=timezones)

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
