"""What the sync engine tells the UI: `FeedApplied` after pulls and deliveries, `queue_rows`."""

from __future__ import annotations

from typing import Any

from local_cache import SyncEngine
from local_cache.changes import FeedApplied
from tests.cache import synthetic
from tests.cache.conftest import Api
from tests.cache.helpers import attempt_for
from tests.cache.test_sync import _reassign_on_server, workable


async def test_first_sync_is_full_then_only_the_changed_tasks(api: Api, open_cache: Any) -> None:
    user, other = api.assistants()[:2]
    cache = open_cache(user)
    seen: list[FeedApplied] = []
    async with api.client(user) as client:
        engine = SyncEngine(cache, client, page_limit=7)
        engine.subscribe_changes(seen.append)
        await engine.sync_once()
        assert [s.full for s in seen] == [True]
        seen.clear()
        # Nothing moved on the server: no change is published.
        await engine.sync_once()
        assert seen == []
        moved = workable(cache)[0]
        _reassign_on_server(api, moved.id, other)
        await engine.sync_once()
    assert seen == [FeedApplied(frozenset({moved.id}), full=False)]
    assert cache.queue_rows([moved.id]) == {moved.id: None}


async def test_a_delivered_attempt_publishes_its_task(api: Api, open_cache: Any) -> None:
    user = api.assistants()[0]
    cache = open_cache(user)
    seen: list[FeedApplied] = []
    async with api.client(user) as client:
        engine = SyncEngine(cache, client)
        await engine.sync_once()
        task = workable(cache)[0]
        cache.record_attempt(attempt_for(task))
        unsubscribe = engine.subscribe_changes(seen.append)
        await engine.push()
        unsubscribe()
        await engine.sync_once()  # unsubscribed: not seen
    assert len(seen) == 1 and task.id in seen[0].task_ids and not seen[0].full
    row = cache.queue_rows([task.id])[task.id]
    assert row is None or not row.pending


def test_queue_rows_answers_every_id_asked(open_cache: Any) -> None:
    cache = open_cache()
    cache.apply_page(synthetic.page(3))
    ids = [r.task_id for r in cache.queue()]
    rows = cache.queue_rows([ids[0], "no-such-task", ids[2], ids[0]])
    assert list(rows) == [ids[0], "no-such-task", ids[2]]
    assert rows["no-such-task"] is None
    assert rows[ids[0]] == cache.queue_row(ids[0])
    assert rows[ids[2]] is not None and rows[ids[2]].task_id == ids[2]
    assert cache.queue_rows([]) == {}


def test_queue_rows_looks_tasks_up_by_id_not_by_scanning_the_queue(open_cache: Any) -> None:
    from local_cache.reads import QUEUE_ROWS_SQL

    cache = open_cache()
    cache.apply_page(synthetic.page(3))
    with cache.store.read() as conn:
        plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + QUEUE_ROWS_SQL, ("[]",)).fetchall()
    steps = [str(step[-1]) for step in plan]
    assert any(s.startswith("SEARCH t USING") and "(id=?)" in s for s in steps), steps
    assert not any("tasks_queue" in s for s in steps), steps


def test_apply_page_reports_the_tasks_it_wrote(open_cache: Any) -> None:
    cache = open_cache()
    touched: set[str] = set()
    cache.apply_page(synthetic.page(3), touched)
    assert touched == {r.task_id for r in cache.queue()}
    removed = synthetic.remove_task(2)
    touched.clear()
    cache.apply_page(synthetic.change_page(removed), touched)
    assert touched == {removed.id}


async def test_a_pull_cut_short_still_reports_its_pages_later(api: Api, open_cache: Any) -> None:
    from backend_client import RetryPolicy
    from local_cache import SyncStatus

    user, other = api.assistants()[:2]
    cache = open_cache(user)
    seen: list[FeedApplied] = []
    async with api.client(user, retry=RetryPolicy(attempts=1)) as client:
        engine = SyncEngine(cache, client, page_limit=1)
        await engine.sync_once()
        moved = [t.id for t in workable(cache)[:3]]
        for task_id in moved:
            _reassign_on_server(api, task_id, other)
        engine.subscribe_changes(seen.append)

        kills: list[SyncStatus] = []

        def kill_after_the_first_page(status: SyncStatus) -> None:
            if not kills:  # published between pages: the next pages never come
                kills.append(status)
                api.server.kill()

        unsubscribe = engine.subscribe(kill_after_the_first_page)
        cut = await engine.sync_once()
        unsubscribe()
        assert not cut.online and seen == []
        applied = [t for t in moved if cache.task(t) is None]
        assert kills and len(applied) < len(moved)  # cut short after a checkpoint
        api.server.start()
        status = await engine.sync_once()
    assert status.online and status.last_error is None
    assert seen == [FeedApplied(frozenset(moved), full=False)]


async def test_events_pull_or_go_to_the_ui(open_cache: Any) -> None:
    from local_cache.changes import LiveEvent

    engine = SyncEngine(open_cache(), client=None)
    events: list[LiveEvent] = []
    engine.subscribe_events(events.append)
    await engine._on_event("whisper", '{"whisper_id": "w-1"}')
    assert events == [LiveEvent("whisper", {"whisper_id": "w-1"})]
    assert not engine._kick.is_set()  # a whisper is not a reason to pull
    await engine._on_event("feed", '{"task_ids": ["t-1"]}')
    assert engine._kick.is_set() and len(events) == 1  # pulled, not forwarded
    engine._kick.clear()
    await engine._on_event("assignment", '{"task_ids": ["t-2"]}')
    assert engine._kick.is_set() and events[-1] == LiveEvent("assignment", {"task_ids": ["t-2"]})
    engine._kick.clear()
    await engine._on_event("resync", "{}")
    assert engine._kick.is_set() and engine._resync and len(events) == 2
    await engine._on_event("team", "not json")
    await engine._on_event("team", "[1, 2]")
    assert len(events) == 2  # a body that is not a JSON object is dropped
