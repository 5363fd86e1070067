"""Needs attention from the workspace: listed, read (with what the server said), sent
again or dropped (issue 12.8)."""

from __future__ import annotations

from typing import Any

from textual.widgets import OptionList, Static

from assistant_tui.screens.attention import AttentionScreen, server_said, what_was_sent
from local_cache.views import NeedsAttention
from tests.tui.test_work_a_task import SIZE, open_first, settle

HELD = {
    "error": {
        "code": "lease-held",
        "message": "Sam Lee is working this task (lease until 14:05 UTC)",
    }
}
STALE = {"error": {"code": "version-mismatch", "message": "the task changed on the server"}}


def entry_states(cache: Any) -> dict[str, str]:
    return {e.id: e.state for e in cache.outbox_entries()}


async def test_attention_listed_read_resent_and_dropped(make_app: Any, cache: Any) -> None:
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)
        await pilot.press("f4", "c", "ctrl+s")  # task-1 confirmed: one attempt queued
        await settle(pilot)
        await pilot.press("f2", "o")  # escalate task-2 (now open) as a complaint
        await settle(pilot)
        await pilot.press(*"caller unhappy with the wait", "enter")
        await settle(pilot)
        attempt, escalation = (
            next(e for e in cache.outbox_entries() if e.kind == kind)
            for kind in ("attempt", "escalation")
        )
        # The sync engine would do this on a 409 / 412 reply.
        cache.mark_attention(attempt.id, 409, HELD)
        cache.mark_attention(escalation.id, 412, STALE)

        await pilot.press("f9")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, AttentionScreen)
        listing = screen.query_one(OptionList)
        assert listing.option_count == 2
        detail = str(screen.query_one("#attention-detail", Static).render())
        assert "HTTP 409 lease-held: Sam Lee is working this task" in detail
        assert "outcome: confirmed" in detail

        await pilot.press("down")
        await pilot.pause()
        detail = str(screen.query_one("#attention-detail", Static).render())
        assert "HTTP 412 version-mismatch: the task changed on the server" in detail
        assert "route: complaint" in detail and "caller unhappy with the wait" in detail

        await pilot.press("r")  # send the escalation again
        await settle(pilot)
        assert entry_states(cache)[escalation.id] == "pending"
        assert [n.entry_id for n in cache.needs_attention()] == [attempt.id]
        assert listing.option_count == 1

        await pilot.press("d")  # armed, not yet dropped
        await settle(pilot)
        assert entry_states(cache)[attempt.id] == "attention"
        assert "again to drop" in str(screen.query_one("#attention-detail", Static).render())
        await pilot.press("d")
        await settle(pilot)
        assert attempt.id not in entry_states(cache)  # dropped: gone, notes and all
        assert cache.needs_attention() == []
        assert "nothing" in str(screen.query_one("#attention-title", Static).render())

        await pilot.press("escape")
        await settle(pilot)
        assert app.screen is app.workspace
        assert app.workspace.status.attention == 0


def test_server_said_and_what_was_sent_are_plain_lines() -> None:
    item = NeedsAttention(entry_id="e", kind="attempt", status_code=422, reply={"detail": "x"})
    assert server_said(item) == "HTTP 422"
    assert what_was_sent("attempt", '{"outcome": "no-answer", "notes": ""}') == (
        "outcome: no-answer"
    )
    assert what_was_sent("presence", "not json") == "(unreadable)"
