"""The metrics dashboard (Pilot) against the real API (uvicorn) over the hand-built practice.

The screen loads through `backend_client.ApiClient` in a worker; the test polls
the screen's state with a deadline, never sleeps for it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date

import pytest
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Sparkline, Static

from assistant_tui.screens.metrics import ExceptionsScreen, MetricsScreen, TaskListScreen
from backend_client import ApiClient
from tests.api.conftest import ApiHarness
from tests.api.test_metrics import PID, _build

pytestmark = pytest.mark.parametrize("api", ["uvicorn"], indirect=True)


@pytest.fixture(scope="module")
def history(api: ApiHarness) -> dict[str, str]:
    return _build(api)


class MetricsApp(App[None]):
    def __init__(self, client: ApiClient) -> None:
        super().__init__()
        self.client = client

    def on_mount(self) -> None:
        self.push_screen(MetricsScreen(self.client, PID, date(2026, 11, 30)))


async def until(pilot: Pilot[None], check: Callable[[], bool], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "the screen did not get there in time"
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
            assert "Last day" in summary and "Last 7 days" in summary
            # The highlighted figure's series is the chart (30 daily buckets).
            assert len(screen.query_one("#chart", Sparkline).data or []) == 30

            await pilot.press("x")
            await until(pilot, lambda: isinstance(app.screen, ExceptionsScreen))
            review = app.screen
            rows = review.query_one("#exceptions", DataTable)
            kinds = [str(rows.get_row_at(i)[0]) for i in range(rows.row_count)]
            assert "Repeated failed contact" in kinds
            # Down to the patient with repeated failed contact, and open its tasks.
            rows.move_cursor(row=kinds.index("Repeated failed contact"))
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, TaskListScreen))
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
