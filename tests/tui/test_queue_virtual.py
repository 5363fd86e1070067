"""The queue at 100,000 tasks: only visible rows are drawn; order and filter hold."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from textual.app import App, ComposeResult

from assistant_tui.widgets.queue import QueueList, QueuePane
from followup_core.enums import Priority, TaskStatus, WorkflowId
from local_cache.views import QueueRow
from tests.tui.data import NOW, PRACTICE_ID, TZ

COUNT = 100_000
WORKFLOWS = list(WorkflowId)


def rows(count: int) -> list[QueueRow]:
    return [
        QueueRow(
            task_id=f"t{n:06d}",
            practice_id=PRACTICE_ID,
            workflow=WORKFLOWS[n % len(WORKFLOWS)],
            status=TaskStatus.READY,
            business_status=None,
            priority=Priority.ROUTINE,
            due_at=NOW + timedelta(minutes=n - 10),
            attempts=n % 3,
            next_attempt_at=None,
            patient_label=f"Family{n:06d}, Given",
            pending=False,
        )
        for n in range(count)
    ]


class QueueHarness(App[None]):
    def compose(self) -> ComposeResult:
        yield QueuePane(lambda: NOW, lambda _: TZ, id="queue")


async def test_only_visible_rows_are_drawn_at_100k() -> None:
    app = QueueHarness()
    drawn: list[int] = []
    async with app.run_test(size=(100, 30)) as pilot:
        queue = app.query_one(QueueList)
        original = queue.render_line

        def counting(y: int) -> Any:
            drawn.append(y)
            return original(y)

        queue.render_line = counting  # type: ignore[method-assign]
        app.query_one(QueuePane).set_rows(rows(COUNT))
        queue.focus()
        await pilot.pause()
        height = queue.scrollable_content_region.height
        assert queue.total == COUNT
        assert 0 < len(drawn) <= 3 * height  # a few repaints of the visible lines, no more
        drawn.clear()
        await pilot.press("end")
        await pilot.pause()
        assert queue.highlighted_task_id == f"t{COUNT - 1:06d}"
        assert len(drawn) <= 3 * height
        await pilot.press("slash", *"099999", "enter")
        await pilot.pause()
        assert [r.task_id for r in queue.rows] == ["t099999"]
        await pilot.press("slash", *["backspace"] * 6, *"overdue", "enter")
        await pilot.pause()
        assert queue.shown == 11  # due 10 minutes ago up to due right now
