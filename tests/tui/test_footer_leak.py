"""Saving outcomes must not leave widgets alive outside the DOM."""

from __future__ import annotations

import gc
from typing import Any

from textual.widgets._footer import FooterKey

from tests.tui.data import bulk_page
from tests.tui.test_work_a_task import SIZE, open_first, settle


def live_footer_keys() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, FooterKey))


async def test_saving_outcomes_keeps_no_footer_keys_alive(make_app: Any, cache: Any) -> None:
    cache.apply_page(bulk_page(30))  # enough tasks that every save opens another
    app = make_app()
    async with app.run_test(size=SIZE) as pilot:
        await open_first(pilot)

        async def save(times: int) -> None:
            for _ in range(times):
                await pilot.press("n", "ctrl+s")  # no-answer, saved, next task opened
                await settle(pilot)

        await save(2)
        after_two = live_footer_keys()
        await save(8)
        after_ten = live_footer_keys()
        saved = [e for e in cache.outbox_entries() if e.kind == "attempt"]
        assert len(saved) == 10
        assert after_two > 0  # the footer shows keys: the count measures something
        assert after_ten <= after_two, (after_two, after_ten)
