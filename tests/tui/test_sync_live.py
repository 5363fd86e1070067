"""The workspace on a real central API: escalate and document offline, see both delivered.

A real `assistant-api serve` (uvicorn, SQLite) on loopback, seeded with the
synthetic practice; the real ApiClient and SyncEngine; the real SQLCipher cache.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.pilot import until
from tests.tui.conftest import LiveApi
from tests.tui.test_work_a_task import SIZE, settle


@pytest.mark.slow
async def test_network_drops_mid_shift_work_queues_then_drains(
    live_api: LiveApi, tmp_path: Path, passphrase: str
) -> None:
    from assistant_tui.app import AssistantApp
    from backend_client import ApiClient
    from backend_client.retries import RetryPolicy
    from local_cache import LocalCache, SyncEngine
    from local_cache.keys import MemoryKeyring

    server, password = live_api.server, live_api.password
    username = live_api.assistant()["username"]
    cache = LocalCache.open(
        tmp_path / "data", username, passphrase, keyring_backend=MemoryKeyring()
    )
    quick = RetryPolicy(budget=0.5, attempts=2, wait_initial=0.05, wait_max=0.1)
    async with ApiClient(server.url, retry=quick) as client:
        login = await client.login(username, password)
        engine = SyncEngine(cache, client, poll_interval=60, backoff_initial=0.1, backoff_max=0.5)
        app = AssistantApp(cache, sync=engine, user=login.user)
        async with app.run_test(size=SIZE) as pilot:
            workspace = app.workspace
            await until(pilot, lambda: engine.status.tasks > 0, "the first sync")
            await until(pilot, lambda: workspace.context is not None, "the first task")
            status = workspace.status
            await until(pilot, lambda: status.online, "online in the status bar")
            task_id = workspace.context.task.id  # type: ignore[union-attr]

            server.kill()  # the network goes away mid-shift
            await pilot.press("e", "c", *"why", "enter")  # clinical escalation, with a reason
            await settle(pilot)
            await until(pilot, lambda: not engine.status.online, "the engine to notice")
            await until(pilot, lambda: not status.online, "OFFLINE in the status bar")
            assert engine.status.outbox_depth >= 1
            assert "1 escalation(s) undelivered" in str(status.render())
            assert "OFFLINE" in str(status.render())
            [queued] = [e for e in cache.outbox_entries() if e.kind == "escalation"]
            assert queued.task_id == task_id and queued.state == "pending"

            # Outcomes keep being documented while offline: they queue behind it.
            await pilot.press("ctrl+n")
            await until(
                pilot,
                lambda: workspace.context is not None and workspace.context.task.id != task_id,
                "the next task",
            )
            await pilot.press("n", "enter")  # no answer, saved
            await settle(pilot)
            await until(
                pilot,
                lambda: any(e.kind == "attempt" for e in cache.outbox_entries("pending")),
                "the outcome to queue",
            )
            [attempt] = [e for e in cache.outbox_entries() if e.kind == "attempt"]

            server.start()  # back online: the outbox drains on the next round
            engine.kick()
            await until(pilot, lambda: engine.status.outbox_depth == 0, "the outbox to drain")
            await until(pilot, lambda: status.undelivered_escalations == 0, "delivery shown")
            assert "undelivered" not in str(status.render())
            assert status.online
            states = {e.id: e.state for e in cache.outbox_entries()}
            assert states[queued.id] == states[attempt.id] == "delivered"
    cache.close()
    assert live_api.row("SELECT count(*) FROM attempts WHERE id = ?", attempt.id) == (1,)
    assert live_api.row("SELECT count(*) FROM escalations WHERE id = ?", queued.id) == (1,)
