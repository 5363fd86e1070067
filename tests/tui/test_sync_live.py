"""The workspace on a real central API: escalate and document offline, see both delivered.

A real `assistant-api serve` (uvicorn, SQLite) on loopback, seeded with the
synthetic practice; the real ApiClient and SyncEngine; the real SQLCipher cache.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.server import ApiServer
from tests.tui.test_work_a_task import SIZE, settle

DEADLINE = 30.0


@pytest.fixture
def seeded_server(tmp_path: Path) -> Iterator[tuple[ApiServer, str, str]]:
    from central_api.db import make_engine, make_session_factory, migrate
    from central_api.seed import seed_database

    url = f"sqlite:///{tmp_path / 'api.db'}"
    migrate(url)
    engine = make_engine(url)
    password = secrets.token_urlsafe(12)
    with make_session_factory(engine)() as session:
        summary = seed_database(session, size=100, demo_password=password)
    engine.dispose()
    training = {p["id"] for p in summary["practices"] if p["is_training"]}
    username = next(
        u["username"]
        for u in summary["users"]
        if u["role"] == "assistant" and not set(u["practice_ids"]) & training
    )
    server = ApiServer(url)
    server.start()
    try:
        yield server, username, password
    finally:
        server.stop()


async def until(pilot: Any, condition: Callable[[], bool], what: str) -> None:
    """Poll `condition` while the app runs; fail with `what` after the deadline."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


@pytest.mark.slow
async def test_network_drops_mid_shift_work_queues_then_drains(
    seeded_server: tuple[ApiServer, str, str], tmp_path: Path, passphrase: str
) -> None:
    from assistant_tui.app import AssistantApp
    from backend_client import ApiClient
    from backend_client.retries import RetryPolicy
    from local_cache import LocalCache, SyncEngine
    from local_cache.keys import MemoryKeyring

    server, username, password = seeded_server
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
    assert _server_count(tmp_path, "attempts", attempt.id) == 1
    assert _server_count(tmp_path, "escalations", queued.id) == 1


def _server_count(tmp_path: Path, table: str, record_id: str) -> int:
    import sqlite3

    with sqlite3.connect(tmp_path / "api.db") as db:
        row = db.execute(f"SELECT count(*) FROM {table} WHERE id = ?", (record_id,)).fetchone()
    return int(row[0])
