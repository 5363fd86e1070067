"""On a real central API: opening a task claims its lease and shows who holds one
someone else has; quitting tells the team the assistant is offline (issue 12.8).

A real `assistant-api serve` (uvicorn, SQLite) on loopback, seeded with the
synthetic practice; the real ApiClient, SyncEngine and SQLCipher cache.
"""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.pilot import until
from tests.tui.conftest import LiveApi
from tests.tui.test_work_a_task import SIZE, settle


@pytest.mark.slow
async def test_claim_on_open_holder_shown_and_offline_on_quit(
    live_api: LiveApi, tmp_path: Path, passphrase: str
) -> None:
    from assistant_tui.app import AssistantApp
    from backend_client import ApiClient
    from local_cache import LocalCache, SyncEngine
    from local_cache.keys import MemoryKeyring

    server, password = live_api.server, live_api.password
    me = live_api.assistant()
    boss = live_api.supervisor_of(me)
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
                    live_api.row("SELECT lease_holder_id FROM tasks WHERE id = ?", first)
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
        assert live_api.row("SELECT state FROM presence WHERE user_id = ?", login.user.id) == (
            "offline",
        )
    cache.close()
