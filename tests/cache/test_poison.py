"""Issue 14, item 1: a poisoned outbox entry never stops a workstation.

The fault is at the client's edge (`PoisonTransport`): the server works, but one
entry is answered 500 every time it is sent. The sync engine runs against a
real uvicorn.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from backend_client import RetryPolicy
from local_cache import LocalCache, SyncEngine
from local_cache.changes import FeedApplied
from local_cache.sync import is_entry_fault
from tests.cache.conftest import Api
from tests.cache.helpers import attempt_for, server_attempts
from tests.cache.test_sync import _reassign_on_server, workable
from tests.client.faults import PoisonTransport

LIMIT = 3


def _record_three(cache: LocalCache) -> list[str]:
    """A poisoned attempt in front of two good ones; their ids in recorded order."""
    tasks = workable(cache)
    assert len(tasks) >= 3
    ids = []
    for task in tasks[:3]:
        attempt = attempt_for(task)
        cache.record_attempt(attempt)
        ids.append(str(attempt.id))
    return ids


async def _until(engine: SyncEngine, done: Any) -> Any:
    async with asyncio.timeout(30):
        while True:
            status = await engine.sync_once()
            if done(status):
                return status
            await asyncio.sleep(0.01)


async def test_poisoned_entry_is_set_aside_and_the_line_moves_on(api: Api, open_cache: Any) -> None:
    user, other = api.assistants()[:2]
    cache = open_cache(user)
    transport = PoisonTransport(httpx.AsyncHTTPTransport())
    seen: list[FeedApplied] = []
    async with api.client(user, transport=transport, retry=RetryPolicy(attempts=1)) as client:
        engine = SyncEngine(cache, client, poison_limit=LIMIT, poison_backoff=0.05)
        await engine.sync_once()
        poisoned, *good = _record_three(cache)
        transport.poisoned.add(poisoned)
        engine.subscribe_changes(seen.append)

        first = await engine.sync_once()
        # One strike: still in order, the good ones wait; the status says why.
        assert first.online and first.outbox_depth == 3 and first.needs_attention == 0
        assert first.last_error and "retrying" in first.last_error
        [entry] = [e for e in cache.outbox_entries() if e.id == poisoned]
        assert entry.server_errors == 1 and entry.state == "pending"
        # The feed still moves while the entry is retried.
        held = {e.task_id for e in cache.outbox_entries()}
        moved = next(t for t in workable(cache) if t.id not in held)
        _reassign_on_server(api, moved.id, other)
        await engine.sync_once()
        assert cache.task(moved.id) is None
        assert any(moved.id in s.task_ids for s in seen)

        status = await _until(engine, lambda s: s.needs_attention == 1 and s.outbox_depth == 0)
    assert status.online and status.last_error is None
    assert transport.answered == LIMIT  # bounded: no send after the last strike
    on_server = server_attempts(api.db_url)
    assert poisoned not in on_server
    assert [on_server.get(g) for g in good] == [1, 1]
    [item] = cache.needs_attention()
    assert item.entry_id == poisoned and item.status_code == 500
    assert item.reply["error"]["code"] == "internal-error"
    assert {e.id: e.state for e in cache.outbox_entries()} == {
        poisoned: "attention",
        good[0]: "delivered",
        good[1]: "delivered",
    }


async def test_the_strike_count_survives_a_restart(
    api: Api, open_cache: Any, tmp_path: Any, keyring_backend: Any, passphrase: str
) -> None:
    user = api.assistants()[0]
    transport = PoisonTransport(httpx.AsyncHTTPTransport())
    cache = LocalCache.open(tmp_path / "restart", user, passphrase, keyring_backend=keyring_backend)
    try:
        async with api.client(user, transport=transport, retry=RetryPolicy(attempts=1)) as client:
            await SyncEngine(cache, client).sync_once()
            poisoned, *_ = _record_three(cache)
            transport.poisoned.add(poisoned)
            engine = SyncEngine(cache, client, poison_limit=LIMIT, poison_backoff=0.0)
            # No backoff: struck before and after the round's pull.
            await engine.sync_once()
    finally:
        cache.close()
    cache = LocalCache.open(tmp_path / "restart", user, passphrase, keyring_backend=keyring_backend)
    try:
        [entry] = [e for e in cache.outbox_entries() if e.id == poisoned]
        assert entry.server_errors == 2 and entry.state == "pending"
        async with api.client(user, transport=transport, retry=RetryPolicy(attempts=1)) as client:
            engine = SyncEngine(cache, client, poison_limit=LIMIT, poison_backoff=0.0)
            status = await engine.sync_once()  # the third strike, after the restart
        assert status.needs_attention == 1 and status.outbox_depth == 0
        assert transport.answered == LIMIT
        cache.retry_attention(poisoned)  # a person asks to send it again: a fresh count
        [entry] = [e for e in cache.outbox_entries() if e.id == poisoned]
        assert entry.state == "pending" and entry.server_errors == 0 and entry.next_try_at is None
    finally:
        cache.close()


async def test_a_server_failing_on_every_change_sets_nothing_aside(
    api: Api, open_cache: Any
) -> None:
    user = api.assistants()[0]
    cache = open_cache(user)
    transport = PoisonTransport(httpx.AsyncHTTPTransport())
    async with api.client(user, transport=transport, retry=RetryPolicy(attempts=1)) as client:
        engine = SyncEngine(cache, client, poison_limit=LIMIT, poison_backoff=0.0)
        await engine.sync_once()
        recorded = _record_three(cache)
        transport.poisoned.update(recorded)  # every write fails; the feed still answers
        for _ in range(2 * LIMIT):
            status = await engine.sync_once()
            assert status.online and status.needs_attention == 0 and status.outbox_depth == 3
        assert status.last_error and "every queued change" in status.last_error
        # The server recovers: everything goes, in order, nothing was set aside.
        transport.poisoned.clear()
        status = await engine.sync_once()
    assert status.outbox_depth == 0 and status.needs_attention == 0
    assert [server_attempts(api.db_url).get(a) for a in recorded] == [1, 1, 1]


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_overload_and_gateway_answers_keep_the_line_in_order(
    api: Api, open_cache: Any, status: int
) -> None:
    user = api.assistants()[0]
    cache = open_cache(user)
    transport = PoisonTransport(httpx.AsyncHTTPTransport(), status=status)
    async with api.client(user, transport=transport, retry=RetryPolicy(attempts=1)) as client:
        engine = SyncEngine(cache, client, poison_limit=1, poison_backoff=0.0)
        await engine.sync_once()
        first, *good = _record_three(cache)
        transport.poisoned.add(first)
        for _ in range(3):
            result = await engine.sync_once()
            assert not result.online and result.needs_attention == 0
            assert result.outbox_depth == 3
    assert all(g not in server_attempts(api.db_url) for g in good)
    assert [e.server_errors for e in cache.outbox_entries()] == [0, 0, 0]


def test_which_answers_count_as_the_entrys_own() -> None:
    assert [s for s in (400, 429, 500, 501, 502, 503, 504, 505, 599) if is_entry_fault(s)] == [
        500,
        501,
        505,
        599,
    ]
