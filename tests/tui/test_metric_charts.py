"""The dashboard's charts and its practice-local "today" (no API: a recording source).

`chart_for` is pure: what each figure's chart draws, and that nothing is drawn as
a zero. The dashboard's today is the practice's local date: at 23:30 in Los
Angeles (07:30 UTC the next day) the period still ends on the Los Angeles date.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from textual.app import App

from assistant_tui.screens.metrics import MetricsScreen, local_today
from assistant_tui.widgets.metric_chart import MetricChart, chart_for
from followup_core import metrics as m

LA = "America/Los_Angeles"


def _figure(fid: str, **kw: Any) -> m.Figure:
    title, unit, definition = m.DEFINITIONS[fid]
    return m.Figure(id=fid, title=title, unit=unit, definition=definition, **kw)


def _week(d: date, v: float | None) -> m.SeriesPoint:
    return m.SeriesPoint(start=d, value=v)


def test_a_line_leaves_out_buckets_without_data() -> None:
    weeks = [date(2026, 11, 2) + timedelta(days=7 * i) for i in range(4)]
    fig = _figure(
        "no-show-trend",
        status=m.FigureStatus.OK,
        value=0.25,
        series=[
            _week(weeks[0], 0.1),
            _week(weeks[1], None),
            _week(weeks[2], 0.0),
            _week(weeks[3], 0.5),
        ],
    )
    spec = chart_for(fig)
    assert spec is not None and spec.kind == "line" and spec.empty is None
    assert spec.labels == ["11-02", "11-16", "11-23"]  # the week without outcomes is absent
    assert spec.values == [10.0, 0.0, 50.0]  # a real 0% stays; percent of the ratio


def test_nothing_to_draw_says_so() -> None:
    never = _figure("no-show-trend", status=m.FigureStatus.NO_DATA_SOURCE)
    spec = chart_for(never)
    assert spec is not None and spec.values == [] and spec.empty is not None
    assert "needs interop data" in spec.empty
    quiet = _figure(
        "callback-time",
        status=m.FigureStatus.NO_DATA,
        series=[_week(date(2026, 11, d), None) for d in range(1, 8)],
    )
    spec = chart_for(quiet)
    assert spec is not None and spec.values == [] and spec.empty == "no data in this period"
    no_referrals = m.referral_aging([], datetime(2026, 12, 1, tzinfo=UTC), LA)
    spec = chart_for(no_referrals)  # five buckets, every one 0: no bars of zero
    assert spec is not None and spec.kind == "bar" and spec.values == []
    assert spec.empty == "no data in this period"


def test_bars_of_escalations_by_route() -> None:
    now = datetime(2026, 11, 20, 18, tzinfo=UTC)
    esc = [
        m.EscalationFact("clinical", now, now + timedelta(minutes=15), now + timedelta(minutes=5)),
        m.EscalationFact("billing", now, now + timedelta(hours=4), None),
        m.EscalationFact("billing", now, now + timedelta(hours=4), None),
    ]
    period = m.Period(date(2026, 11, 1), date(2026, 11, 30), LA)
    spec = chart_for(m.escalations_by_route(esc, period, now + timedelta(days=1)))
    assert spec is not None and spec.kind == "bar"
    assert dict(zip(spec.labels, spec.values, strict=True)) == {"clinical": 1.0, "billing": 2.0}
    assert chart_for(_figure("sla-met", status=m.FigureStatus.OK)) is None  # a Sparkline's


def test_starting_the_client_does_not_import_plotext() -> None:
    code = "import sys, json, assistant_tui.app; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(out.stdout)
    assert "assistant_tui.app" in loaded
    assert not [name for name in loaded if "plotext" in name]


def test_local_today_at_a_zone_boundary() -> None:
    late = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)  # 23:30 on Nov 30 in Los Angeles
    assert local_today(late, LA) == date(2026, 11, 30)
    assert local_today(late, "Asia/Tokyo") == date(2026, 12, 1)
    assert local_today(late, None) == date(2026, 12, 1)  # unknown zone: UTC's date


class Recording:
    """A metrics source that records the periods asked for and answers as the server
    would: the practice's zone, and its today at the (fixed) time of the answer."""

    def __init__(self, now: datetime) -> None:
        self.now = now
        self.asked: list[tuple[date, date]] = []

    async def metrics(self, practice_id: str, start: date, end: date, **kw: Any) -> m.MetricsReport:
        self.asked.append((start, end))
        period = m.Period(start, end, LA)
        return m.MetricsReport(
            practice_id=practice_id,
            timezone=LA,
            period_start=start,
            period_end=end,
            granularity=m.Granularity.DAY,
            workflow=None,
            assistant_id=None,
            as_of=self.now,
            figures=[m.reschedule_volume([self.now - timedelta(hours=1)], period)],
            today=local_today(self.now, LA),
        )

    async def metrics_exceptions(self, *a: Any, **kw: Any) -> m.ExceptionsReport:
        raise AssertionError("not asked for in this test")


async def _until(pilot: Any, check: Any) -> None:
    deadline = time.monotonic() + 60
    while not check():
        assert time.monotonic() < deadline
        await pilot.pause(0.05)


@pytest.mark.parametrize(("zones", "asks"), [({"p1": LA}, 1), ({}, 2)], ids=["known", "learnt"])
async def test_the_period_ends_on_the_practices_today_not_utcs(
    zones: dict[str, str], asks: int
) -> None:
    """The zone known beforehand, or learnt from the first answer (then asked again once)."""
    now = datetime(2026, 12, 1, 7, 30, tzinfo=UTC)  # Nov 30, 23:30 in Los Angeles
    source = Recording(now)
    screen = MetricsScreen(source, ["p1"], now=lambda: now, timezones=zones)

    class One(App[None]):
        def on_mount(self) -> None:
            self.push_screen(screen)

    async with One().run_test(size=(100, 30)) as pilot:
        await _until(pilot, lambda: screen.report is not None)
        assert screen.report is not None
        assert source.asked[-1] == (date(2026, 11, 1), date(2026, 11, 30))
        assert len(source.asked) == asks
        assert screen.dashboard.today == date(2026, 11, 30)
        # The attempt an hour ago (22:30 local, 06:30 UTC on Dec 1) is in today's bucket.
        last = screen.report.figures[0].series[-1]
        assert (last.start, last.value) == (date(2026, 11, 30), 1.0)
        assert not screen.query_one("#plot", MetricChart).display  # a Sparkline figure
