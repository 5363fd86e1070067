"""Waiting on a Textual app under Pilot: poll a condition with a deadline, never sleep."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

DEADLINE = 30.0  # seconds


async def until(
    pilot: Any, condition: Callable[[], bool], what: str, within: float = DEADLINE
) -> None:
    """Let the app run (50 ms pauses) until `condition()` holds.

    Raises AssertionError naming `what` after `within` seconds.
    """
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)
