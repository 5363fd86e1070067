"""Snapshots of the supervisor's board, the shadow view, the inbox and the whisper strip.

Rendering only: the screens are handed fixed server answers (built from the wire
schemas) at the fixed clock, so the pictures do not depend on a server or the
time of day. The live behaviour against a real server is in test_supervise.py.
Regenerate with `--snapshot-update` and look at the SVGs like code.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from followup_core.supervision import (
    InboxPage,
    QueueBoard,
    SessionSnapshot,
    ShadowSession,
    TeamBoard,
    WhisperOut,
)
from tests.tui.data import NOW, PRACTICE_ID, USER_ID
from tests.tui.test_work_a_task import SIZE, settle


def _member(
    name: str, uid: str, state: str, seconds: int, level: int, **extra: Any
) -> dict[str, Any]:
    row: dict[str, Any] = {
        "user_id": uid,
        "username": name.lower().replace(" ", "."),
        "display_name": name,
        "practice_ids": [PRACTICE_ID],
        "state": state,
        "state_since": (NOW - timedelta(seconds=seconds)).isoformat(),
        "seconds_in_state": seconds,
        "level": level,
        "session": "active",
        "current_task": None,
        "attempts_today": 0,
        "handled_today": 0,
        "queue_size": 0,
        "sla_breaches": 0,
        "open_escalations": 0,
        "online": True,
        "last_seen": NOW.isoformat(),
        "observers": [],
        "unread_whispers": 0,
    }
    row.update(extra)
    return row


BOARD = TeamBoard.model_validate(
    {
        "as_of": NOW.isoformat(),
        "summary": {"signed_in": 3, "on_call": 1, "waiting": 1, "paused": 1, "wrap_up": 0},
        "settings": {},
        "members": [
            _member(
                "Ava Lindqvist",
                "u-ava",
                "on-call",
                75,
                2,
                current_task={
                    "task_id": "task-1",
                    "workflow": "appointment-confirmation",
                    "due_at": (NOW + timedelta(minutes=45)).isoformat(),
                    "overdue": False,
                },
                attempts_today=9,
                handled_today=7,
                queue_size=14,
                sla_breaches=2,
                observers=[{"user_id": "user-1", "display_name": "Avery Supervisor"}],
                unread_whispers=1,
            ),
            _member(
                "Ben Okafor",
                "u-ben",
                "available",
                42,
                1,
                queue_size=11,
                attempts_today=4,
                handled_today=4,
            ),
            _member("Cora Vasquez", "u-cora", "break", 640, 4, queue_size=9, open_escalations=1),
            _member(
                "Dev Nakamura",
                "u-dev",
                "offline",
                3600,
                0,
                online=False,
                session="offline",
                last_seen=(NOW - timedelta(hours=1)).isoformat(),
            ),
        ],
    },
    strict=False,
)
QUEUES = QueueBoard.model_validate(
    {
        "as_of": NOW.isoformat(),
        "rows": [
            {
                "practice_id": PRACTICE_ID,
                "workflow": "appointment-confirmation",
                "open": 40,
                "overdue": 3,
                "due_today": 12,
                "unassigned": 1,
                "oldest_due_at": (NOW - timedelta(hours=5)).isoformat(),
            },
            {
                "practice_id": PRACTICE_ID,
                "workflow": "missed-call-recovery",
                "open": 8,
                "overdue": 0,
                "due_today": 8,
                "unassigned": 0,
                "oldest_due_at": (NOW + timedelta(hours=1)).isoformat(),
            },
        ],
    },
    strict=False,
)


class FixedAnswers:
    """The server's answers for a rendering snapshot (no network)."""

    async def start_shadow(self, user_id: str) -> ShadowSession:
        snapshot = SessionSnapshot.model_validate(
            {
                "user_id": user_id,
                "display_name": "Ava Lindqvist",
                "status": "active",
                "seq": 7,
                "updated_at": NOW.isoformat(),
                "state": {
                    "agent_state": "on-call",
                    "task_id": "task-1",
                    "identity_verified": True,
                    "step": 2,
                    "outcome": "confirmed",
                    "form": {"channel": "phone", "notes": "prefers mornings"},
                },
                "observers": [{"user_id": "user-1", "display_name": "Avery Supervisor"}],
                "told": True,
            },
            strict=False,
        )
        return ShadowSession.model_validate(
            {
                "id": "shadow-1",
                "observer_id": "user-1",
                "subject_id": user_id,
                "started_at": NOW.isoformat(),
                "ended_at": None,
                "snapshot": snapshot.model_dump(mode="json"),
            },
            strict=False,
        )

    async def inbox(self, **_: Any) -> InboxPage:
        items = [
            {
                "id": f"esc-{n}",
                "practice_id": PRACTICE_ID,
                "task_id": f"task-{n}",
                "route": route,
                "status": status,
                "raised_by": "u-ava",
                "raised_at": (NOW - timedelta(minutes=age)).isoformat(),
                "ack_due_at": (
                    NOW - timedelta(minutes=age) + timedelta(minutes=target)
                ).isoformat(),
                "acknowledged_at": None,
                "age_minutes": age,
                "overdue": status == "open" and age > target,
            }
            for n, (route, status, age, target) in enumerate(
                [
                    ("clinical", "open", 95, 30),
                    ("billing", "open", 40, 240),
                    ("complaint", "acknowledged", 300, 60),
                ],
                start=1,
            )
        ]
        return InboxPage.model_validate(
            {"as_of": NOW.isoformat(), "items": items, "next_cursor": "more"}, strict=False
        )


