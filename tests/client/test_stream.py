"""SSE: reconnect after the server hangs up, resuming with Last-Event-ID."""

from __future__ import annotations

import pytest

from backend_client import ApiClient, ReconnectPolicy
from backend_client.errors import Offline, Unauthorized
from tests.client.stub_server import Recorder, StubServer
from tests.support.ports import free_port

FAST = ReconnectPolicy(wait_initial=0.01, wait_max=0.05, wait_jitter=0.01)


async def test_stream_reconnects_with_last_event_id(stub: StubServer, recorder: Recorder) -> None:
    got = []
    async with ApiClient(stub.url, token="tok", reconnect=FAST) as api:
        async for event in api.stream("/events"):
            got.append(event)
            if len(got) == 5:
                break
    assert [e.id for e in got] == ["1", "2", "3", "4", "5"]
    assert [e.json()["n"] for e in got] == [1, 2, 3, 4, 5]
    assert {e.event for e in got} == {"tick"}
    connections = recorder.seen("/events")
    assert len(connections) == 3  # the server hangs up after every two events
    assert "last-event-id" not in connections[0].headers
    assert [c.headers.get("last-event-id") for c in connections[1:]] == ["2", "4"]
    assert all(c.headers["authorization"] == "Bearer tok" for c in connections)
    assert all(c.headers["accept"] == "text/event-stream" for c in connections)


async def test_stream_resumes_from_a_given_id(stub: StubServer, recorder: Recorder) -> None:
    async with ApiClient(stub.url, reconnect=FAST) as api:
        stream = api.stream("/events", last_event_id="41")
        first = await anext(stream)
        await stream.aclose()
    assert first.id == "42"
    assert recorder.seen("/events")[0].headers["last-event-id"] == "41"


async def test_keep_alives_and_empty_events_are_not_yielded(
    stub: StubServer, recorder: Recorder
) -> None:
    got = []
    async with ApiClient(stub.url, reconnect=FAST) as api:
        async for event in api.stream("/events-quiet"):
            got.append(event)
            if len(got) == 2:
                break
    assert [(e.data, e.id) for e in got] == [("first", "1"), ("second", "2")]
    assert len(recorder.seen("/events-quiet")) == 1


async def test_stream_waits_retry_after_on_503(stub: StubServer, recorder: Recorder) -> None:
    async with ApiClient(stub.url, reconnect=FAST) as api:
        stream = api.stream("/events-busy")
        event = await anext(stream)
        await stream.aclose()
    assert event.data == "hello"
    first, second = recorder.seen("/events-busy")
    assert second.at - first.at >= 1.0  # Retry-After: 1 beats the fast reconnect policy


async def test_stream_stops_on_401_without_reconnecting(
    stub: StubServer, recorder: Recorder
) -> None:
    async with ApiClient(stub.url, reconnect=FAST) as api:
        with pytest.raises(Unauthorized):
            async for _ in api.stream("/events-unauthorized"):
                pass
    assert len(recorder.seen("/events-unauthorized")) == 1


async def test_stream_gives_up_after_max_failures() -> None:
    policy = ReconnectPolicy(wait_initial=0.01, wait_max=0.02, wait_jitter=0.0, max_failures=3)
    async with ApiClient(f"http://127.0.0.1:{free_port()}", reconnect=policy) as api:
        with pytest.raises(Offline):
            async for _ in api.stream("/events"):
                pass


async def test_on_state_tells_each_open_and_close(stub: StubServer, recorder: Recorder) -> None:
    states: list[bool] = []

    async def on_state(connected: bool) -> None:  # awaited by the stream
        states.append(connected)

    got = []
    async with ApiClient(stub.url, token="tok", reconnect=FAST) as api:
        stream = api.stream("/events", on_state=on_state)
        async for event in stream:
            got.append(event)
            if len(got) == 5:
                break
        await stream.aclose()
    # Three connections (two events each, the third cut short by the consumer).
    assert states == [True, False, True, False, True, False]
    assert len(recorder.seen("/events")) == 3
