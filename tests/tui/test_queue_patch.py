"""Live patching: changed rows are inserted, updated and removed in the queue's sort order."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

from assistant_tui.widgets.queue import QueueList
from assistant_tui.widgets.queue.queue_list import sort_key
from followup_core.enums import Priority
from local_cache.views import QueueRow
from tests.tui.data import NOW
from tests.tui.test_queue_virtual import QueueHarness, rows

PRIORITIES = list(Priority)


def shuffled(row: QueueRow, rng: random.Random) -> QueueRow:
    """The same task with a new priority and due (what a feed change can bring)."""
    return replace(
        row,
        priority=rng.choice(PRIORITIES),
        due_at=NOW + timedelta(minutes=rng.randrange(-60, 600, 15)),  # ties on purpose
        attempts=row.attempts + 1,
    )


async def test_random_patches_keep_the_order_a_full_read_gives() -> None:
    rng = random.Random(7)
    start = sorted((shuffled(r, rng) for r in rows(300)), key=sort_key)
    truth = {r.task_id: r for r in start}
    spare = rows(400)[300:]  # tasks not in the queue yet
    app = QueueHarness()
    async with app.run_test(size=(100, 30)) as pilot:
        queue = app.query_one(QueueList)
        queue.set_rows(start)
        for _ in range(60):
            changed: dict[str, QueueRow | None] = {}
            for task_id in rng.sample(sorted(truth), 3):
                changed[task_id] = None if rng.random() < 0.3 else shuffled(truth[task_id], rng)
            for _ in range(rng.randrange(3)):
                if spare:
                    new = shuffled(spare.pop(), rng)
                    changed[new.task_id] = new
            changed["not-in-the-queue"] = None  # a removal of an unknown task is a no-op
            replaced = queue.patch_rows(changed)
            for task_id, row in changed.items():
                assert replaced[task_id] is truth.get(task_id)
                if row is None:
                    truth.pop(task_id, None)
                else:
                    truth[task_id] = row
            assert queue.rows == sorted(truth.values(), key=sort_key)
        await pilot.pause()


async def test_the_cursor_stays_on_its_task_or_its_place() -> None:
    app = QueueHarness()
    async with app.run_test(size=(100, 30)) as pilot:
        queue = app.query_one(QueueList)
        start = rows(10)
        queue.set_rows(start)
        queue.select("t000004")
        urgent = replace(start[8], priority=Priority.STAT)
        queue.patch_rows({urgent.task_id: urgent})  # jumps to the top, above the cursor
        assert queue.rows[0].task_id == "t000008"
        assert queue.highlighted_task_id == "t000004"
        queue.patch_rows({"t000004": None})  # the highlighted task leaves
        assert queue.highlighted_task_id == "t000005"  # the row that moved up into its place
        await pilot.pause()
