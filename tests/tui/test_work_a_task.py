"""Keyboard-only flows that document outcomes into the real encrypted cache."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from textual.widgets import Input, Static

from assistant_tui.screens.red_flag import RedFlagScreen
from assistant_tui.widgets.script import ScriptPane
from tests.tui.conftest import outbox

SIZE = (160, 48)


async def settle(pilot: Any) -> None:
    """Let workers finish and their messages land (twice: results start new work)."""
    for _ in range(3):
        # The sync engine's worker runs for the whole session: never wait on it.
        # (An empty list would mean "all workers" to wait_for_complete.)
        busy = [w for w in pilot.app.workers if w.group != "sync"]
        if busy:
            await pilot.app.workers.wait_for_complete(busy)
        await pilot.pause()


def text_of(app: Any, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def open_first(pilot: Any) -> None:
    await settle(pilot)
    await pilot.press("enter")  # open the highlighted task; focus moves to the script
    await settle(pilot)


async def test_confirmation_call_documented_in_three_keys(make_app: Any, cache: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        assert app.workspace.context.task.id == "task-1"
        await pilot.press("f4")  # the patient confirmed their identity
        script = app.screen.query_one(ScriptPane)
        assert app.focused is script
        await pilot.press(*["space"] * 5)  # read through to the last step
        assert script.at_last_step
        await pilot.press("c", "enter")  # confirmed, saved, next task opened
        await settle(pilot)
        attempts = outbox(cache, "attempt")
        assert [(a["task_id"], a["outcome"], a["channel"]) for a in attempts] == [
            ("task-1", "confirmed", "phone")
        ]
        assert attempts[0]["identity_verified"] is True
        assert attempts[0]["script_id"] == "script-appointment-confirmation"
        assert app.workspace.context.task.id == "task-2"
        assert "task-1" not in {row.task_id for row in app.workspace.queue.rows}


async def test_confirmed_needs_identity_first(make_app: Any, cache: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        await pilot.press("c", "enter")
        await settle(pilot)
        assert "verified identity" in text_of(app, "#outcome-error")
        assert outbox(cache, "attempt") == []


async def test_leave_a_voicemail_uses_the_voicemail_script(make_app: Any, cache: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        context = app.workspace.context
        await pilot.press("v")
        shown = text_of(app, "#script-body .script-voicemail")
        assert "Voicemail-safe" in shown
        assert "date of birth" not in shown
        assert context.script.voicemail.split("{")[0].strip()[:20] in shown
        assert "Avery" not in shown  # no patient name on an answering machine
        await pilot.press("enter")
        await settle(pilot)
        [attempt] = outbox(cache, "attempt")
        assert (attempt["outcome"], attempt["channel"]) == ("left-voicemail", "voicemail")


async def test_no_voicemail_without_consent(make_app: Any, cache: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("down", "enter")  # task-2: the patient refused voicemail
        await settle(pilot)
        assert app.workspace.context.task.id == "task-2"
        await pilot.press("v", "enter")
        await settle(pilot)
        assert "voicemail" in text_of(app, "#outcome-error")
        assert outbox(cache, "attempt") == []


async def test_reschedule_with_a_natural_language_due(make_app: Any, cache: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        await pilot.press("f4", "r")  # rescheduled: the focus jumps to the due field
        assert isinstance(app.focused, Input) and app.focused.id == "outcome-due"
        await pilot.press(*"tomorrow 10am")
        shown = text_of(app, "#outcome-due-shown")
        assert "10:00" in shown and "America/New_York" in shown
        await pilot.press("enter")
        await settle(pilot)
        [attempt] = outbox(cache, "attempt")
        assert attempt["outcome"] == "rescheduled"
        due = datetime.fromisoformat(attempt["next_step"]["due_at"].replace("Z", "+00:00"))
        # Friday 27 Nov 10:00 EST -> Saturday 28 Nov 10:00 EST == 15:00 UTC
        assert due.astimezone(UTC) == datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
        assert attempt["next_step"]["action"]


async def test_bad_due_phrase_is_explained_not_saved(make_app: Any, cache: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        await pilot.press("f4", "r", *"zzz", "enter")
        await settle(pilot)
        assert text_of(app, "#outcome-error")
        assert outbox(cache, "attempt") == []


async def test_red_flag_in_notes_escalates_clinically(make_app: Any, cache: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        await pilot.press("f4", "x")  # cancelled: needs notes, focus jumps there
        assert app.focused.id == "outcome-notes"
        await pilot.press(*"chest pain", "enter")
        await settle(pilot)
        assert isinstance(app.screen, RedFlagScreen)
        assert "chest pain" in str(app.screen.query_one("#red-flag-text", Static).render())
        await pilot.press("f2")
        await settle(pilot)
        [attempt] = outbox(cache, "attempt")
        assert attempt["outcome"] == "cancelled"
        assert attempt["escalation"]["route"] == "clinical"
        assert "chest pain" in attempt["escalation"]["reason"]


async def test_red_flag_dismissed_with_a_reason(make_app: Any, cache: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        await pilot.press("f4", "x", *"fainted", "enter")
        await settle(pilot)
        assert isinstance(app.screen, RedFlagScreen)
        await pilot.press(*"old news", "enter")
        await settle(pilot)
        [attempt] = outbox(cache, "attempt")
        assert attempt["escalation"] is None
        assert "[red flag dismissed: old news]" in attempt["notes"]


async def test_agent_state_switches_by_key(make_app: Any, cache: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f3")
        await settle(pilot)
        assert "on-call" in str(app.workspace.status.render())
        await pilot.press("f3", "f3")
        await settle(pilot)
        assert outbox(cache, "presence")[-1] == {"state": "break"}


async def test_message_sent_moves_to_a_consented_written_channel(make_app: Any, cache: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        await pilot.press("m")  # message sent: not a phone outcome
        assert app.workspace.form.channel == "sms"  # patient 1 consented to sms, not email
        await pilot.press("f6")
        assert app.workspace.form.channel == "portal"
        await pilot.press("enter")
        await settle(pilot)
        [attempt] = outbox(cache, "attempt")
        assert (attempt["outcome"], attempt["channel"]) == ("message-sent", "portal")


async def test_unmatched_caller_shows_only_the_number(make_app: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("end", "enter")  # task-6: a missed call from an unknown number
        await settle(pilot)
        assert app.workspace.context.task.id == "task-6"
        shown = text_of(app, "#patient-minimum")
        assert "Unmatched caller" in shown and "555-0199" in shown
        await pilot.press("f4")  # nobody to verify
        assert not app.workspace.verified


async def test_a_save_opens_the_next_task_without_rereading_the_queue(
    make_app: Any, cache: Any
) -> None:
    reads: list[int] = []
    original = cache.queue

    def counted() -> Any:
        reads.append(1)
        return original()

    cache.queue = counted
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        assert app.workspace.context.task.id == "task-1"
        before = len(reads)
        total = app.workspace.queue.total
        await pilot.press("n", "ctrl+s")  # no-answer: the task stays open, retried later
        await settle(pilot)
        assert app.workspace.context.task.id == "task-2"
        assert len(reads) == before  # patched from the row the save returned
        assert app.workspace.queue.total == total
        saved = next(r for r in app.workspace.queue.rows if r.task_id == "task-1")
        assert saved.attempts == 1
        assert app.workspace.status.outbox == 1  # the outbox count still moves
