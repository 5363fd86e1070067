"""Snapshots of the metrics dashboard, its chart, the exceptions review and a drill-down.

The source is a canned one (an edge under test: the screen, not the API, which
tests/api/test_metrics_tui.py drives for real): figures computed by the real
`followup_core.metrics` functions over a fixed synthetic month.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from textual.app import App
from textual.pilot import Pilot

from assistant_tui.screens.metrics import MetricsScreen
from followup_core import metrics as m
from tests.core.calendars import new_york

SIZE = (120, 40)
SMALL = (80, 24)
TZ = "America/New_York"
PERIOD = m.Period(date(2026, 11, 1), date(2026, 11, 30), TZ)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def _report() -> m.MetricsReport:
    rng = random.Random(3)
    calls, tasks = [], []
    for day in range(30):
        base = datetime(2026, 11, 1, 15, tzinfo=UTC) + timedelta(days=day)
        for _ in range(3):
            at = base + timedelta(minutes=rng.randrange(0, 400))
            first = at + timedelta(minutes=rng.randrange(5, 300))
            reached = at + timedelta(minutes=rng.randrange(5, 200))
            calls.append(m.MissedCallFact(at, "matched", at + timedelta(hours=2), first, reached))
            tasks.append(
                m.TaskFact(
                    "missed-call-recovery", "completed", at, at + timedelta(hours=2), 2, first
                )
            )
    cal = new_york()
    figures = [
        m.callback_time(calls, cal, PERIOD),
        m.missed_call_recovery(calls, PERIOD, NOW),
        m.confirmation_rate([], PERIOD, patient_source=False),
        m.no_show_trend([], PERIOD, outcome_source=False),
        m.intake_completion([], PERIOD),
        m.unresolved_by_age([NOW - timedelta(days=2)], NOW),
        m.referral_aging([NOW - timedelta(days=20)], NOW, TZ),
        m.reschedule_volume([], PERIOD),
        m.access_complaints([], PERIOD),
        m.escalations_by_route([], PERIOD, NOW),
        m.sla_met(tasks, PERIOD, NOW),
        m.attempts_per_resolved_task(tasks, PERIOD),
        m.work_outside_hours(
            [c.first_attempt_at for c in calls if c.first_attempt_at], cal, PERIOD
        ),
    ]
    return m.MetricsReport(
        practice_id="practice-1",
        timezone=TZ,
        period_start=PERIOD.start,
        period_end=PERIOD.end,
        granularity=m.Granularity.DAY,
        workflow=None,
        assistant_id=None,
        as_of=NOW,
        figures=figures,
    )


def _exceptions() -> m.ExceptionsReport:
    group = m.ExceptionGroup
    return m.ExceptionsReport(
        practice_id="practice-1",
        period_start=PERIOD.start,
        period_end=PERIOD.end,
        as_of=NOW,
        recurring_reasons=[
            group(
                key="access-barrier:no transport",
                label="access-barrier: no transport",
                count=4,
                task_ids=["task-0001", "task-0002", "task-0003"],
            )
        ],
        repeated_failed_contact=[
            group(
                key="patient-77",
                label="patient patient-: 5 failed contacts",
                count=5,
                task_ids=["task-0004"],
            )
        ],
        conflicts=[],
        past_target=[
            group(
                key="task-0005",
                label="intake-completion (routine) due 2026-11-24 11:00 EST",
                count=1,
                task_ids=["task-0005"],
            )
        ],
    )


class CannedSource:
    async def metrics(self, *args: Any, **kwargs: Any) -> m.MetricsReport:
        return _report()

    async def metrics_exceptions(self, *args: Any, **kwargs: Any) -> m.ExceptionsReport:
        return _exceptions()


class DashboardApp(App[None]):
    def on_mount(self) -> None:
        self.push_screen(MetricsScreen(CannedSource(), "practice-1", date(2026, 11, 30)))


async def loaded(pilot: Pilot[None]) -> None:
    for _ in range(100):
        screen = pilot.app.screen
        if isinstance(screen, MetricsScreen) and screen.report is not None:
            break
        await pilot.pause(0.05)
    assert isinstance(pilot.app.screen, MetricsScreen) and pilot.app.screen.report is not None
    await pilot.pause()


def test_dashboard(snap_compare: Any) -> None:
    assert snap_compare(DashboardApp(), terminal_size=SIZE, run_before=loaded)


def test_dashboard_at_80x24(snap_compare: Any) -> None:
    """The smallest supported terminal: the figures, the callback-time line chart below."""
    assert snap_compare(DashboardApp(), terminal_size=SMALL, run_before=loaded)


def _on_row(downs: int) -> Any:
    async def run(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press(*["down"] * downs)
        await pilot.pause()

    return run


def test_chart_bars_of_referral_aging(snap_compare: Any) -> None:
    """A bar chart: open referrals per age bucket (one referral, 20 days old)."""
    assert snap_compare(DashboardApp(), terminal_size=SIZE, run_before=_on_row(6))


def test_chart_needs_interop_data_at_80x24(snap_compare: Any) -> None:
    """No-show trend without appointment outcomes: the text, never a line at zero."""
    assert snap_compare(DashboardApp(), terminal_size=SMALL, run_before=_on_row(3))


def test_dashboard_chart_of_sla_met(snap_compare: Any) -> None:
    async def on_sla(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press(*["down"] * 10)  # the SLA met row: its series is the chart
        await pilot.pause()

    assert snap_compare(DashboardApp(), terminal_size=SIZE, run_before=on_sla)


def test_exceptions_review(snap_compare: Any) -> None:
    async def review(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press("x")
        for _ in range(100):
            if type(pilot.app.screen).__name__ == "ExceptionsScreen":
                break
            await pilot.pause(0.05)
        await pilot.pause()

    assert snap_compare(DashboardApp(), terminal_size=SIZE, run_before=review)


def test_drill_down_to_the_tasks(snap_compare: Any) -> None:
    async def drill(pilot: Pilot[None]) -> None:
        await loaded(pilot)
        await pilot.press("x")
        for _ in range(100):
            if type(pilot.app.screen).__name__ == "ExceptionsScreen":
                break
            await pilot.pause(0.05)
        await pilot.press("enter")  # the first line: the recurring reason
        for _ in range(100):
            if type(pilot.app.screen).__name__ == "TaskListScreen":
                break
            await pilot.pause(0.05)
        await pilot.pause()

    assert snap_compare(DashboardApp(), terminal_size=SIZE, run_before=drill)
