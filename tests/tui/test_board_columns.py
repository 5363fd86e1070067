"""The team board's columns by terminal width, its cells, and the cache read behind
the shadow view's queue pane (rendering is in test_supervise_snapshots.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from rich.cells import cell_len
from rich.text import Text

from assistant_tui.modes.supervise import BOARD_COLUMNS, ago, board_columns, member_cells
from followup_core.supervision import TeamMember
from tests.tui.data import NOW, PRACTICE_ID, USER_ID

SCROLLBAR = 2  # cells the board's vertical scrollbar may take
PADDING = 2  # cells of padding per column (DataTable's cell_padding 1, both sides)


def _member(**extra: Any) -> TeamMember:
    row: dict[str, Any] = {
        "user_id": "u-1",
        "username": "x",
        "display_name": "Maximiliana Featherstonehaugh-Worthington",
        "practice_ids": [PRACTICE_ID],
        "state": "on-call",
        "state_since": (NOW - timedelta(seconds=75)).isoformat(),
        "seconds_in_state": 75,
        "level": 2,
        "session": "active",
        "current_task": {
            "task_id": "t-1",
            "workflow": "prior-authorization-status",
            "due_at": (NOW - timedelta(days=12, hours=2)).isoformat(),
            "overdue": True,
        },
        "attempts_today": 123,
        "handled_today": 99,
        "queue_size": 12345,
        "sla_breaches": 321,
        "open_escalations": 12,
        "online": False,
        "last_seen": (NOW - timedelta(hours=5, minutes=4)).isoformat(),
        "observers": [
            {"user_id": "s-1", "display_name": "Avery Supervisor"},
            {"user_id": "s-2", "display_name": "Blake Trainer"},
        ],
        "unread_whispers": 3,
    }
    row.update(extra)
    return TeamMember.model_validate(row, strict=False)


@pytest.mark.parametrize("width", [80, 90, 100, 119, 120, 160, 200])
def test_the_columns_fit_the_terminal(width: int) -> None:
    columns = board_columns(width)
    assert sum(c.width + PADDING for c in columns) <= width - SCROLLBAR


def test_what_is_dropped_at_80_and_complete_from_120() -> None:
    narrow = {c.key for c in board_columns(80)}
    assert narrow == {"name", "state", "time", "task", "queue", "breaches", "escalations"}
    assert {c.key for c in board_columns(100)} == narrow | {"handled", "seen"}
    assert [c.key for c in board_columns(120)] == [c.key for c in BOARD_COLUMNS]


@pytest.mark.parametrize("width", [80, 100, 120])
def test_every_cell_fits_its_column(width: int) -> None:
    columns = board_columns(width)
    cells = member_cells(_member(), NOW, columns)
    assert len(cells) == len(columns)
    for column, cell in zip(columns, cells, strict=True):
        text = cell.plain if isinstance(cell, Text) else cell
        assert cell_len(text) <= column.width, (column.key, text)


def test_cells_say_what_matters() -> None:
    wide = dict(
        zip(
            [c.key for c in board_columns(160)],
            member_cells(_member(), NOW, board_columns(160)),
            strict=True,
        )
    )
    assert str(wide["name"]).endswith("✉3")  # unread whispers survive a clipped name
    assert str(wide["task"]).startswith("prior-auth") and "-12d02h" in str(wide["task"])
    assert str(wide["seen"]) == "5h04 ago"
    assert str(wide["time"]) == "1:15"
    narrow = dict(
        zip(
            [c.key for c in board_columns(80)],
            member_cells(_member(), NOW, board_columns(80)),
            strict=True,
        )
    )
    assert str(narrow["task"]) == "prior-au…!!"  # clipped, overdue, without the SLA
    locked = member_cells(_member(session="locked"), NOW, board_columns(80))
    assert str(locked[1]) == "locked"


@pytest.mark.parametrize(
    ("seconds", "said"),
    [
        (0, "now"),
        (59, "now"),
        (60, "1m ago"),
        (3599, "59m ago"),
        (3600, "1h00 ago"),
        (86399, "23h59 ago"),
        (86400, "1d ago"),
    ],
)
def test_ago(seconds: int, said: str) -> None:
    assert ago(seconds) == said


def test_owner_queue_is_that_persons_open_tasks_in_queue_order(cache: Any) -> None:
    mine = cache.owner_queue(USER_ID)
    assert [r.task_id for r in mine] == [r.task_id for r in cache.queue()]
    assert cache.owner_queue("someone-else") == []
    assert len(cache.owner_queue(USER_ID, limit=2)) == 2