def _board_before(queues: bool) -> Any:
    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        board = pilot.app.screen
        board.board, board.queues = BOARD, QUEUES
        board._draw()
        if queues:
            await pilot.press("q")  # and the queue board under it
        await settle(pilot)

    return run_before


def test_team_board(snap_compare: Any, make_app: Any) -> None:
    """160 columns: every column, the task's SLA, the queue board under it."""
    assert snap_compare(make_app("supervisor"), terminal_size=SIZE, run_before=_board_before(True))


def test_team_board_at_120x40(snap_compare: Any, make_app: Any) -> None:
    """120 columns: still every column (observers included), nothing cut."""
    assert snap_compare(
        make_app("supervisor"), terminal_size=(120, 40), run_before=_board_before(True)
    )


def test_team_board_at_80x24(snap_compare: Any, make_app: Any) -> None:
    """80 columns: handled/attempts, last seen and observers dropped; short queue titles."""
    assert snap_compare(
        make_app("supervisor"), terminal_size=(80, 24), run_before=_board_before(True)
    )


def _shadow_before(*keys: str) -> Any:
    """Shadow the seeded cache's owner (so their queue pane has rows), keys pressed after."""
    from assistant_tui.screens.shadow import ShadowScreen

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        app = pilot.app
        screen = ShadowScreen(app.services, FixedAnswers(), USER_ID, "Ava Lindqvist")
        app.push_screen(screen)
        await settle(pilot)
        deadline = 100
        while (screen.snapshot is None or not screen.queue_loads) and deadline:
            deadline -= 1
            await pilot.pause(0.05)
        if keys:
            await pilot.press(*keys)
        await settle(pilot)

    return run_before


def test_shadow_view(snap_compare: Any, make_app: Any) -> None:
    """160x48: the four panes; task-1 marked in her queue, step 3 highlighted."""
    assert snap_compare(make_app("supervisor"), terminal_size=SIZE, run_before=_shadow_before())


def test_shadow_view_at_160x50(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(
        make_app("supervisor"), terminal_size=(160, 50), run_before=_shadow_before()
    )


def test_shadow_view_at_80x24(snap_compare: Any, make_app: Any) -> None:
    """80x24: one pane at a time; the script first."""
    assert snap_compare(make_app("supervisor"), terminal_size=(80, 24), run_before=_shadow_before())


def test_shadow_view_at_80x24_queue(snap_compare: Any, make_app: Any) -> None:
    """80x24 after F7: her queue, task-1 under the cursor."""
    assert snap_compare(
        make_app("supervisor"), terminal_size=(80, 24), run_before=_shadow_before("f7")
    )


def test_escalation_inbox(snap_compare: Any, make_app: Any) -> None:
    from assistant_tui.screens.supervision import InboxScreen

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.push_screen(InboxScreen(FixedAnswers(), {PRACTICE_ID: "Hudson Valley"}))  # type: ignore[arg-type]
        await settle(pilot)

    assert snap_compare(make_app("supervisor"), terminal_size=SIZE, run_before=run_before)


def test_escalation_inbox_at_80x24(snap_compare: Any, make_app: Any) -> None:
    from assistant_tui.screens.supervision import InboxScreen

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        pilot.app.push_screen(InboxScreen(FixedAnswers(), {PRACTICE_ID: "Hudson Valley"}))  # type: ignore[arg-type]
        await settle(pilot)

    assert snap_compare(make_app("supervisor"), terminal_size=(80, 24), run_before=run_before)


def test_whisper_strip_and_observed_by(snap_compare: Any, make_app: Any) -> None:
    from assistant_tui.modes.workspace_live import WhisperStrip

    whisper = WhisperOut.model_validate(
        {
            "id": "w-1",
            "from_user_id": "u-sam",
            "from_display_name": "Sam Supervisor",
            "to_user_id": "user-1",
            "text": "Offer the Thursday 9:30 slot first",
            "status": "unread",
            "created_at": NOW.isoformat(),
            "acknowledged_at": None,
        },
        strict=False,
    )

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        workspace = pilot.app.screen
        workspace.query_one(WhisperStrip).show_whispers([whisper])
        workspace.status.observed_by = "Sam Supervisor"
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=SIZE, run_before=run_before)
