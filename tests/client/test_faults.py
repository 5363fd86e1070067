"""Lost answers: the request reached the server, the response never came back.

With the attempt's id as `Idempotency-Key`, retrying after a lost answer must
neither lose a write nor make a second one.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from backend_client import ApiClient, RetryPolicy, make_transport
from backend_client.errors import Offline
from followup_core.schemas import Health
from tests.client.faults import DropAfterSendTransport, OfflineSwitchTransport
from tests.client.stub_server import Recorder, StubServer

N = 300  # the 1,000-attempt run is against the real API (test_real_api.py)
# Short waits: the fault fires every third request, and the test is about
# correctness, not about how patient the backoff is.
QUICK = RetryPolicy(wait_initial=0.005, wait_max=0.05, wait_jitter=0.005)


async def test_drop_after_send_reaches_the_server_then_raises(
    stub: StubServer, recorder: Recorder
) -> None:
    transport = DropAfterSendTransport(make_transport(), drop_every=1)
    async with ApiClient(stub.url, transport=transport) as api:
        # A plain POST without a key is not repeated after a lost answer...
        with pytest.raises(Offline):
            await api.request("POST", "/limited-once")
    assert transport.dropped == 1
    assert len(recorder.seen("/limited-once")) == 1  # ...but the server did see it


async def test_idempotent_posts_through_dropped_answers_lose_and_duplicate_nothing(
    stub: StubServer, recorder: Recorder
) -> None:
    before_rows, _ = stub.count_items()
    transport = DropAfterSendTransport(make_transport(), drop_every=3)
    keys = [str(uuid.uuid4()) for _ in range(N)]
    async with ApiClient(stub.url, transport=transport, retry=QUICK) as api:
        semaphore = asyncio.Semaphore(8)

        async def post(key: str) -> int:
            async with semaphore:
                response = await api.request(
                    "POST", "/items", body=Health(status=key), headers={"Idempotency-Key": key}
                )
                return response.status_code

        statuses = await asyncio.gather(*(post(k) for k in keys))
    assert statuses == [201] * N
    assert transport.dropped >= N // 3  # the fault really fired
    rows, distinct = stub.count_items()
    assert rows - before_rows == N  # nothing lost
    assert distinct - before_rows == N and rows == distinct  # nothing duplicated
    assert len(recorder.seen("/items")) == N + transport.dropped


async def test_offline_switch_refuses_without_reaching_the_server(
    stub: StubServer, recorder: Recorder
) -> None:
    switch = OfflineSwitchTransport(make_transport())
    policy = RetryPolicy(budget=0.3, wait_initial=0.02, wait_max=0.05)
    async with ApiClient(stub.url, transport=switch, retry=policy) as api:
        switch.offline = True
        with pytest.raises(Offline):
            await api.health()
        assert switch.refused >= 2  # a connect failure is retried within the budget
        assert recorder.seen("/v1/health") == []
        switch.offline = False
        assert (await api.health()).status == "ok"
    assert len(recorder.seen("/v1/health")) == 1
