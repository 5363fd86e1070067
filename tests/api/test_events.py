"""`GET /v1/events` against a real `assistant-api serve` (SQLite, and PostgreSQL).

Each write here goes through the real server; the streams are real SSE clients
(`tests.support.sse`). Absence is proved without waiting on the clock: after the
write under test, each silent stream's own user makes a write that concerns only
them, and the first event that stream receives must be that one (records reach
every stream in commit order).
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from central_api import models
from tests.api.conftest import ApiHarness, served
from tests.api.work_support import TaskPicker, attempt_body, post_attempt, user_id
from tests.support.postgres import PostgresServer
from tests.support.seeded import PostgresTemplate
from tests.support.server import ApiServer
from tests.support.sse import StreamReader, StreamRefused

# Small numbers so the limits are reachable in a test; a fast heartbeat so a
# logout or an expired token is noticed quickly.
LIVE_ENV = {
    "ASSISTANT_API_EVENTS_HEARTBEAT_SECONDS": "1",
    "ASSISTANT_API_EVENTS_BUFFER_SIZE": "16",
    "ASSISTANT_API_TRIGGER_INTERVAL": "0",
}
HUDSON, FRONT_RANGE = 0, 1


@pytest.fixture(
    scope="module", params=["uvicorn", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, demo_password: str
) -> Iterator[ApiHarness]:
    """The real server with the live settings above (the module's own, not the shared `api`)."""
    with served(request, tmp_path_factory, demo_password, LIVE_ENV) as harness:
        yield harness


def missed_call(api: ApiHarness, practice: int) -> str:
    """Post a missed call from an unknown (synthetic) number; the new task's id."""
    key = api.practice(practice)["webhook_key"]
    n = uuid.uuid4().int
    phone = f"+1201{200 + n % 800}{(n // 800) % 10_000:04d}"  # a real-looking NANP number
    with api.client(headers={"X-Practice-Key": key}) as c:
        response = c.post(
            "/v1/triggers/missed-call",
            json={"caller_phone": phone, "called_at": datetime.now(UTC).isoformat()},
        )
    assert response.status_code == 201, response.text
    return str(response.json()["task_id"])


def owner_of(api: ApiHarness, task_id: str) -> str | None:
    with api.session() as s:
        return s.scalar(select(models.Task.owner_id).where(models.Task.id == task_id))


def own_write(api: ApiHarness, username: str, picker: TaskPicker) -> str:
    """A write that concerns only `username` (an attempt on one of their tasks)."""
    task = picker()
    with api.signed_in(username) as c:
        response = post_attempt(c, attempt_body(task))
    assert response.status_code == 201, response.text
    return task.id


def has_feed_for(task_id: str) -> Any:
    return lambda r: any(e.event == "feed" and task_id in e.data["task_ids"] for e in r.events)


@pytest.fixture(scope="module")
def pickers(api: ApiHarness) -> dict[str, TaskPicker]:
    return {name: TaskPicker(api, name) for name in ("ben.okafor", "dev.nakamura", "cora.vasquez")}


# --- auth and limits ------------------------------------------------------------


def test_no_token_or_a_bad_one_is_a_401_before_the_stream_opens(api: ApiHarness) -> None:
    with api.client() as c:
        missing = c.get("/v1/events")
        forged = c.get("/v1/events", headers={"Authorization": "Bearer not-a-token"})
    for response in (missing, forged):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("application/json")
        assert response.json()["error"]["code"] == "unauthenticated"


def test_a_sixth_stream_of_one_user_is_a_429(api: ApiHarness) -> None:
    opened = [api.stream("supervisor.fr") for _ in range(5)]
    try:
        with pytest.raises(StreamRefused) as refused:
            api.stream("supervisor.fr")
        assert refused.value.status == 429
        assert int(refused.value.headers["retry-after"]) > 0
        assert '"too-many-streams"' in refused.value.body
        # Another user is not limited by this one's streams.
        with api.stream("admin") as other:
            assert other.wait_for(lambda r: r.comments >= 1)
    finally:
        for reader in opened:
            reader.close()
    # Closed streams free their slots.
    with api.client() as c:
        assert c.get("/v1/health").status_code == 200
    deadline_ok = False
    for _ in range(50):
        try:
            api.stream("supervisor.fr").close()
            deadline_ok = True
            break
        except StreamRefused as exc:  # the server has not noticed the closes yet
            assert exc.status == 429
            with api.client() as c:
                c.get("/v1/health")
    assert deadline_ok


# --- who hears what ---------------------------------------------------------------


def test_a_missed_call_reaches_its_owner_and_supervisor_and_nobody_else(
    api: ApiHarness, pickers: dict[str, TaskPicker]
) -> None:
    # Only Ava is available in Hudson, so the new task is hers.
    for name, state in (
        ("ava.lindqvist", "available"),
        ("ben.okafor", "break"),
        ("cora.vasquez", "break"),
        ("demo", "break"),
    ):
        with api.signed_in(name) as c:
            assert c.put("/v1/presence", json={"state": state}).status_code == 200
    with (
        api.stream("ava.lindqvist") as ava,
        api.stream("ben.okafor") as ben,
        api.stream("dev.nakamura") as dev,
        api.stream("supervisor") as sup,
        api.stream("supervisor.fr") as sup_fr,
    ):
        task_id = missed_call(api, HUDSON)
        assert owner_of(api, task_id) == user_id(api, "ava.lindqvist")
        assert ava.wait_for(has_feed_for(task_id))
        assert ava.wait_for(lambda r: bool(r.named("assignment")))
        assert ava.named("assignment")[0].data == {"task_ids": [task_id]}
        assert sup.wait_for(has_feed_for(task_id))
        # Silent streams: their first event is their own later write.
        ben_task = own_write(api, "ben.okafor", pickers["ben.okafor"])
        assert ben.wait_for(lambda r: bool(r.events))
        assert ben.snapshot()[0].event == "feed"
        assert ben.snapshot()[0].data == {"task_ids": [ben_task]}
        dev_task = own_write(api, "dev.nakamura", pickers["dev.nakamura"])
        for reader in (dev, sup_fr):
            assert reader.wait_for(lambda r: bool(r.events))
            assert reader.snapshot()[0].event == "feed"
            assert reader.snapshot()[0].data == {"task_ids": [dev_task]}


def test_presence_is_a_team_event_for_the_practices_supervisors(
    api: ApiHarness, pickers: dict[str, TaskPicker]
) -> None:
    with (
        api.stream("supervisor") as sup,
        api.stream("supervisor.fr") as sup_fr,
        api.stream("ben.okafor") as ben,
        api.stream("manager") as manager,
    ):
        with api.signed_in("cora.vasquez") as c:
            assert c.put("/v1/presence", json={"state": "on-call"}).status_code == 200
        cora = user_id(api, "cora.vasquez")
        hudson = api.practice(HUDSON)["id"]
        assert sup.wait_for(lambda r: bool(r.named("team")))
        assert sup.named("team")[0].data == {
            "user_id": cora,
            "practice_id": hudson,
            "state": "on-call",
        }
        # Front Range's supervisor and a fellow assistant hear nothing of it.
        dev_task = own_write(api, "dev.nakamura", pickers["dev.nakamura"])
        assert sup_fr.wait_for(lambda r: bool(r.events))
        assert [e.event for e in sup_fr.snapshot()][:1] == ["feed"]
        assert sup_fr.snapshot()[0].data == {"task_ids": [dev_task]}
        ben_task = own_write(api, "ben.okafor", pickers["ben.okafor"])
        assert ben.wait_for(lambda r: bool(r.events))
        assert ben.snapshot()[0].data == {"task_ids": [ben_task]}
        # A manager hears the team, never a task change: after the two writes above,
        # the next presence change is its second event.
        with api.signed_in("cora.vasquez") as c:
            assert c.put("/v1/presence", json={"state": "available"}).status_code == 200
        assert manager.wait_for(lambda r: len(r.events) >= 2)
        assert [e.event for e in manager.snapshot()] == ["team", "team"]


def test_an_escalation_reaches_the_inbox_of_its_practice(
    api: ApiHarness, pickers: dict[str, TaskPicker]
) -> None:
    task = pickers["cora.vasquez"]()
    with api.stream("supervisor") as sup, api.stream("cora.vasquez") as cora:
        body = {
            "id": str(uuid.uuid4()),
            "task_id": task.id,
            "route": "billing",
            "reason": "billing question",
        }
        with api.signed_in("cora.vasquez") as c:
            response = c.post("/v1/escalations", json=body, headers={"Idempotency-Key": body["id"]})
        assert response.status_code == 201, response.text
        assert sup.wait_for(lambda r: bool(r.named("escalation")))
        event = sup.named("escalation")[0].data
        assert event == {
            "escalation_id": body["id"],
            "practice_id": api.practice(HUDSON)["id"],
            "route": "billing",
            "status": "open",
        }
        assert cora.wait_for(has_feed_for(task.id))
        assert not cora.named("escalation")  # the inbox is the supervisors'
        with api.signed_in("supervisor") as c:
            ack = c.post(f"/v1/escalations/{body['id']}/acknowledge")
        assert ack.status_code == 200
        assert sup.wait_for(
            lambda r: any(e.data["status"] == "acknowledged" for e in r.named("escalation"))
        )
        # The owner's feed carries the escalation too: one more feed for Cora.
        assert cora.wait_for(lambda r: len(r.named("feed")) >= 2)


# --- replay, overflow, logout --------------------------------------------------------


def test_reconnecting_with_last_event_id_misses_nothing_buffered(api: ApiHarness) -> None:
    with api.stream("supervisor") as first:
        task_a = missed_call(api, HUDSON)
        assert first.wait_for(has_feed_for(task_a))
        last_id = first.snapshot()[-1].id
    # Written while nobody of this user was listening.
    missed = [missed_call(api, HUDSON), missed_call(api, FRONT_RANGE)]
    with api.stream("supervisor", last_event_id=last_id) as again:
        for task_id in missed:
            assert again.wait_for(has_feed_for(task_id))
        assert not again.named("resync")
        assert all(task_a not in e.data.get("task_ids", []) for e in again.snapshot())
    with api.stream("supervisor", last_event_id="unknown.0") as lost:
        assert lost.wait_for(lambda r: bool(r.events))
        assert lost.snapshot()[0].event == "resync"


def test_a_subscriber_that_stops_reading_never_slows_the_server(api: ApiHarness) -> None:
    """A raw socket with a tiny receive window reads nothing while writes go on.

    Every write is answered while the stream is stuck, and when the reader comes
    back it gets every event or a `resync` (the kernel's socket buffers absorb a
    few hundred KiB before the broker's own buffer is the one that fills; the
    overflow itself is shown on the broker in tests/api/test_broker.py).
    """
    host, port = api.url.removeprefix("http://").split(":")
    raw = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
    raw.connect((host, int(port)))
    token = api.token("admin")
    raw.sendall(
        (
            f"GET /v1/events HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n"
            "Accept: text/event-stream\r\n\r\n"
        ).encode()
    )
    flips = 300
    try:
        answered = 0
        with api.signed_in("cora.vasquez") as c:
            # Presence flips: each is one `team` event for the admin's stream.
            for n in range(flips):
                state = "available" if n % 2 else "break"
                assert c.put("/v1/presence", json={"state": state}).status_code == 200
                answered += 1
            with api.client() as other:
                assert other.get("/v1/health").status_code == 200
        assert answered == flips
        raw.settimeout(10)
        received = b""
        while received.count(b"event: team") < flips and b"event: resync" not in received:
            chunk = raw.recv(65536)
            assert chunk, "the server closed the stream"
            received += chunk
        assert received.count(b"event: team") >= flips or b"event: resync" in received
    finally:
        raw.close()


def test_logout_ends_the_stream(api: ApiHarness) -> None:
    token = api.login("ben.okafor")
    with StreamReader(api.url, token) as reader:
        assert reader.wait_for(lambda r: r.comments >= 1)
        with api.client(headers={"Authorization": f"Bearer {token}"}) as c:
            assert c.post("/v1/auth/logout").status_code == 204
        assert reader.wait_for(lambda r: r.ended)
        with pytest.raises(StreamRefused) as refused:
            StreamReader(api.url, token)
        assert refused.value.status == 401


# --- no PHI -------------------------------------------------------------------------


def test_no_event_carries_a_seeded_name_or_phone(
    api: ApiHarness, pickers: dict[str, TaskPicker]
) -> None:
    with api.session() as s:
        patients = s.execute(
            select(models.Patient.given_name, models.Patient.family_name, models.Patient.phone)
        ).all()
        staff = s.scalars(select(models.User.display_name)).all()
    needles = {v for row in patients for v in row if v and len(v) >= 3} | set(staff)
    assert needles
    with api.stream("admin") as admin, api.stream("cora.vasquez") as cora:
        task = pickers["cora.vasquez"]()
        with api.signed_in("cora.vasquez") as c:
            assert post_attempt(c, attempt_body(task)).status_code == 201
            assert c.put("/v1/presence", json={"state": "wrap-up"}).status_code == 200
        new_task = missed_call(api, HUDSON)
        assert admin.wait_for(has_feed_for(new_task))
        assert cora.wait_for(has_feed_for(task.id))
        text = "\n".join(admin.lines + cora.lines)
    assert "task_ids" in text
    leaked = sorted(n for n in needles if n in text)
    assert leaked == []


# --- two processes on one PostgreSQL ----------------------------------------------------


@pytest.mark.postgres
def test_two_processes_on_one_postgres_behave_as_one(
    postgres_template: PostgresTemplate, postgres_server: PostgresServer, demo_password: str
) -> None:
    db_url = postgres_template.copy()
    with ApiServer(db_url, env=LIVE_ENV) as a, ApiServer(db_url, env=LIVE_ENV) as b:
        on_a = ApiHarness("postgres", db_url, postgres_template.summary, demo_password, server=a)
        on_b = ApiHarness("postgres", db_url, postgres_template.summary, demo_password, server=b)
        token = on_b.login("supervisor")
        with StreamReader(b.url, token) as reader:
            task_id = missed_call(on_a, HUDSON)  # posted to process A
            assert reader.wait_for(has_feed_for(task_id))
            last_id = reader.snapshot()[-1].id
        # Reconnecting to the other process with that id replays from there.
        later = missed_call(on_b, FRONT_RANGE)
        with StreamReader(a.url, token, last_event_id=last_id) as again:
            assert again.wait_for(has_feed_for(later))
            assert not again.named("resync")
        on_a.close()
        on_b.close()
