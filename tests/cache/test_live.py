"""The sync engine on the live stream, against a real uvicorn serving `GET /v1/events`.

The poll interval is ten minutes in every test here, so anything that arrives
within the deadlines came through the stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from backend_client import ApiClient, ReconnectPolicy
from followup_core.schemas import MissedCallIn
from local_cache import LocalCache, SyncEngine
from local_cache.changes import FeedApplied, LiveEvent
from tests.cache.conftest import Api
from tests.support.seeded import SqliteTemplate
from tests.support.server import ApiServer

LIVE_ENV = {
    "ASSISTANT_API_EVENTS_HEARTBEAT_SECONDS": "1",
    "ASSISTANT_API_TRIGGER_INTERVAL": "0",
}
NO_POLL = 600.0  # seconds: longer than any test
FAST = ReconnectPolicy(wait_initial=0.05, wait_max=0.5, wait_jitter=0.05)


@pytest.fixture
def live_api(seeded_template: SqliteTemplate, seed_password: str, tmp_path: Path) -> Iterator[Api]:
    db_url = seeded_template.copy(tmp_path)
    with ApiServer(db_url, env=LIVE_ENV) as server:
        yield Api(server, db_url, seeded_template.summary, seed_password)


@dataclass
class Running:
    """One user's engine running live, with what it told its subscribers."""

    username: str
    cache: LocalCache
    engine: SyncEngine
    changes: list[FeedApplied] = field(default_factory=list)
    events: list[LiveEvent] = field(default_factory=list)

    def saw(self, task_id: str) -> bool:
        return any(task_id in c.task_ids for c in self.changes)


async def until(condition: Callable[[], bool]) -> None:
    """Poll `condition` until it holds; fail after 20 seconds."""
    async with asyncio.timeout(20):
        while True:
            if condition():
                return
            await asyncio.sleep(0.02)  # a poll with a deadline, not a stand-in for one


@asynccontextmanager
async def running(api: Api, open_cache: Any, username: str) -> AsyncIterator[Running]:
    """`username`'s engine in `run()`, first sync done and the stream up."""
    async with api.client(username, reconnect=FAST) as client:
        cache = open_cache(username)
        engine = SyncEngine(cache, client, poll_interval=NO_POLL, live_poll_interval=NO_POLL)
        it = Running(username, cache, engine)
        engine.subscribe_changes(it.changes.append)
        engine.subscribe_events(it.events.append)
        task = asyncio.create_task(engine.run())
        try:
            await until(lambda: engine.status.live and engine.status.last_sync is not None)
            yield it
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


_NUMBERS = itertools.count(100 + secrets.randbelow(50))  # distinct callers, up to 0199


async def post_missed_call(api: Api, practice: int = 0) -> str:
    """A missed call from a new (fictional 555-01xx, but dialable) number; its task id."""
    key = api.summary["practices"][practice]["webhook_key"]
    phone = f"+1212555{next(_NUMBERS):04d}"
    async with ApiClient(api.url) as hook:
        out = await hook.missed_call(
            key, MissedCallIn(caller_phone=phone, called_at=datetime.now(UTC))
        )
    assert out.task_id is not None, out
    return str(out.task_id)


def owner_of(api: Api, task_id: str) -> str:
    from tests.cache.helpers import server_rows

    [row] = server_rows(api.db_url, "SELECT owner_id FROM tasks WHERE id = :t", t=task_id)
    return str(row[0])


def assistants_of(api: Api, practice: int = 0) -> list[str]:
    pid = api.summary["practices"][practice]["id"]
    return [
        u["username"]
        for u in api.summary["users"]
        if u["role"] == "assistant" and pid in u["practice_ids"]
    ]


async def test_a_missed_call_reaches_its_owner_at_once(live_api: Api, open_cache: Any) -> None:
    names = assistants_of(live_api)
    assert len(names) >= 2
    async with contextlib.AsyncExitStack() as stack:
        engines = [await stack.enter_async_context(running(live_api, open_cache, n)) for n in names]
        for it in engines:
            assert [c.full for c in it.changes] == [True]  # the first sync
        task_id = await post_missed_call(live_api)
        owner = next(
            u["username"]
            for u in live_api.summary["users"]
            if u["id"] == owner_of(live_api, task_id)
        )
        [mine] = [it for it in engines if it.username == owner]
        await until(lambda: mine.saw(task_id))
        row = mine.cache.queue_rows([task_id])[task_id]
        assert row is not None and row.task_id == task_id
        # A patch, not a re-read: the change names the task and is not full.
        assert not any(c.full for c in mine.changes[1:])
        assert mine.engine.status.live and mine.engine.status.as_json()["live"] is True
    # Nobody else was told about it (they share the practice, not the task).
    assert not any(it.saw(task_id) for it in engines if it is not mine)


async def test_server_restart_reconnects_and_resyncs(live_api: Api, open_cache: Any) -> None:
    names = assistants_of(live_api)
    async with contextlib.AsyncExitStack() as stack:
        engines = [await stack.enter_async_context(running(live_api, open_cache, n)) for n in names]
        first = await post_missed_call(live_api)
        await until(lambda: any(it.saw(first) for it in engines))
        [heard] = [it for it in engines if it.saw(first)]
        live_api.server.kill()
        await until(lambda: not any(it.engine.status.live for it in engines))
        seen = {it.username: len(it.changes) for it in engines}
        live_api.server.start()
        await until(lambda: all(it.engine.status.live for it in engines))
        # The restarted server does not know the Last-Event-ID of the engine that
        # heard an event: a `resync` first, so its UI is told to re-read the queue.
        await until(lambda: any(c.full for c in heard.changes[seen[heard.username] :]))
        second = await post_missed_call(live_api)
        await until(lambda: any(it.saw(second) for it in engines))
        owner = owner_of(live_api, second)
        [holder] = [
            it
            for it in engines
            if it.username
            == next(u["username"] for u in live_api.summary["users"] if u["id"] == owner)
        ]
        assert holder.cache.queue_rows([second])[second] is not None


async def test_a_supervisor_hears_of_team_and_escalation_events(
    live_api: Api, open_cache: Any
) -> None:
    import uuid

    from followup_core.enums import AgentState, EscalationRoute
    from followup_core.schemas import EscalationIn

    pid = live_api.summary["practices"][0]["id"]
    supervisor = next(
        u["username"]
        for u in live_api.summary["users"]
        if u["role"] == "supervisor" and pid in u["practice_ids"]
    )
    assistant = assistants_of(live_api)[0]
    async with running(live_api, open_cache, supervisor) as watching:
        async with live_api.client(assistant) as client:
            await client.put_presence(AgentState.BREAK)
            await until(lambda: any(e.kind == "team" for e in watching.events))
            [team] = [e for e in watching.events if e.kind == "team"]
            assert team.data["user_id"] == live_api.user_id(assistant)
            assert team.data["state"] == "break"
            tasks = await client.sync(after=None, limit=1000)
            task_id = next(c.id for c in tasks.changes if c.kind.value == "task" and c.data)
            await client.post_escalation(
                EscalationIn(
                    id=uuid.uuid4(), task_id=task_id, route=EscalationRoute.BILLING, reason="copay"
                ),
                idempotency_key=str(uuid.uuid4()),
            )
        await until(lambda: any(e.kind == "escalation" for e in watching.events))
        [esc] = [e for e in watching.events if e.kind == "escalation"]
        assert esc.data["practice_id"] == pid and esc.data["status"] == "open"
        # The escalation put the task on hold: the supervisor's feed moved too.
        await until(lambda: watching.saw(task_id))
