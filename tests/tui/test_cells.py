"""Columns measured in terminal cells: CJK, emoji, decomposed accents, long names."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta

import pytest
from rich.cells import cell_len

from assistant_tui.cells import ELLIPSIS, clean, clip, fit
from assistant_tui.timefmt import countdown
from assistant_tui.widgets.queue.queue_list import (
    FIXED_W,
    PATIENT_MIN,
    SLA_W,
    format_row,
    header,
    patient_width,
)
from followup_core.enums import Priority, TaskStatus, WorkflowId
from local_cache.views import QueueRow

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
TZ = "America/New_York"
NFD_JOSE = unicodedata.normalize("NFD", "José García")
NAMES = [
    "Sample, Avery",
    "王, 秀英",  # CJK: two cells a character
    "Nguyễn, Thị Minh Khai",
    NFD_JOSE,  # decomposed accents: the marks take no cell
    "Okafor, Ada 🙂",  # emoji: two cells
    "Family 👨\u200d👩\u200d👧, Sam",  # one ZWJ sequence: one two-cell unit
    "Wolfeschlegelsteinhausenbergerdorff, Hubert Blaine",
    "Tab\tand\nnewline\x1b[31m",  # control characters must not reach the terminal
]


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("width", [1, 2, 5, 8, 16, 40])
def test_fit_is_exactly_width_cells_and_cuts_whole_characters(name: str, width: int) -> None:
    shown = fit(name, width)
    assert cell_len(shown) == width
    assert cell_len(fit(name, width, "right")) == width
    cut = clip(name, width)
    if cell_len(clean(name)) > width:
        assert cut.endswith(ELLIPSIS)
        # Whole characters only: what precedes the mark is a prefix of the cleaned name.
        assert clean(name).startswith(cut[: -len(ELLIPSIS)])
    else:
        assert cut == clean(name)
    assert "\x1b" not in shown and "\n" not in shown and "\t" not in shown


def test_named_examples() -> None:
    assert fit("王, 秀英", 8) == "王, 秀英"  # 8 cells, 5 characters
    assert fit("王, 秀英", 10) == "王, 秀英  "
    assert fit("王, 秀英", 6) == "王,…  "  # 秀 would straddle the edge: cut before it
    assert fit(NFD_JOSE, 11) == "José García"  # composed, 11 cells
    assert fit(NFD_JOSE, 5) == "José…"
    assert fit("Okafor, Ada 🙂", 13) == "Okafor, Ada… "  # the emoji needs 2 cells
    assert fit("Okafor, Ada 🙂", 14) == "Okafor, Ada 🙂"
    assert fit("7", 3, "right") == "  7"
    assert clip("abc", 0) == ""


def row(name: str, due: timedelta = timedelta(hours=2)) -> QueueRow:
    return QueueRow(
        task_id="t-1",
        practice_id="p-1",
        workflow=WorkflowId.REFERRAL_FOLLOW_UP,
        priority=Priority.URGENT,
        status=TaskStatus.READY,
        business_status=None,
        due_at=NOW + due,
        attempts=2,
        next_attempt_at=NOW + timedelta(hours=1),
        patient_label=name,
        pending=True,
    )


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("pw", [PATIENT_MIN, 16, 30])
def test_queue_columns_line_up_whatever_the_name(name: str, pw: int) -> None:
    text = format_row(row(name), "", NOW, TZ, patient_w=pw)
    assert cell_len(text) == FIXED_W + pw
    assert cell_len(header(pw)) == FIXED_W + pw - 1  # the header has no pending flag
    # The columns after the name start at the same cell for every name.
    plain = format_row(row("Sample, Avery"), "", NOW, TZ, patient_w=pw)
    before = 2 + 1 + 7 + 1 + SLA_W + 1 + 11 + 1  # mark, PRIO, SLA, WORKFLOW and spaces
    after = 1 + 3 + 1 + 9 + 1  # space, TRY, space, NEXT, pending flag (all ASCII or 1 cell)
    assert text[:before] == plain[:before]
    assert text[-after:] == plain[-after:]
    assert text.rstrip("↑").endswith("11:00")  # the next attempt is never pushed off


def test_sla_column_fits_its_widest_value() -> None:
    widest = countdown(NOW - timedelta(days=12, hours=2, minutes=5), NOW)
    assert widest == "-12d02h" and len(widest) == SLA_W
    assert countdown(NOW - timedelta(days=123, hours=5), NOW) == "-123d"
    text = format_row(row("王, 秀英", due=-timedelta(days=12, hours=2, minutes=5)), "", NOW, TZ)
    assert " -12d02h " in text
    assert cell_len(header()) == cell_len(text) - 1


def test_patient_column_follows_the_width() -> None:
    assert patient_width(FIXED_W + 16) == 16
    assert patient_width(20) == PATIENT_MIN
    assert patient_width(500) == 32
