"""The sync engine against a real uvicorn: pull, drain, refusals, reassignment, faults."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from backend_client import ApiClient, RetryPolicy
from central_api.assignment import reassign
from central_api.db import make_engine, make_session_factory
from central_api.models import Task
from local_cache import LocalCache, SyncEngine, SyncStatus
from tests.cache.conftest import Api
from tests.cache.helpers import attempt_for, phone_ok, server_attempts, server_rows
from tests.client.faults import DropAfterSendTransport

TERMINAL = ("completed", "failed", "cancelled", "entered-in-error")


def server_open_tasks(api: Api, username: str) -> dict[str, int]:
    rows = server_rows(
        api.db_url,
        "SELECT id, version FROM tasks WHERE owner_id = :uid AND status NOT IN "
        "('completed', 'failed', 'cancelled', 'entered-in-error')",
        uid=api.user_id(username),
    )
    return {str(r[0]): int(r[1]) for r in rows}


def cache_open_tasks(cache: LocalCache) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in cache.queue():
        task = cache.task(row.task_id)
        assert task is not None
        out[task.id] = task.version
    return out


def workable(cache: LocalCache) -> list[Any]:
    """Open cached tasks on which a phone no-answer is a valid attempt."""
    tasks = []
    for row in cache.queue():
        context = cache.task_context(row.task_id)
        assert context is not None
        if phone_ok(context.task, context.patient.consent if context.patient else None):
            tasks.append(context.task)
    return tasks


async def test_initial_sync_matches_the_server(api: Api, open_cache: Any) -> None:
    user = api.assistants()[0]
    cache = open_cache(user)
    async with api.client(user) as client:
        status = await SyncEngine(cache, client, page_limit=7).sync_once()
    assert status.online and status.last_error is None and status.last_sync is not None
    expected = server_open_tasks(api, user)
    assert expected and cache_open_tasks(cache) == expected
    assert status.tasks == len(expected)
    for task_id in expected:
        context = cache.task_context(task_id)
        assert context is not None and context.practice is not None
        if context.task.patient_id is not None:
            assert context.patient is not None and context.patient.id == context.task.patient_id


async def test_attempt_reaches_server_once_and_status_is_published(
    api: Api, open_cache: Any
) -> None:
    user = api.assistants()[0]
    cache = open_cache(user)
    seen: list[SyncStatus] = []
    async with api.client(user) as client:
        engine = SyncEngine(cache, client)
        engine.subscribe(seen.append)
        await engine.sync_once()
        task = workable(cache)[0]
        attempt = attempt_for(task)
        row = cache.record_attempt(attempt)
        assert row is None or row.pending
        status = await engine.sync_once()
    assert status.outbox_depth == 0 and status.needs_attention == 0
    assert server_attempts(api.db_url).get(str(attempt.id)) == 1
    [entry] = cache.outbox_entries()
    assert entry.state == "delivered"
    # The cache holds the server's task (its version moved past the one we saw).
    after = cache.task(task.id)
    assert after is None or after.version > task.version
    assert seen and seen[-1] == status


@pytest.mark.slow
async def test_dropped_responses_over_1000_sends_lose_and_duplicate_nothing(
    api: Api, open_cache: Any
) -> None:
    user = api.assistants()[0]
    cache = open_cache(user)
    transport = DropAfterSendTransport(httpx.AsyncHTTPTransport(), drop_every=2)
    recorded: list[str] = []
    # No retries inside the client: every lost answer reaches the engine.
    async with api.client(user, transport=transport, retry=RetryPolicy(attempts=1)) as client:
        transport.enabled = False
        engine = SyncEngine(cache, client, page_limit=50)
        assert (await engine.sync_once()).online
        tasks = workable(cache)
        assert tasks
        transport.enabled = True
        rounds = 0
        # Every other request loses its answer (POSTs and feed pages alike), so
        # most rounds end on a lost answer and the next one re-sends it.
        while transport.sent < 1000:
            if engine.status.outbox_depth < 5:
                for _ in range(10):
                    attempt = attempt_for(tasks[len(recorded) % len(tasks)])
                    cache.record_attempt(attempt)
                    recorded.append(str(attempt.id))
            await engine.sync_once()
            rounds += 1
        transport.enabled = False
        status = await engine.sync_once()
        assert status.online and status.outbox_depth == 0
    assert transport.dropped >= 400 and len(recorded) >= 300
    on_server = server_attempts(api.db_url)
    lost = [a for a in recorded if a not in on_server]
    duplicated = [a for a, n in on_server.items() if n != 1]
    assert lost == [] and duplicated == []
    assert cache.needs_attention() == []
    assert {e.id for e in cache.outbox_entries("delivered")} == set(recorded)


async def test_refused_entry_is_kept_with_the_servers_reply(
    api: Api, open_cache: Any, tmp_path: Any, keyring_backend: Any, passphrase: str
) -> None:
    user = api.assistants()[0]
    first = open_cache(user)
    second = LocalCache.open(
        tmp_path / "laptop-2", user, passphrase, keyring_backend=keyring_backend
    )
    try:
        async with api.client(user) as client:
            await SyncEngine(first, client).sync_once()
            await SyncEngine(second, client).sync_once()
            task = workable(first)[0]
            attempt = attempt_for(task)
            first.record_attempt(attempt)
            await SyncEngine(first, client).sync_once()
            # The same id with another body: the server refuses (key reused, 422).
            second.record_attempt(attempt.model_copy(update={"notes": "a different account"}))
            status = await SyncEngine(second, client).sync_once()
        assert status.needs_attention == 1 and status.outbox_depth == 0
        [item] = second.needs_attention()
        assert item.entry_id == str(attempt.id) and item.kind == "attempt"
        assert item.status_code == 422
        assert item.reply["error"]["code"]
        [entry] = second.outbox_entries()
        assert entry.state == "attention" and entry.body and "a different account" in entry.body
    finally:
        second.close()


def _reassign_on_server(api: Api, task_id: str, new_owner: str) -> None:
    engine = make_engine(api.db_url)
    try:
        with make_session_factory(engine)() as session:
            task = session.get(Task, task_id)
            assert task is not None
            reassign(session, task, api.user_id(new_owner))
            session.commit()
    finally:
        engine.dispose()


async def _record_then_reassign(api: Api, cache: LocalCache, client: ApiClient) -> tuple[Any, Any]:
    other = api.assistants()[1]
    engine = SyncEngine(cache, client)
    await engine.sync_once()
    task = workable(cache)[0]
    attempt = attempt_for(task)
    cache.record_attempt(attempt)
    _reassign_on_server(api, task.id, other)
    # Pull only: the remove arrives while the attempt is still queued.
    cache.apply_page(await client.sync(after=cache.cursor(), limit=1000))
    assert cache.task(task.id) is None
    assert [e.id for e in cache.outbox_entries("pending")] == [str(attempt.id)]
    return task, await engine.sync_once()


async def test_task_reassigned_away_delivers_the_queued_attempt(api: Api, open_cache: Any) -> None:
    user = api.assistants()[0]
    cache = open_cache(user)
    async with api.client(user) as client:
        task, status = await _record_then_reassign(api, cache, client)
    # An attempt is a fact: the server stores it even though the task moved on.
    assert status.needs_attention == 0, cache.needs_attention()
    assert status.outbox_depth == 0
    [entry] = cache.outbox_entries()
    assert entry.state == "delivered"
    assert server_attempts(api.db_url).get(entry.id) == 1
    assert cache.task(task.id) is None  # the task stays with its new owner


async def test_offline_keeps_work_and_delivers_when_back(api: Api, open_cache: Any) -> None:
    user = api.assistants()[0]
    cache = open_cache(user)
    async with api.client(user, retry=RetryPolicy(attempts=2, budget=0.5)) as client:
        engine = SyncEngine(cache, client, backoff_initial=0.01, backoff_max=0.05)
        await engine.sync_once()
        task = workable(cache)[0]
        api.server.kill()
        attempt = attempt_for(task)
        cache.record_attempt(attempt)
        status = await engine.sync_once()
        assert not status.online and status.outbox_depth == 1 and status.last_error
        api.server.start()
        runner = asyncio.create_task(engine.run())
        try:
            async with asyncio.timeout(30):
                while engine.status.outbox_depth or not engine.status.online:
                    engine.kick()
                    await asyncio.sleep(0.02)
        finally:
            runner.cancel()
    assert server_attempts(api.db_url).get(str(attempt.id)) == 1


@pytest.mark.slow
async def test_server_killed_mid_sync_resumes_from_the_checkpoint(
    api: Api, open_cache: Any
) -> None:
    user = api.assistants()[0]
    cache = open_cache(user)
    pages = 0

    def kill_after_two_pages(status: SyncStatus) -> None:
        nonlocal pages
        pages += 1
        if pages == 2:
            api.server.kill()

    async with api.client(user, retry=RetryPolicy(attempts=1)) as client:
        engine = SyncEngine(cache, client, page_limit=3)
        unsubscribe = engine.subscribe(kill_after_two_pages)
        status = await engine.sync_once()
        unsubscribe()
        assert not status.online
        checkpoint = cache.cursor()
        assert checkpoint is not None  # the pages before the kill are kept
        partial = cache_open_tasks(cache)
        api.server.start()
        status = await engine.sync_once()
    assert status.online and status.last_error is None
    expected = server_open_tasks(api, user)
    assert len(partial) < len(expected)
    assert cache_open_tasks(cache) == expected
    # No gap in the other kinds either: every patient of the user's tasks is cached.
    patients = server_rows(
        api.db_url,
        "SELECT DISTINCT patient_id FROM tasks WHERE owner_id = :uid AND patient_id IS NOT NULL",
        uid=api.user_id(user),
    )
    with cache._read() as conn:
        cached = conn.exec_driver_sql("SELECT id FROM records WHERE kind = 'patient'").scalars()
        cached_patients = {str(p) for p in cached}
    assert {str(r[0]) for r in patients} == cached_patients


async def test_escalation_presence_and_claim_are_delivered(api: Api, open_cache: Any) -> None:
    import uuid

    from followup_core.enums import AgentState, EscalationRoute
    from followup_core.schemas import EscalationIn

    user = api.assistants()[0]
    cache = open_cache(user)
    async with api.client(user) as client:
        engine = SyncEngine(cache, client)
        await engine.sync_once()
        task = workable(cache)[0]
        esc = EscalationIn(
            id=uuid.uuid4(), task_id=task.id, route=EscalationRoute.BILLING, reason="copay question"
        )
        cache.claim(task.id)
        cache.record_escalation(esc)
        cache.set_presence(AgentState.BREAK)
        cache.set_presence(AgentState.ON_CALL)  # only the latest state is worth sending
        assert [e.kind for e in cache.outbox_entries("pending")] == [
            "claim",
            "escalation",
            "presence",
        ]
        status = await engine.sync_once()
    assert status.outbox_depth == 0 and status.needs_attention == 0, cache.needs_attention()
    uid = api.user_id(user)
    [presence] = server_rows(api.db_url, "SELECT state FROM presence WHERE user_id = :u", u=uid)
    assert presence[0] == "on-call"
    routes = server_rows(
        api.db_url,
        "SELECT route FROM escalations WHERE task_id = :t AND raised_by = :u",
        t=task.id,
        u=uid,
    )
    assert [r[0] for r in routes] == ["billing"]
    context = cache.task_context(task.id)
    assert context is not None and context.lease is not None
    assert context.lease.holder_id == uid


async def test_outbox_is_delivered_in_recorded_order(api: Api, open_cache: Any) -> None:
    user = api.assistants()[0]
    cache = open_cache(user)
    async with api.client(user) as client:
        engine = SyncEngine(cache, client)
        await engine.sync_once()
        tasks = workable(cache)
        recorded = []
        for i in range(12):
            task = tasks[i % len(tasks)]
            attempt = attempt_for(cache.task(task.id) or task)
            cache.record_attempt(attempt)
            recorded.append(str(attempt.id))
        await engine.sync_once()
    rows = server_rows(
        api.db_url,
        "SELECT id FROM attempts WHERE assistant_id = :u ORDER BY recorded_at",
        u=api.user_id(user),
    )
    on_server = [str(r[0]) for r in rows if str(r[0]) in set(recorded)]
    assert on_server == recorded
