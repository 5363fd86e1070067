"""Snapshots of the workspace and each modal (fixed clock, seeded data, steady cursor).

Regenerate with `pytest tests/tui/test_snapshots.py --snapshot-update`, then look
at the SVGs under `__snapshots__/` and review them like code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from tests.tui.data import odd_names_page
from tests.tui.test_work_a_task import SIZE, settle

Keys = list[str]


def opened(*keys: str) -> Callable[[Any], Awaitable[None]]:
    """Open the first task, then press `keys`, letting workers settle in between."""

    async def run_before(pilot: Any) -> None:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        for key in keys:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def test_workspace(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=opened())


def test_workspace_verified_rescheduling(snap_compare: Any, make_app: Any) -> None:
    keys = ["f4", "space", "space", "2", "r", *"mon 9:30"]
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=opened(*keys))


def test_workspace_voicemail(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=opened("v"))


def test_escalation_picker(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=opened("e"))


def test_escalation_urgent_symptom(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=opened("e", "u"))


def test_red_flag_prompt(snap_compare: Any, make_app: Any) -> None:
    keys = ["f4", "x", *"chest pain", "enter"]
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=opened(*keys))


def test_help(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=opened("f1"))


def test_lock(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=SIZE, run_before=opened("ctrl+l"))


# The workspace by terminal size, with a CJK name, an emoji and a long name in the
# queue (tests/tui/data.py ODD_NAMES). Reviewed as PNG: see test_layout.py for what
# each layout must keep on screen.


def test_layout_80x24_script(snap_compare: Any, make_app: Any, cache: Any) -> None:
    cache.apply_page(odd_names_page())
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=opened())


def test_layout_80x24_queue(snap_compare: Any, make_app: Any, cache: Any) -> None:
    cache.apply_page(odd_names_page())
    assert snap_compare(make_app(), terminal_size=(80, 24), run_before=opened("f7", "f7"))


def test_layout_100x30(snap_compare: Any, make_app: Any, cache: Any) -> None:
    cache.apply_page(odd_names_page())
    assert snap_compare(make_app(), terminal_size=(100, 30), run_before=opened("f7"))


def test_layout_160x48(snap_compare: Any, make_app: Any, cache: Any) -> None:
    cache.apply_page(odd_names_page())
    assert snap_compare(make_app(), terminal_size=(160, 48), run_before=opened())


def test_layout_too_small(snap_compare: Any, make_app: Any) -> None:
    assert snap_compare(make_app(), terminal_size=(70, 20), run_before=opened())
