"""The escalation inbox screen against a real central API (uvicorn, SQLite) on loopback.

An assistant raises five escalations over the API; one of them is moved into the
past in the server's database file (raised two hours ago, its acknowledgement
target an hour ago), which is the only way to have an overdue one without
waiting out a route's target. The supervisor's real App then works the inbox
from the keyboard: pages of two (N, P), overdue only (O), one route at a time
(G), acknowledge (A) and resolve with a note (R); every change is read back
from the server.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.pilot import until
from tests.support.server import ApiServer
from tests.tui.conftest import LiveApi
from tests.tui.test_work_a_task import SIZE


def _client(server: ApiServer, password: str, username: str) -> httpx.Client:
    with httpx.Client(base_url=server.url) as c:
        token = c.post("/v1/auth/login", json={"username": username, "password": password})
    assert token.status_code == 200
    return httpx.Client(
        base_url=server.url, headers={"Authorization": f"Bearer {token.json()['token']}"}
    )


def _open_tasks_of(url: str, user_id: str, count: int) -> list[str]:
    from sqlalchemy import select

    from central_api import models
    from central_api.db import make_engine, make_session_factory

    engine = make_engine(url)
    try:
        with make_session_factory(engine)() as session:
            return list(
                session.scalars(
                    select(models.Task.id)
                    .where(models.Task.owner_id == user_id, models.Task.status == "ready")
                    .order_by(models.Task.id)
                    .limit(count)
                )
            )
    finally:
        engine.dispose()


def _make_overdue(url: str, escalation_id: str) -> None:
    """Raised two hours ago, acknowledgement due an hour ago (in the server's file)."""
    from central_api import models
    from central_api.db import make_engine, make_session_factory

    engine = make_engine(url)
    now = datetime.now(UTC)
    try:
        with make_session_factory(engine)() as session:
            esc = session.get(models.Escalation, escalation_id)
            assert esc is not None
            esc.raised_at = now - timedelta(hours=2)
            esc.ack_due_at = now - timedelta(hours=1)
            session.commit()
    finally:
        engine.dispose()


@pytest.mark.slow
async def test_the_inbox_pages_filters_acknowledges_and_resolves(
    live_api: LiveApi, tmp_path: Path, passphrase: str
) -> None:
    from assistant_tui.app import AssistantApp
    from assistant_tui.modes.supervise import SuperviseScreen
    from assistant_tui.screens.supervision import InboxScreen, ResolveScreen
    from backend_client import ApiClient
    from local_cache import LocalCache, SyncEngine
    from local_cache.keys import MemoryKeyring

    server, password = live_api.server, live_api.password
    url = f"sqlite:///{live_api.db_path}"
    ava = live_api.user("ava.lindqvist")
    tasks = _open_tasks_of(url, ava["id"], 5)
    assert len(tasks) == 5
    routes = ["clinical", "billing", "billing", "billing", "complaint"]
    raised: dict[str, str] = {}  # escalation id -> route
    with _client(server, password, "ava.lindqvist") as assistant:
        for task_id, route in zip(tasks, routes, strict=True):
            esc_id = str(uuid.uuid4())
            response = assistant.post(
                "/v1/escalations",
                json={"id": esc_id, "task_id": task_id, "route": route, "reason": "a test"},
                headers={"Idempotency-Key": esc_id},
            )
            assert response.status_code == 201, response.text
            raised[response.json()["id"]] = route
    overdue_id = next(i for i, r in raised.items() if r == "clinical")
    _make_overdue(url, overdue_id)

    cache = LocalCache.open(
        tmp_path / "sup", "supervisor", passphrase, keyring_backend=MemoryKeyring()
    )
    with _client(server, password, "supervisor") as boss:

        def server_status(esc_id: str) -> dict[str, Any]:
            rows = boss.get("/v1/escalations").json()
            row: dict[str, Any] = next(r for r in rows if r["id"] == esc_id)
            return row

        async with ApiClient(server.url) as client:
            login = await client.login("supervisor", password)
            engine = SyncEngine(cache, client, poll_interval=600)
            app = AssistantApp(cache, sync=engine, user=login.user)
            async with app.run_test(size=SIZE) as pilot:
                board = app.screen
                assert isinstance(board, SuperviseScreen)
                await until(pilot, lambda: board.loads > 0, "the board")
                api = board.api
                assert api is not None
                inbox = InboxScreen(api, page_size=2)
                app.push_screen(inbox)

                async def loaded(after: int, what: str) -> None:
                    await until(pilot, lambda: inbox.loads > after, what)

                await loaded(0, "page 1")
                assert len(inbox.items) == 2 and inbox.next_cursor is not None

                async def press(key: str, what: str) -> None:
                    loads = inbox.loads
                    await pilot.press(key)
                    await loaded(loads, what)

                async def walk() -> list[Any]:
                    """P, then N through every page; every item seen, in order."""
                    await press("p", "the first page")
                    assert inbox.page == 1
                    items = list(inbox.items)
                    while inbox.next_cursor is not None:
                        await press("n", f"page {inbox.page + 1}")
                        assert len(inbox.items) <= 2
                        items += inbox.items
                    return items

                async def page_with(esc_id: str) -> None:
                    await press("p", "the first page")
                    while esc_id not in [i.id for i in inbox.items]:
                        assert inbox.next_cursor is not None, f"{esc_id} on no page"
                        await press("n", "the next page")
                    row = [i.id for i in inbox.items].index(esc_id)
                    inbox.query_one("#inbox").move_cursor(row=row)  # type: ignore[attr-defined]

                # Every page, oldest acknowledgement due first, nothing twice.
                everything = await walk()
                assert inbox.page >= 3
                ids = [i.id for i in everything]
                assert set(raised) <= set(ids) and len(ids) == len(set(ids))
                dues = [i.ack_due_at for i in everything]
                assert dues == sorted(dues)
                late = next(i for i in everything if i.id == overdue_id)
                assert late.overdue and late.age_minutes >= 119
                assert not any(i.overdue for i in everything if i.id in raised and i is not late)
                await page_with(overdue_id)
                table = inbox.query_one("#inbox")
                row = [i.id for i in inbox.items].index(overdue_id)
                assert "OVERDUE" in str(table.get_row_at(row))  # type: ignore[attr-defined]

                # O: only the overdue (open past the route's acknowledgement target).
                await press("o", "overdue only")
                overdue = await walk()
                assert overdue_id in [i.id for i in overdue]
                assert all(i.overdue and i.status == "open" for i in overdue)
                await press("o", "all again")

                # G: one route at a time (clinical, urgent-symptom, complaint, billing…).
                for expected in ("clinical", "urgent-symptom", "complaint", "billing"):
                    await press("g", f"route {expected}")
                    assert inbox.route == expected
                    assert {str(i.route) for i in inbox.items} <= {expected}
                billing = [i for i, r in raised.items() if r == "billing"]
                shown = await walk()
                assert {str(i.route) for i in shown} == {"billing"}
                assert set(billing) <= {i.id for i in shown}

                # A acknowledges the highlighted one.
                target = billing[0]
                await page_with(target)
                loads = inbox.loads
                await pilot.press("a")
                await loaded(loads, "re-read after acknowledging")
                assert server_status(target)["status"] == "acknowledged"
                assert any(i.id == target and i.status == "acknowledged" for i in inbox.items)

                # R resolves it with a note: it leaves the active inbox.
                row = [i.id for i in inbox.items].index(target)
                inbox.query_one("#inbox").move_cursor(row=row)  # type: ignore[attr-defined]
                await pilot.press("r")
                await until(pilot, lambda: isinstance(app.screen, ResolveScreen), "the note")
                loads = inbox.loads
                await pilot.press(*"called billing back", "enter")
                await loaded(loads, "re-read after resolving")
                resolved = server_status(target)
                assert resolved["status"] == "resolved"
                assert resolved["resolution"] == "called billing back"
                assert target not in [i.id for i in inbox.items]
                assert inbox.error == "resolved"  # its message line, not a failure
    cache.close()
