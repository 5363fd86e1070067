"""Reassignment and forced states, seen on three real screens against one real server.

One `assistant-api serve` (uvicorn, SQLite) on loopback; three real Apps in this
process, each with its own SQLCipher cache, ApiClient, SyncEngine and event
stream: the workspaces of two assistants (Ava and Ben, both of one practice)
and the supervisor's team board. The supervisor works only through the board's
keys and dialogs; the assistants only through their workspaces' keys.

Ava's client reaches the server through `OfflineSwitchTransport` (the network
edge, unplugged on purpose): an attempt she saves while unplugged waits in her
outbox, her task is given to Ben meanwhile, and once she is back the attempt is
still delivered as a fact (the server accepts an attempt from the task's owner
at the time of the call) while the task leaves her queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.client.faults import OfflineSwitchTransport
from tests.support.server import ApiServer
from tests.tui.conftest import LiveApi
from tests.tui.test_work_a_task import SIZE

DEADLINE = 45.0  # seconds; the machine is shared and loaded


async def until(pilots: list[Any], condition: Callable[[], bool], what: str) -> None:
    """Poll `condition`, letting every App run between polls, until it holds."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        for pilot in pilots:
            await pilot.pause(0.02)


def _api(server: ApiServer, password: str, username: str) -> httpx.Client:
    with httpx.Client(base_url=server.url) as c:
        token = c.post("/v1/auth/login", json={"username": username, "password": password})
    assert token.status_code == 200
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token.json()['token']}"}
    )


