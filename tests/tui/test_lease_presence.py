"""On a real central API: opening a task claims its lease and shows who holds one
someone else has; quitting tells the team the assistant is offline (issue 12.8).

A real `assistant-api serve` (uvicorn, SQLite) on loopback, seeded with the
synthetic practice; the real ApiClient, SyncEngine and SQLCipher cache.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.server import ApiServer
from tests.tui.test_work_a_task import SIZE, settle

DEADLINE = 30.0


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[ApiServer, dict[str, Any], str]]:
    from central_api.db import make_engine, make_session_factory, migrate
    from central_api.seed import seed_database

    url = f"sqlite:///{tmp_path / 'api.db'}"
    migrate(url)
    engine = make_engine(url)
    password = secrets.token_urlsafe(12)
    with make_session_factory(engine)() as session:
        summary = seed_database(session, size=60, demo_password=password)
    engine.dispose()
    server = ApiServer(url)
    server.start()
    try:
        yield server, summary, password
    finally:
        server.stop()


async def until(pilot: Any, condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


def server_row(tmp_path: Path, sql: str, *params: str) -> tuple[Any, ...] | None:
    with sqlite3.connect(tmp_path / "api.db") as db:
        row = db.execute(sql, params).fetchone()
    return tuple(row) if row is not None else None


@pytest.mark.slow
async def test_claim_on_open_holder_shown_and_offline_on_quit(
    seeded: tuple[ApiServer, dict[str, Any], str], tmp_path: Path, passphrase: str
) -> None:
    from assistant_tui.app import AssistantApp
    from backend_client import ApiClient
    from local_cache import LocalCache, SyncEngine
    from local_cache.keys import MemoryKeyring

    server, summary, password = seeded
    training = {p["id"] for p in summary["practices"] if p["is_training"]}
    me = next(
        u
        for u in summary["users"]
        if u["role"] == "assistant" and not set(u["practice_ids"]) & training
    )
    boss = next(
        u
        for u in summary["users"]
        if u["role"] == "supervisor" and set(u["practice_ids"]) & set(me["practice_ids"])
    )
    cache = LocalCache.open(
        tmp_path / "data", me["username"], passphrase, keyring_backend=MemoryKeyring()
    )
    async with ApiClient(server.url) as client:
        login = await client.login(me["username"], password)
        engine = SyncEngine(cache, client, poll_interval=60)
        app = AssistantApp(cache, sync=engine, user=login.user)
        async with app.run_test(size=SIZE) as pilot:
            workspace = app.workspace
            assert workspace is not None
            await until(pilot, lambda: workspace.context is not None, "the first task")
            first = workspace.context.task.id  # type: ignore[union-attr]
            # The first task, opened, is claimed: its lease is ours on the server.
            await until(
                pilot,
                lambda: (
                    server_row(tmp_path, "SELECT lease_holder_id FROM tasks WHERE id = ?", first)
                    == (login.user.id,)
                ),
                "our lease on the first task",
            )
            # The supervisor takes the next task's lease before we open it.
            second = workspace.queue.next_after(first)
            assert second is not None
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as api:
                signed_in = await api.post(
                    "/v1/auth/login", json={"username": boss["username"], "password": password}
                )
                token = signed_in.json()["token"]
                taken = await api.post(
                    f"/v1/tasks/{second}/claim", headers={"Authorization": f"Bearer {token}"}
                )
                assert taken.status_code == 200, taken.text
            await pilot.press("ctrl+n")
            await until(pilot, lambda: workspace.held_by is not None, "the 409 on the claim")
            assert workspace.context is not None and workspace.context.task.id == second
            banner = str(workspace.query_one("#banner").render())
            assert f"{boss['display_name']} is working this task" in banner
            assert workspace.query_one("#banner").has_class("shown")

            await pilot.press("ctrl+q")
            await settle(pilot)
        assert server_row(
            tmp_path, "SELECT state FROM presence WHERE user_id = ?", login.user.id
        ) == ("offline",)
    cache.close()
