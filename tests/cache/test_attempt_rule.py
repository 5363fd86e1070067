"""The cache follows the one attempt rule (same cases as tests/api/test_attempt_rule.py)."""

from __future__ import annotations

from typing import Any

import pytest

from local_cache import LocalCache
from tests.cache import synthetic
from tests.cache.helpers import attempt_for
from tests.support.attempt_cases import ATTEMPT_CASES, AttemptCase


@pytest.mark.parametrize("case", ATTEMPT_CASES, ids=lambda c: c.name)
def test_the_cache_follows_the_rule(open_cache: Any, case: AttemptCase) -> None:
    cache: LocalCache = open_cache()
    cache.apply_page(synthetic.page(1))
    cache.apply_page(synthetic.change_page(synthetic.task_change(0, version=2, status=case.status)))
    before = cache.task("task-0")
    assert before is not None and before.attempts == 0
    attempt = attempt_for(before, outcome=case.outcome)
    cache.record_attempt(attempt)
    after = cache.task("task-0")
    assert after is not None
    # The attempt is a fact: queued for the server in every case.
    assert [e.id for e in cache.outbox_entries("pending")] == [str(attempt.id)]
    assert after.status.value == case.after_status
    if case.moves:
        assert after.attempts == 1
    else:
        assert after == before  # a finished task stays exactly as it was
