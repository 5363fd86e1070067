"""The team board's header follows the board's own reads: when the central API dies
the header says offline, like its message line, not "connected".

A real central API (uvicorn, SQLite) on loopback, stopped mid-test.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import Static

from tests.support.pilot import until
from tests.tui.conftest import LiveApi
from tests.tui.test_work_a_task import SIZE, settle


@pytest.mark.slow
async def test_the_board_header_says_offline_once_the_api_is_gone(
    live_api: LiveApi, tmp_path: Path, passphrase: str
) -> None:
    from assistant_tui.app import AssistantApp
    from assistant_tui.modes.supervise import SuperviseScreen
    from backend_client import ApiClient
    from local_cache import LocalCache, SyncEngine
    from local_cache.keys import MemoryKeyring

    server, password = live_api.server, live_api.password
    cache = LocalCache.open(
        tmp_path / "sup", "supervisor", passphrase, keyring_backend=MemoryKeyring()
    )
    try:
        async with ApiClient(server.url) as client:
            login = await client.login("supervisor", password)
            # The engine's poll is far off: only the board's own reads see the server go.
            engine = SyncEngine(cache, client, poll_interval=600)
            app = AssistantApp(cache, sync=engine, user=login.user)
            async with app.run_test(size=SIZE) as pilot:
                await settle(pilot)
                board = app.screen
                assert isinstance(board, SuperviseScreen)
                await until(pilot, lambda: board.loads > 0, "the first board")

                def header() -> str:
                    return str(board.query_one("#sup-header", Static).render())

                assert "offline" not in header()
                server.stop()
                board.refresh_board()
                await until(
                    pilot,
                    lambda: (board.error or "").startswith("board not refreshed"),
                    "the board to fail",
                )
                await until(pilot, lambda: "offline" in header(), "the header to say offline")
                assert "connected" not in header() and "live:" not in header()
                assert "Offline" in (board.error or "")

                # The server back: the next read clears it.
                server.start()
                loads = board.loads
                board.refresh_board()
                await until(pilot, lambda: board.loads > loads, "the board again")
                assert "○ offline" not in header()
    finally:
        cache.close()
