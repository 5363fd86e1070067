"""The supervisor's mode against a real central API (uvicorn, SQLite) on loopback.

The supervisor runs the real App, ApiClient, SyncEngine (with the live stream) and
SQLCipher cache. The assistant side is a second signed-in client of the same
server that publishes its workspace mirror and agent state the way the workspace
does (`POST /v1/sessions/me/events`, `PUT /v1/presence`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.pilot import until
from tests.support.server import ApiServer
from tests.tui.conftest import LiveApi
from tests.tui.test_work_a_task import SIZE, settle


def _assistant(server: ApiServer, password: str, username: str) -> httpx.Client:
    with httpx.Client(base_url=server.url) as c:
        token = c.post("/v1/auth/login", json={"username": username, "password": password})
    assert token.status_code == 200
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token.json()['token']}"}
    )


@pytest.mark.slow
async def test_board_shadow_whisper_and_inbox(
    live_api: LiveApi, tmp_path: Path, passphrase: str
) -> None:
    from assistant_tui.app import AssistantApp
    from assistant_tui.modes.supervise import SuperviseScreen
    from assistant_tui.screens.shadow import ShadowScreen
    from assistant_tui.screens.supervision import InboxScreen
    from assistant_tui.widgets.script import ScriptPane
    from backend_client import ApiClient
    from local_cache import LocalCache, SyncEngine
    from local_cache.keys import MemoryKeyring

    server, password = live_api.server, live_api.password
    ava = live_api.user("ava.lindqvist")
    cache = LocalCache.open(
        tmp_path / "sup", "supervisor", passphrase, keyring_backend=MemoryKeyring()
    )
    with _assistant(server, password, "ava.lindqvist") as assistant:
        async with ApiClient(server.url) as client:
            login = await client.login("supervisor", password)
            engine = SyncEngine(cache, client, poll_interval=60)
            app = AssistantApp(cache, sync=engine, user=login.user)
            async with app.run_test(size=SIZE) as pilot:
                await settle(pilot)
                board = app.screen
                assert isinstance(board, SuperviseScreen)
                await until(pilot, lambda: board.loads > 0, "the first board")
                names = {m.display_name for m in board.shown}
                assert "Ava Lindqvist" in names and len(names) == 8
                await until(pilot, lambda: engine.status.tasks > 0, "the supervisor's cache")

                # A state change reaches the board live (team event → re-read).
                loads = board.loads
                assert assistant.put("/v1/presence", json={"state": "on-call"}).status_code == 200
                await until(
                    pilot,
                    lambda: (
                        any(
                            m.user_id == ava["id"] and str(m.state) == "on-call"
                            for m in board.shown
                        )
                        and board.loads > loads
                    ),
                    "Ava on a call on the board",
                )

                # Sorting and filtering by key.
                await pilot.press("f", "f")  # everyone → signed in → on a call
                await settle(pilot)
                assert [m.user_id for m in board.shown] == [ava["id"]]

                # Shadow her: Enter on her row.
                await pilot.press("enter")
                await until(pilot, lambda: isinstance(app.screen, ShadowScreen), "the shadow view")
                shadow = app.screen
                assert isinstance(shadow, ShadowScreen)
                await until(pilot, lambda: shadow.snapshot is not None, "the first snapshot")
                own = [
                    r.task_id
                    for r in cache.queue()
                    if (t := cache.task(r.task_id)) is not None and t.owner_id == ava["id"]
                ]
                task_id = own[0]
                published = assistant.post(
                    "/v1/sessions/me/events",
                    json={
                        "events": [
                            {"type": "task-opened", "task_id": task_id},
                            {"type": "identity-verified", "verified": True},
                            {"type": "script-step", "step": 2},
                            {"type": "outcome", "code": "no-answer"},
                            {"type": "form", "notes": "left a callback number"},
                        ]
                    },
                )
                assert published.status_code == 200
                seq = published.json()["seq"]
                await until(pilot, lambda: shadow.shown_seq >= seq, "the mirror on screen")
                script = shadow.query_one("#shadow-script", ScriptPane)
                assert script.step == 2 and script.script is not None
                outcome = str(shadow.query_one("#shadow-outcome").render())
                assert "no-answer" in outcome and "left a callback number" in outcome
                app.save_screenshot(str(tmp_path / "shadow.svg"))

                # Whisper from the shadow view; she sees it; she acknowledges.
                await pilot.press("w", *"Offer the Thursday slot", "enter")
                await until(
                    pilot,
                    lambda: bool(assistant.get("/v1/whispers").json()),
                    "the whisper at the assistant",
                )
                [whisper] = assistant.get("/v1/whispers").json()
                assert whisper["text"] == "Offer the Thursday slot"
                assert (
                    assistant.post(f"/v1/whispers/{whisper['id']}/acknowledge").status_code == 200
                )

                # She is told she is observed (the practice tells by default).
                observers = assistant.get("/v1/sessions/me/observers").json()["observers"]
                assert [o["display_name"] for o in observers] == ["Sam Supervisor"]
                await pilot.press("escape")
                await until(pilot, lambda: app.screen is board, "back on the board")
                await until(
                    pilot,
                    lambda: assistant.get("/v1/sessions/me/observers").json()["observers"] == [],
                    "the shadow session to stop",
                )

                # The inbox: raise one, acknowledge it from the screen.
                esc = assistant.post(
                    "/v1/escalations",
                    json={
                        "id": "0b6a3b9e-7f55-4e0d-9d8e-2f3c4b5a6d7e",
                        "task_id": own[1],
                        "route": "billing",
                        "reason": "a bill",
                    },
                    headers={"Idempotency-Key": "0b6a3b9e-7f55-4e0d-9d8e-2f3c4b5a6d7e"},
                )
                assert esc.status_code == 201, esc.text
                await pilot.press("i")
                await until(pilot, lambda: isinstance(app.screen, InboxScreen), "the inbox")
                inbox = app.screen
                assert isinstance(inbox, InboxScreen)
                await until(pilot, lambda: inbox.loads > 0, "the inbox page")
                ids = [i.id for i in inbox.items]
                assert esc.json()["id"] in ids
                table = inbox.query_one("#inbox")
                table.move_cursor(row=ids.index(esc.json()["id"]))  # type: ignore[attr-defined]
                await pilot.press("a")
                await until(
                    pilot,
                    lambda: any(
                        i.id == esc.json()["id"] and i.status == "acknowledged" for i in inbox.items
                    ),
                    "acknowledged in the inbox",
                )
                app.save_screenshot(str(tmp_path / "inbox.svg"))
                await pilot.press("escape")
                await settle(pilot)
                app.save_screenshot(str(tmp_path / "board.svg"))
    cache.close()


@pytest.mark.slow
async def test_the_workspace_mirrors_takes_whispers_and_shows_its_observers(
    live_api: LiveApi, tmp_path: Path, passphrase: str
) -> None:
    from assistant_tui.app import AssistantApp
    from assistant_tui.modes.workspace_live import WhisperStrip
    from backend_client import ApiClient
    from local_cache import LocalCache, SyncEngine
    from local_cache.keys import MemoryKeyring

    server, password = live_api.server, live_api.password
    ben = live_api.user("ben.okafor")
    cache = LocalCache.open(
        tmp_path / "ws", "ben.okafor", passphrase, keyring_backend=MemoryKeyring()
    )
    with _assistant(server, password, "supervisor") as supervisor:

        def snap() -> dict[str, Any]:
            response = supervisor.get(f"/v1/sessions/{ben['id']}")
            assert response.status_code == 200
            body: dict[str, Any] = response.json()
            return body

        async with ApiClient(server.url) as client:
            login = await client.login("ben.okafor", password)
            engine = SyncEngine(cache, client, poll_interval=60)
            app = AssistantApp(cache, sync=engine, user=login.user)
            async with app.run_test(size=SIZE) as pilot:
                workspace = app.workspace
                assert workspace is not None
                await until(pilot, lambda: workspace.context is not None, "the first task")
                await pilot.press("enter")  # open the highlighted task: focus on the script
                await settle(pilot)
                task_id = workspace.context.task.id  # type: ignore[union-attr]
                # The mirror: the open task, then the step as the assistant moves on.
                await until(pilot, lambda: snap()["state"]["task_id"] == task_id, "task mirrored")
                await pilot.press("space")
                await until(pilot, lambda: snap()["state"]["step"] == 1, "step mirrored")
                await pilot.press("n")  # the no-answer outcome key
                await until(pilot, lambda: snap()["state"]["outcome"] == "no-answer", "outcome")

                # A whisper shows in its own strip; Ctrl+R acknowledges it.
                sent = supervisor.post(
                    "/v1/whispers", json={"to_user_id": ben["id"], "text": "Try the mobile"}
                )
                assert sent.status_code == 201
                strip = workspace.query_one(WhisperStrip)
                await until(pilot, lambda: bool(strip.whispers), "the whisper strip")
                assert "Try the mobile" in str(strip.render()) and strip.display
                assert "Try the mobile" not in workspace.form.notes
                await pilot.press("ctrl+r")
                await until(pilot, lambda: not strip.whispers, "the strip to clear")
                read = supervisor.get("/v1/whispers", params={"sent": "true", "status": "read"})
                assert sent.json()["id"] in {w["id"] for w in read.json()}

                # Shadowed: the status bar says by whom (the practice tells by default).
                assert supervisor.post(f"/v1/sessions/{ben['id']}/shadow").status_code == 201
                status = workspace.status
                await until(pilot, lambda: status.observed_by == "Sam Supervisor", "observed by")
                assert "observed by Sam Supervisor" in str(status.render())
                assert supervisor.delete(f"/v1/sessions/{ben['id']}/shadow").status_code == 204
                await until(pilot, lambda: status.observed_by == "", "no longer observed")

                # Locked: the mirror says so and carries no task.
                await pilot.press("ctrl+l")
                await until(pilot, lambda: snap()["status"] == "locked", "locked mirrored")
                assert snap()["state"]["task_id"] is None
    cache.close()