@pytest.mark.slow
async def test_reassignment_moves_rows_between_two_workspaces_and_forced_state(
    live_api: LiveApi, tmp_path: Path, passphrase: str
) -> None:
    from textual.widgets import OptionList, SelectionList

    from assistant_tui.app import AssistantApp
    from assistant_tui.modes.supervise import SuperviseScreen
    from assistant_tui.screens.supervision import ReassignScreen, StateScreen
    from backend_client import ApiClient
    from local_cache import LocalCache, SyncEngine
    from local_cache.keys import MemoryKeyring

    server, password = live_api.server, live_api.password
    ava_id, ben_id = live_api.user("ava.lindqvist")["id"], live_api.user("ben.okafor")["id"]

    def cache_for(name: str) -> Any:
        return LocalCache.open(tmp_path / name, name, passphrase, keyring_backend=MemoryKeyring())

    caches = {n: cache_for(n) for n in ("ava.lindqvist", "ben.okafor", "supervisor")}
    unplug = OfflineSwitchTransport(httpx.AsyncHTTPTransport())
    with _api(server, password, "supervisor") as boss:

        def task(task_id: str) -> dict[str, Any]:
            response = boss.get(f"/v1/tasks/{task_id}")
            assert response.status_code == 200, response.text
            body: dict[str, Any] = response.json()["task"]
            return body

        def attempts_by(task_id: str, user_id: str) -> int:
            response = boss.get(f"/v1/tasks/{task_id}")
            assert response.status_code == 200, response.text
            return sum(1 for a in response.json()["attempts"] if a["assistant_id"] == user_id)

        def mirror(user_id: str) -> dict[str, Any]:
            body: dict[str, Any] = boss.get(f"/v1/sessions/{user_id}").json()
            return body

        def presence(user_id: str) -> str:
            board = boss.get("/v1/team").json()
            return str(next(m["state"] for m in board["members"] if m["user_id"] == user_id))

        async with (
            ApiClient(server.url, transport=unplug) as ava_client,
            ApiClient(server.url) as ben_client,
            ApiClient(server.url) as sup_client,
        ):
            apps = {}
            engines = {}
            for name, client in (
                ("ava.lindqvist", ava_client),
                ("ben.okafor", ben_client),
                ("supervisor", sup_client),
            ):
                login = await client.login(name, password)
                engines[name] = SyncEngine(caches[name], client, poll_interval=600)
                apps[name] = AssistantApp(caches[name], sync=engines[name], user=login.user)
            ava_app, ben_app, sup_app = apps.values()
            async with (
                ava_app.run_test(size=SIZE) as ava,
                ben_app.run_test(size=SIZE) as ben,
                sup_app.run_test(size=SIZE) as sup,
            ):
                pilots = [ava, ben, sup]
                ava_ws, ben_ws = ava_app.workspace, ben_app.workspace
                assert ava_ws is not None and ben_ws is not None
                board = sup_app.screen
                assert isinstance(board, SuperviseScreen)
                await until(pilots, lambda: ava_ws.queue.total > 4, "Ava's queue")
                await until(pilots, lambda: ben_ws.queue.total > 0, "Ben's queue")
                await until(pilots, lambda: board.loads > 0, "the board")
                await until(
                    pilots, lambda: engines["supervisor"].status.tasks > 0, "the boss's cache"
                )

                def select_member(user_id: str) -> None:
                    ids = [m.user_id for m in board.shown]
                    board.query_one("#team-board").move_cursor(row=ids.index(user_id))  # type: ignore[attr-defined]

                # --- Forced state: refused while Ava documents a call -------------------
                await ava.press("enter")  # open her first task: the lease, the mirror
                await until(pilots, lambda: ava_ws.context is not None, "her task open")
                await ava.press("f3")  # on a call
                first = ava_ws.context.task.id if ava_ws.context else None
                assert first is not None
                await until(
                    pilots,
                    lambda: (
                        mirror(ava_id)["state"]["task_id"] == first
                        and presence(ava_id) == "on-call"
                    ),
                    "Ava on a call with her task open, on the server",
                )

                async def force(state: str) -> None:
                    await until(
                        pilots,
                        lambda: any(m.user_id == ava_id for m in board.shown),
                        "Ava on the board",
                    )
                    select_member(ava_id)
                    await sup.press("t")
                    await until(
                        pilots, lambda: isinstance(sup_app.screen, StateScreen), "state dialog"
                    )
                    options = sup_app.screen.query_one("#state-options", OptionList)
                    options.highlighted = list(StateScreen.STATES).index(state)
                    await sup.press("enter")
                    await until(pilots, lambda: sup_app.screen is board, "back on the board")

                await force("break")
                await until(
                    pilots,
                    lambda: "documenting a call" in (board.error or ""),
                    "the refusal on the board",
                )
                assert presence(ava_id) == "on-call"

                # --- Two tasks move while both are online -------------------------------
                mine = [r.task_id for r in ava_ws.queue.rows if r.task_id != first]
                moved_live = mine[:2]

                async def reassign(task_ids: list[str], to_user_id: str) -> None:
                    select_member(ava_id)
                    await sup.press("r")
                    await until(
                        pilots, lambda: isinstance(sup_app.screen, ReassignScreen), "reassign"
                    )
                    dialog = sup_app.screen
                    picks = dialog.query_one("#reassign-tasks", SelectionList)
                    await until(
                        pilots,
                        lambda: all(
                            any(
                                picks.get_option_at_index(i).value == t
                                for i in range(picks.option_count)
                            )
                            for t in task_ids
                        ),
                        "her tasks in the dialog (from the boss's cache)",
                    )
                    for task_id in task_ids:
                        picks.select(task_id)
                    to = dialog.query_one("#reassign-to", OptionList)
                    to.focus()
                    to.highlighted = next(
                        i
                        for i in range(to.option_count)
                        if to.get_option_at_index(i).id == to_user_id
                    )
                    await sup.press("enter")
                    await until(pilots, lambda: sup_app.screen is board, "dialog closed")

                reads = (ava_ws.full_reads, ben_ws.full_reads)
                await reassign(moved_live, ben_id)
                await until(
                    pilots,
                    lambda: all(ben_ws.queue.has(t) for t in moved_live),
                    "the two rows arriving in Ben's queue",
                )
                await until(
                    pilots,
                    lambda: not any(ava_ws.queue.has(t) for t in moved_live),
                    "the two rows leaving Ava's queue",
                )
                assert (ava_ws.full_reads, ben_ws.full_reads) == reads  # patched, not re-read
                assert all(task(t)["owner_id"] == ben_id for t in moved_live)

                # --- An attempt saved while unplugged, then its task is given away ----
                unplug.offline = True
                attempts_before = task(first)["attempts"]
                await ava.press("n", "ctrl+s")  # no-answer, saved: it waits in her outbox
                await until(
                    pilots,
                    lambda: any(
                        e.task_id == first and e.kind == "attempt"
                        for e in caches["ava.lindqvist"].outbox_entries()
                    ),
                    "the attempt in Ava's outbox",
                )
                await reassign([first], ben_id)
                await until(pilots, lambda: ben_ws.queue.has(first), "her task in Ben's queue")
                assert ava_ws.queue.has(first)  # unplugged: she cannot know yet
                assert task(first)["attempts"] == attempts_before

                unplug.offline = False
                engines["ava.lindqvist"].kick()
                await until(
                    pilots,
                    lambda: task(first)["attempts"] == attempts_before + 1,
                    "her attempt delivered as a fact",
                )
                assert attempts_by(first, ava_id) == 1
                await until(
                    pilots, lambda: not ava_ws.queue.has(first), "the task leaving her queue"
                )
                await until(
                    pilots,
                    lambda: engines["ava.lindqvist"].status.outbox_depth == 0,
                    "her outbox empty",
                )
                assert task(first)["owner_id"] == ben_id

                # --- Forced state allowed once she is not documenting (locked) ---------
                await ava.press("ctrl+l")
                await until(pilots, lambda: mirror(ava_id)["status"] == "locked", "locked")
                board.error = None
                await force("break")
                await until(pilots, lambda: presence(ava_id) == "break", "Ava set to break")
                await until(
                    pilots,
                    lambda: any(
                        m.user_id == ava_id and str(m.state) == "break" for m in board.shown
                    ),
                    "the board showing her on a break",
                )
                assert "documenting" not in (board.error or "")
    for cache in caches.values():
        cache.close()
