"""Line and bar charts of the follow-up figures (plotext, through textual-plotext).

`chart_for(figure)` decides, as a pure function, what a figure's chart is: a
line over its time series (no-show trend by ISO week, callback time's median
per bucket), bars over its breakdown (referral aging by age bucket, escalations
by route), or no plotext chart (`None`: the dashboard keeps Textual's Sparkline
for the other figures). A figure with nothing to draw gets a `ChartSpec` whose
`empty` says why ("no data", or what source it needs): the chart never draws a
zero line for a bucket without data, and buckets without a value are left out of
a line rather than drawn at 0.

`MetricChart` shows a spec. plotext and textual-plotext are imported only when
the first chart is drawn, so starting the client (which never shows one before
the metrics mode opens) does not pay for them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Static

from followup_core.metrics import Figure, FigureStatus

if TYPE_CHECKING:
    from textual_plotext import PlotextPlot

ChartKind = Literal["line", "bar"]

# What a figure with no data source is waiting for (shown instead of a chart).
NEEDS_SOURCE: dict[str, str] = {
    "no-show-trend": "needs interop data: appointment outcomes (noshow, fulfilled) arrive "
    "through FHIR or CSV, and none has arrived for this practice",
    "confirmation-rate": "needs interop data: patient confirmations arrive through FHIR or CSV",
}


# figure id: (chart title, kind, unit drawn)
CHARTS: dict[str, tuple[str, ChartKind, str]] = {
    "no-show-trend": ("No-show rate by week (%)", "line", "%"),
    "callback-time": ("Callback time, median (wall minutes)", "line", "minutes"),
    "referral-aging": ("Open referrals by days since referral", "bar", "count"),
    "escalations": ("Escalations raised by route", "bar", "count"),
}


@dataclass(frozen=True)
class ChartSpec:
    """One chart: `labels[i]` under `values[i]`; `unit` as in `Figure.unit` (a ratio is
    drawn as a percentage); `empty` is the text shown instead when there is nothing to
    draw (then `labels` and `values` are empty)."""

    figure_id: str
    kind: ChartKind
    title: str
    unit: str
    labels: list[str] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    empty: str | None = None


def _series_spec(fig: Figure, title: str, scale: float, unit: str) -> ChartSpec:
    labels = [p.start.strftime("%m-%d") for p in fig.series if p.value is not None]
    values = [p.value * scale for p in fig.series if p.value is not None]
    if not values:
        return ChartSpec(fig.id, "line", title, unit, empty="no data in this period")
    return ChartSpec(fig.id, "line", title, unit, labels, values)


def _breakdown_spec(fig: Figure, title: str, value_key: str, unit: str) -> ChartSpec:
    labels: list[str] = []
    values: list[float] = []
    for row in fig.breakdown:
        value = row.values.get(value_key)
        if value is not None:
            labels.append(row.key)
            values.append(value)
    if not any(values):  # every bucket empty: say so rather than draw bars of 0
        return ChartSpec(fig.id, "bar", title, unit, empty="no data in this period")
    return ChartSpec(fig.id, "bar", title, unit, labels, values)


def chart_for(fig: Figure) -> ChartSpec | None:
    """The plotext chart of a figure, or None for figures the Sparkline shows.

    No-show trend: line, % per ISO week. Callback time: line, median wall minutes per
    bucket of the report. Referral aging: bars, open referrals per age bucket (days).
    Escalations: bars, raised per route. A figure without a data source gets the
    source it needs (`NEEDS_SOURCE`) as its `empty` text; one without data "no data".
    """
    if fig.id not in CHARTS:
        return None
    title, kind, unit = CHARTS[fig.id]
    if fig.status == FigureStatus.NO_DATA_SOURCE:
        text = NEEDS_SOURCE.get(fig.id, "no data source for this practice")
        return ChartSpec(fig.id, kind, title, unit, empty=text)
    if fig.id == "no-show-trend":
        return _series_spec(fig, title, 100.0, unit)
    if fig.id == "callback-time":
        return _series_spec(fig, title, 1.0, unit)
    if fig.id == "referral-aging":
        return _breakdown_spec(fig, title, "count", unit)
    return _breakdown_spec(fig, title, "raised", unit)


class MetricChart(Vertical):
    """A plotext line or bar chart of one `ChartSpec`, or its `empty` text.

    The plot widget is created on the first spec that has data (the lazy import of
    plotext); later specs redraw it in place.
    """

    DEFAULT_CSS = """
    MetricChart { height: 1fr; min-height: 5; }
    MetricChart > #chart-empty { height: 1fr; content-align: center middle; color: $text-muted; }
    MetricChart > PlotextPlot { height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.spec: ChartSpec | None = None
        self._plot: PlotextPlot | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="chart-empty")

    def show(self, spec: ChartSpec) -> None:
        """Draw `spec` (a line, bars, or its `empty` text in place of the plot)."""
        self.spec = spec
        empty = self.query_one("#chart-empty", Static)
        if spec.empty is not None:
            empty.update(f"{spec.title}: {spec.empty}")
            empty.display = True
            if self._plot is not None:
                self._plot.display = False
            return
        empty.display = False
        if self._plot is None:
            from textual_plotext import PlotextPlot  # lazy: plotext only when a chart is drawn

            self._plot = PlotextPlot(id="chart-plot")
            self.mount(self._plot)
        self._plot.display = True
        self._draw(self._plot, spec)

    @staticmethod
    def _draw(plot: PlotextPlot, spec: ChartSpec) -> None:
        plt = plot.plt
        plt.clear_figure()
        plt.title(spec.title)
        xs = [float(i) for i in range(1, len(spec.values) + 1)]
        if spec.kind == "bar":
            plt.bar(spec.labels, spec.values, width=0.5)
        else:
            plt.plot(xs, spec.values, marker="hd")
            step = max(1, len(xs) // 6)  # at most ~6 dates under the line
            plt.xticks(xs[::step], spec.labels[::step])
        low = 0.0
        high = max(spec.values)
        if spec.unit == "%":
            high = max(high, 1.0)
        top = high * 1.1 if high > 0 else 1.0
        plt.ylim(low, top)
        if spec.unit == "count":  # whole numbers on the axis, never 0.18 of a referral
            step = max(1, math.ceil(high / 5))
            plt.yticks([float(v) for v in range(0, int(high) + step, step)])
        plot.refresh()
