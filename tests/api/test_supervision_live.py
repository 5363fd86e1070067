"""Supervision over the live stream (`GET /v1/events`), against a real `assistant-api serve`.

- a shadowed assistant's mirror batch reaches exactly their observers as a `session`
  nudge `{user_id, seq}` (no mirror content on the stream), the observer fetches;
- a whisper reaches its recipient as a `whisper` event, its reading reaches the sender;
- board-relevant changes (shadow start, forced state) are `team` events;
- on PostgreSQL with two API processes, an assistant publishing to one and a
  supervisor shadowing through the other.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.api.conftest import ApiHarness, served
from tests.api.work_support import TaskPicker, user_id
from tests.support.postgres import PostgresServer
from tests.support.seeded import PostgresTemplate
from tests.support.server import ApiServer
from tests.support.sse import Received, StreamReader

LIVE_ENV = {
    "ASSISTANT_API_EVENTS_HEARTBEAT_SECONDS": "1",
    "ASSISTANT_API_TRIGGER_INTERVAL": "0",
}
SUPERVISOR = "supervisor"  # hudson and frontrange


@pytest.fixture(
    scope="module", params=["uvicorn", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, demo_password: str
) -> Iterator[ApiHarness]:
    """The real server with the live settings above (the module's own, not the shared `api`)."""
    with served(request, tmp_path_factory, demo_password, LIVE_ENV) as harness:
        yield harness


def publish(c: httpx.Client, *events: dict[str, Any]) -> int:
    response = c.post("/v1/sessions/me/events", json={"events": list(events)})
    assert response.status_code == 200, response.text
    seq: int = response.json()["seq"]
    return seq


def team_for(uid: str) -> Any:
    return lambda r: any(e.event == "team" and e.data["user_id"] == uid for e in r.events)


def session_seq(uid: str, seq: int) -> Any:
    return lambda r: any(
        e.event == "session" and e.data == {"user_id": uid, "seq": seq} for e in r.events
    )


def names(events: list[Received]) -> list[str]:
    return [e.event for e in events]


def test_observers_are_nudged_and_fetch(api: ApiHarness) -> None:
    assistant = "ava.lindqvist"
    uid = user_id(api, assistant)
    task = TaskPicker(api, assistant)()
    with (
        api.signed_in(assistant) as me,
        api.signed_in(SUPERVISOR) as sup,
        StreamReader(api.url, api.token(SUPERVISOR)) as watching,
        StreamReader(api.url, api.token("admin")) as not_watching,
    ):
        # Nobody shadows yet: a batch (the board moved: task opened) is only a `team` event.
        first = publish(me, {"type": "task-opened", "task_id": task.id})
        assert watching.wait_for(team_for(uid))
        assert "session" not in names(watching.snapshot())
        # Shadow: its start is a `team` event (the observers column) and then each
        # batch is a `session` nudge to the observer only.
        before = len(watching.named("team"))
        started = sup.post(f"/v1/sessions/{uid}/shadow")
        assert started.status_code == 201
        assert started.json()["snapshot"]["seq"] == first
        assert watching.wait_for(lambda r: len(r.named("team")) > before)
        seq = publish(me, {"type": "form", "notes": "prefers mornings"})
        assert watching.wait_for(session_seq(uid, seq))
        snap = sup.get(f"/v1/sessions/{uid}").json()
        assert snap["seq"] >= seq and snap["state"]["form"]["notes"] == "prefers mornings"
        # The stream never carried mirror content.
        assert "prefers mornings" not in "\n".join(watching.lines)
        # The admin (not shadowing) got the team events but no nudge: their first event
        # after the form batch is the next board change, and no `session` came before it.
        publish(me, {"type": "locked"})
        assert not_watching.wait_for(lambda r: len(r.named("team")) >= 3)
        assert "session" not in names(not_watching.snapshot())
        assert sup.delete(f"/v1/sessions/{uid}/shadow").status_code == 204
        publish(me, {"type": "unlocked"})


def test_a_whisper_and_its_reading_go_live(api: ApiHarness) -> None:
    assistant = "ben.okafor"
    uid = user_id(api, assistant)
    with (
        api.signed_in(assistant) as me,
        api.signed_in(SUPERVISOR) as sup,
        StreamReader(api.url, api.token(assistant)) as inbox,
        StreamReader(api.url, api.token(SUPERVISOR)) as board,
    ):
        sent = sup.post("/v1/whispers", json={"to_user_id": uid, "text": "Offer the 9am slot"})
        assert sent.status_code == 201
        wid = sent.json()["id"]
        assert inbox.wait_for(
            lambda r: any(e.event == "whisper" and e.data == {"whisper_id": wid} for e in r.events)
        )
        assert "9am" not in "\n".join(inbox.lines)  # the text is fetched, never streamed
        assert not any(e.event == "whisper" for e in board.snapshot())
        assert me.post(f"/v1/whispers/{wid}/acknowledge").status_code == 200
        assert board.wait_for(
            lambda r: any(e.event == "whisper" and e.data == {"whisper_id": wid} for e in r.events)
        )


def test_a_forced_state_is_a_team_event(api: ApiHarness) -> None:
    assistant = "dev.nakamura"
    uid = user_id(api, assistant)
    with (
        api.signed_in(assistant) as me,
        api.signed_in(SUPERVISOR) as sup,
        StreamReader(api.url, api.token("supervisor.fr")) as board,
    ):
        assert me.put("/v1/presence", json={"state": "available"}).status_code == 200
        assert board.wait_for(
            lambda r: any(
                e.event == "team" and e.data["user_id"] == uid and e.data["state"] == "available"
                for e in r.events
            )
        )
        assert sup.put(f"/v1/team/{uid}/state", json={"state": "break"}).status_code == 200
        assert board.wait_for(
            lambda r: any(
                e.event == "team" and e.data["user_id"] == uid and e.data["state"] == "break"
                for e in r.events
            )
        )


@pytest.mark.postgres
def test_two_processes_an_assistant_on_one_a_supervisor_on_the_other(
    postgres_template: PostgresTemplate, postgres_server: PostgresServer, demo_password: str
) -> None:
    db_url = postgres_template.copy()
    with ApiServer(db_url, env=LIVE_ENV) as a, ApiServer(db_url, env=LIVE_ENV) as b:
        on_a = ApiHarness("postgres", db_url, postgres_template.summary, demo_password, server=a)
        on_b = ApiHarness("postgres", db_url, postgres_template.summary, demo_password, server=b)
        assistant = "demo"
        uid = user_id(on_a, assistant)
        task = TaskPicker(on_a, assistant)()
        sup_token = on_b.login(SUPERVISOR)
        try:
            with (
                on_a.as_user(assistant) as me,
                on_b.client(headers={"Authorization": f"Bearer {sup_token}"}) as sup,
                StreamReader(b.url, sup_token) as watching,
            ):
                assert publish(me, {"type": "task-opened", "task_id": task.id}) == 1
                started = sup.post(f"/v1/sessions/{uid}/shadow")  # through B
                assert started.status_code == 201
                snap = started.json()["snapshot"]
                assert snap["status"] == "active" and snap["state"]["task_id"] == task.id
                seq = publish(
                    me, {"type": "script-step", "step": 3}, {"type": "outcome", "code": "confirmed"}
                )
                assert watching.wait_for(session_seq(uid, seq))  # nudged on B
                state = sup.get(f"/v1/sessions/{uid}").json()["state"]  # read through B
                assert (state["step"], state["outcome"]) == (3, "confirmed")
                # The observer is known to A too (the assistant asks A who watches).
                mine = me.get("/v1/sessions/me/observers").json()
                assert [o["display_name"] for o in mine["observers"]] == ["Sam Supervisor"]
        finally:
            on_a.close()
            on_b.close()
