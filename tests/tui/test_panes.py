"""What the panes show: queue rows, minimum-necessary patient context, script branches."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from assistant_tui.widgets.queue.queue_list import format_row
from assistant_tui.widgets.queue.rows import urgency
from assistant_tui.widgets.script import ScriptPane
from followup_core.enums import Priority, TaskStatus, WorkflowId
from local_cache.views import QueueRow
from tests.tui.data import NOW, TZ
from tests.tui.test_work_a_task import SIZE, open_first, settle, text_of


def row(due: timedelta, attempts: int = 0, next_in: timedelta | None = None) -> QueueRow:
    return QueueRow(
        task_id="t",
        practice_id="p",
        workflow=WorkflowId.REFERRAL_FOLLOW_UP,
        status=TaskStatus.READY,
        business_status=None,
        priority=Priority.URGENT,
        due_at=NOW + due,
        attempts=attempts,
        next_attempt_at=NOW + next_in if next_in is not None else None,
        patient_label="Sample, Avery",
        pending=True,
    )


def test_queue_row_marks_overdue_and_due_soon_in_practice_time() -> None:
    overdue = row(timedelta(minutes=-30), attempts=2, next_in=timedelta(hours=1))
    assert urgency(overdue, NOW) == "overdue"
    text = format_row(overdue, "overdue", NOW, TZ)
    assert text.startswith("!!") and "-30m" in text and "referral" in text
    assert "  2 " in text  # attempts so far
    assert "11:00" in text  # next attempt at 16:00 UTC, shown in New York time
    assert text.endswith("↑")  # recorded here, not yet delivered
    soon = row(timedelta(minutes=40))
    assert urgency(soon, NOW) == "due-soon"
    assert format_row(soon, "due-soon", NOW, TZ).startswith("! ")
    later = row(timedelta(days=1, hours=3))
    assert urgency(later, NOW) == ""
    assert "1d03h" in format_row(later, "", NOW, TZ)


async def test_patient_context_is_minimum_necessary_until_verified(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        minimum = text_of(app, "#patient-minimum")
        assert "Avery Sample" in minimum and "555-0101" in minimum
        assert "English" in minimum and "voicemail✓" in minimum and "email✗" in minimum
        hidden = text_of(app, "#patient-verified")
        assert "1980" not in hidden and "Dr. Rivera" not in hidden
        assert "no attempts yet" in text_of(app, "#patient-history")
        await pilot.press("f4")
        shown = text_of(app, "#patient-verified")
        assert "1980-04-01" in shown and "Dr. Rivera" in shown and "intake partial" in shown
        assert "EST" in shown  # the appointment in the practice's zone


async def test_script_steps_and_branches_by_key(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        script = app.screen.query_one(ScriptPane)
        assert script.step == 0
        await pilot.press("2")  # the patient cannot talk now
        assert script.branch == 2
        assert "better time" in str(script._steps[0].render())
        await pilot.press("space")
        assert script.step == 1 and script.branch is None
        await pilot.press("up")
        assert script.step == 0
        # Placeholders are filled; PHI ones only after verification.
        await pilot.press("space", "space", "space")
        details = str(script._steps[3].render())
        assert "Dr. Rivera" not in details
        await pilot.press("f4")
        await settle(pilot)
        assert script.step == 3  # verifying keeps the place in the script
        assert "Dr. Rivera" in str(script._steps[3].render())


async def test_a_step_change_redraws_only_the_steps_it_moves(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        script = app.screen.query_one(ScriptPane)
        assert len(script._steps) >= 4
        updates: list[int] = []
        for number, widget in enumerate(script._steps):
            original = widget.update

            def counted(*args: Any, _n: int = number, _orig: Any = original, **kw: Any) -> None:
                updates.append(_n)
                _orig(*args, **kw)

            widget.update = counted  # type: ignore[method-assign]
        await pilot.press("space", "space")
        await pilot.pause()
        assert script.step == 2
        assert [w.has_class("current") for w in script._steps[:4]] == [False, False, True, False]
        assert [w.has_class("done") for w in script._steps[:4]] == [True, True, False, False]
        # Only the steps that gained or lost the highlight may be redrawn.
        assert set(updates) <= {0, 1, 2}
        await pilot.press("up")
        await pilot.pause()
        assert [w.has_class("current") for w in script._steps[:4]] == [False, True, False, False]
        assert [w.has_class("done") for w in script._steps[:4]] == [True, False, False, False]
        assert set(updates) <= {0, 1, 2}
