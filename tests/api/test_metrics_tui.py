"""The metrics dashboard (Pilot) against the real API (uvicorn) over the hand-built practice.

The screen loads through `backend_client.ApiClient` in a worker; the test polls
the screen's state with a deadline, never sleeps for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Sparkline, Static

from assistant_tui.screens.metrics import (
    WORKFLOW_CHOICES,
    ExceptionsScreen,
    MetricsScreen,
    TaskListScreen,
    format_value,
)
from backend_client import ApiClient
from central_api import models
from followup_core.metrics import MetricsReport
from tests.api.conftest import ApiHarness
from tests.api.test_metrics import PID, _build

pytestmark = pytest.mark.parametrize("api", ["uvicorn"], indirect=True)


@pytest.fixture(scope="module")
def history(api: ApiHarness) -> dict[str, str]:
    ids = _build(api)
    # The assistant who worked the history is one of the practice's staff here, so the
    # assistant filter has a value to offer.
    assistant = api.user(api.username("assistant"))["id"]
    with api.session() as s:
        s.add(models.UserPractice(user_id=assistant, practice_id=PID))
        s.commit()
    return {**ids, "assistant": assistant}


class MetricsApp(App[None]):
    def __init__(self, client: ApiClient) -> None:
        super().__init__()
        self.client = client

    def on_mount(self) -> None:
        self.push_screen(MetricsScreen(self.client, PID, date(2026, 11, 30)))


async def until(pilot: Pilot[None], check: Callable[[], bool], seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() >= deadline:
            screen = pilot.app.screen
            error = getattr(getattr(screen, "dashboard", None), "error", None)
            raise AssertionError(f"the screen did not get there in time ({error})")
        await pilot.pause(0.05)


def _cell(table: DataTable[str], row_key: str, column: int) -> str:
    return str(table.get_row(row_key)[column])


async def test_dashboard_exceptions_and_drill_down(
    api: ApiHarness, history: dict[str, str]
) -> None:
    async with ApiClient(api.url) as client:
        await client.login("metrics-manager", api.password)
        app = MetricsApp(client)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, MetricsScreen)
            await until(pilot, lambda: screen.report is not None)
            table = screen.query_one("#figures", DataTable)
            assert table.row_count == 13
            assert _cell(table, "sla-met", 1) == "75%"
            assert _cell(table, "no-show-trend", 1) == "no data source"
            assert _cell(table, "callback-time", 1) == "1968 min"
            assert "patient no data source" in _cell(table, "confirmation-rate", 3)
            title = str(screen.query_one("#metrics-title", Static).render())
            assert "2026-11-01 to 2026-11-30" in title
            summary = str(screen.query_one("#summary", Static).render())
            assert summary.startswith("Today (daily")
            await pilot.press("s")  # the weekly summary
            summary = str(screen.query_one("#summary", Static).render())
            assert summary.startswith("Last 7 days (weekly")
            # The highlighted figure's series is the chart (30 daily buckets).
            assert len(screen.query_one("#chart", Sparkline).data or []) == 30

            await pilot.press("x")
            # Pushed is not yet composed: wait for the review's table itself.
            await until(
                pilot,
                lambda: (
                    isinstance(app.screen, ExceptionsScreen)
                    and bool(app.screen.query("#exceptions"))
                ),
            )
            review = app.screen
            rows = review.query_one("#exceptions", DataTable)
            kinds = [str(rows.get_row_at(i)[0]) for i in range(rows.row_count)]
            assert "Repeated failed contact" in kinds
            # Down to the patient with repeated failed contact, and open its tasks.
            rows.move_cursor(row=kinds.index("Repeated failed contact"))
            await pilot.press("enter")
            await until(
                pilot,
                lambda: (
                    isinstance(app.screen, TaskListScreen) and bool(app.screen.query("#task-list"))
                ),
            )
            listing = app.screen.query_one("#task-list", DataTable)
            assert history["t4"] in [
                str(listing.get_row_at(i)[1]) for i in range(listing.row_count)
            ]
            await pilot.press("escape")
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, MetricsScreen))

            await pilot.press("w")  # the next workflow: missed-call recovery
            await until(
                pilot, lambda: screen.report is not None and screen.report.workflow is not None
            )
            assert screen.report is not None
            assert screen.report.workflow == "missed-call-recovery"
            await pilot.press("g")  # week buckets
            await until(
                pilot, lambda: screen.report is not None and screen.report.granularity == "week"
            )


def _shown(table: DataTable[str]) -> dict[str, str]:
    return {str(key.value): _cell(table, str(key.value), 1) for key in table.rows}


def _expected(report: MetricsReport) -> dict[str, str]:
    return {f.id: format_value(f) for f in report.figures}


async def test_filters_change_the_figures_shown(api: ApiHarness, history: dict[str, str]) -> None:
    """Each filter key reaches the server: the table shows what the API answers for the
    new filter (read beside it with the same client), and that differs from before."""
    first, last = date(2026, 11, 1), date(2026, 11, 30)
    async with ApiClient(api.url) as client:
        await client.login("metrics-manager", api.password)
        everything = _expected(await client.metrics(PID, first, last))
        recovery = _expected(
            await client.metrics(PID, first, last, workflow="missed-call-recovery")
        )
        theirs = _expected(
            await client.metrics(PID, first, last, assistant_id=history["assistant"])
        )
        week = _expected(await client.metrics(PID, last - timedelta(days=6), last))
        assert recovery != everything  # the history makes them differ
        app = MetricsApp(client)
        async with app.run_test(size=(120, 40)) as pilot:
            screen = app.screen
            assert isinstance(screen, MetricsScreen)
            dashboard = screen.dashboard

            def settled() -> bool:
                r = dashboard.report
                return r is not None and (
                    r.practice_id,
                    r.workflow,
                    r.assistant_id,
                    r.period_start,
                    r.granularity.value,
                ) == (
                    dashboard.practice_id,
                    dashboard.workflow,
                    dashboard.assistant_id,
                    dashboard.start,
                    dashboard.granularity,
                )

            await until(pilot, settled)
            table = screen.query_one("#figures", DataTable)
            assert _shown(table) == everything

            await pilot.press("w")  # workflow: missed-call recovery
            assert dashboard.workflow == "missed-call-recovery"
            await until(pilot, settled)
            assert _shown(table) == recovery
            await pilot.press(*["w"] * (len(WORKFLOW_CHOICES) - 1))  # round to all workflows
            assert dashboard.workflow is None
            await until(pilot, settled)
            assert _shown(table) == everything

            await pilot.press("a")  # assistant: the practice's only assistant
            assert dashboard.assistant_id == history["assistant"]
            await until(pilot, settled)
            assert _shown(table) == theirs
            title = str(screen.query_one("#metrics-title", Static).render())
            assert [a.id for a in dashboard.assistants] == [history["assistant"]]
            assert dashboard.assistants[0].display_name in title
            await pilot.press("a")  # back to all assistants
            assert dashboard.assistant_id is None
            await until(pilot, settled)

            await pilot.press("p", "p", "p")  # 30 → 90 → 365 → 7 days
            assert dashboard.period_days == 7
            await until(pilot, settled)
            assert dashboard.report is not None
            assert dashboard.report.period_start == last - timedelta(days=6)
            assert _shown(table) == week

            await pilot.press("c")  # one practice: nothing to switch to, and it says so
            assert dashboard.practice_id == PID
