"""New work appears on its own: a missed call posted to the webhook reaches the open workspace.

A real `assistant-api serve` (uvicorn, SQLite) on loopback with its event
stream, the real ApiClient and SyncEngine, the real SQLCipher cache. The
engine's timed polls are pushed out of reach (10 minutes), so only the
server's `feed` nudge can bring the task; the workspace must patch the one
row in, not re-read the whole queue.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.pilot import until
from tests.tui.conftest import LiveApi
from tests.tui.test_work_a_task import SIZE

WEBHOOK = "/v1/triggers/missed-call"
NO_POLL = 600.0  # seconds: longer than the test, so no timed poll can help


@pytest.mark.slow
async def test_a_missed_call_appears_in_the_open_workspace_without_a_sync(
    live_api: LiveApi, tmp_path: Path, passphrase: str
) -> None:
    from assistant_tui.app import AssistantApp
    from assistant_tui.messages import QueueLoaded, RowsLoaded
    from backend_client import ApiClient
    from local_cache import LocalCache, SyncEngine
    from local_cache.keys import MemoryKeyring

    user = live_api.assistant()
    username, password = user["username"], live_api.password
    webhook_key = live_api.webhook_key(user["practice_ids"][0])
    cache = LocalCache.open(
        tmp_path / "data", username, passphrase, keyring_backend=MemoryKeyring()
    )
    seen: list[Any] = []
    async with ApiClient(live_api.server.url) as client:
        login = await client.login(username, password)
        engine = SyncEngine(cache, client, poll_interval=NO_POLL, live_poll_interval=NO_POLL)
        app = AssistantApp(cache, sync=engine, user=login.user)
        async with app.run_test(size=SIZE, message_hook=seen.append) as pilot:
            workspace = app.workspace
            assert workspace is not None
            await until(pilot, lambda: engine.status.live, "the event stream")
            await until(pilot, lambda: workspace.context is not None, "the first task")
            # Our presence ("available") has reached the server: new work comes to us.
            await until(pilot, lambda: engine.status.outbox_depth == 0, "presence delivered")
            await until(pilot, lambda: "● live" in str(workspace.status.render()), "live shown")
            full_reads = workspace.full_reads
            loads = sum(isinstance(m, QueueLoaded) for m in seen)
            before = {row.task_id for row in workspace.queue.rows}

            async with httpx.AsyncClient(base_url=live_api.server.url) as phone:
                reply = await phone.post(
                    WEBHOOK,
                    # A fictional 555-01xx line in an area code the seed's patients do not use.
                    json={"caller_phone": "+1 971 555 0142", "called_at": _now()},
                    headers={"X-Practice-Key": webhook_key},
                )
            assert reply.status_code == 201, reply.text
            task_id = reply.json()["task_id"]
            assert task_id not in before

            await until(
                pilot,
                lambda: task_id in {row.task_id for row in workspace.queue.rows},
                "the missed call in the queue",
            )
            assert workspace.queue.total == len(before) + 1
            # Patched in, not re-read: no whole-queue read since the stream was up.
            assert workspace.full_reads == full_reads
            assert sum(isinstance(m, QueueLoaded) for m in seen) == loads
            patched = [m for m in seen if isinstance(m, RowsLoaded) and task_id in m.rows]
            assert patched and patched[-1].rows[task_id] is not None
    cache.close()


def _now() -> str:
    return datetime.now(UTC).isoformat()
