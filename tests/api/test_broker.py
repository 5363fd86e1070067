"""The broker and its records on their own: overflow, replay, limits, who sees what.

A real `Broker` on a real asyncio loop, fed by `publish_threadsafe` from another
thread, as a committing writer feeds it; nothing here needs a socket.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from central_api import models
from central_api.app import create_app
from central_api.core.config import Settings
from central_api.events import Broker, Record, TooManyStreams, Viewer, derive
from central_api.feed import log_task
from central_api.uow import UnitOfWork
from tests.support.seeded import SqliteTemplate

HUDSON, DENVER = "p-hudson", "p-denver"
ANA = Viewer("u-ana", "assistant", frozenset({HUDSON}))
SAM = Viewer("u-sam", "supervisor", frozenset({HUDSON}))
MIA = Viewer("u-mia", "manager", frozenset({HUDSON}))


def task_record(task_id: str, owner: str, practice: str = HUDSON) -> Record:
    return Record(feed=[(practice, task_id, [owner])])


def test_a_subscriber_that_does_not_read_gets_one_resync_and_never_blocks_a_writer() -> None:
    async def scenario() -> None:
        broker = Broker(buffer_size=4, ring_size=100, stream_limit=5)
        broker.start(asyncio.get_running_loop())
        stuck = broker.subscribe(SAM, None)
        done = threading.Event()

        def writer() -> None:  # a committing writer's thread
            for n in range(50):
                broker.publish_threadsafe(task_record(f"t{n}", ANA.user_id))
            done.set()

        thread = threading.Thread(target=writer)
        thread.start()
        thread.join(timeout=10)
        assert done.is_set()  # 50 publishes returned without anyone reading
        # The loop runs callbacks in the order they were scheduled: after this one,
        # every dispatch the writer scheduled has run.
        flushed = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(flushed.set_result, None)
        await flushed
        assert broker.dispatched == 50
        first = await stuck.next(1.0)
        assert [e.name for e in first][:1] == ["resync"]
        assert sum(e.name == "resync" for e in first) == 1
        assert len(first) <= 1 + broker.buffer_size
        # Replaying from the resync's id gives exactly what came after it.
        again = broker.subscribe(SAM, first[0].id)
        assert [e.id for e in await again.next(0.01)] == [e.id for e in first[1:]]

    asyncio.run(scenario())


def test_replay_after_a_known_id_and_resync_for_an_unknown_one() -> None:
    async def scenario() -> None:
        broker = Broker(buffer_size=100, ring_size=3, stream_limit=5)
        broker.start(asyncio.get_running_loop())
        for n in range(3):
            broker.dispatch(task_record(f"t{n}", ANA.user_id))
        live = broker.subscribe(ANA, f"{broker.origin}.r")
        assert [e.data["task_ids"] for e in await live.next(0.1)] == [["t0"], ["t1"], ["t2"]]
        first_id = f"{next(iter(broker._index))}.0"
        replayed = broker.subscribe(ANA, first_id)
        assert [e.data["task_ids"] for e in await replayed.next(0.1)] == [["t1"], ["t2"]]
        broker.dispatch(task_record("t3", ANA.user_id))  # evicts t0 from the ring of 3
        evicted = broker.subscribe(ANA, first_id)
        assert [e.name for e in await evicted.next(0.1)] == ["resync"]
        unknown = broker.subscribe(ANA, "garbage")
        assert [e.name for e in await unknown.next(0.1)] == ["resync"]

    asyncio.run(scenario())


def test_the_stream_limit_counts_per_user() -> None:
    broker = Broker(buffer_size=10, ring_size=10, stream_limit=2)
    subs = [broker.subscribe(ANA, None), broker.subscribe(ANA, None)]
    with pytest.raises(TooManyStreams):
        broker.subscribe(ANA, None)
    broker.subscribe(SAM, None)
    broker.unsubscribe(subs[0])
    broker.subscribe(ANA, None)


def test_who_sees_what_of_a_record() -> None:
    record = Record(
        feed=[(HUDSON, "t1", ["u-ana"]), (HUDSON, "t2", ["u-ben"]), (DENVER, "t3", ["u-dev"])],
        assignment=[("u-ana", ["t1"])],
        team=[("u-ben", [HUDSON], "break")],
        escalation=[("e1", HUDSON, "billing", "open")],
    )
    assert derive(record, ANA) == [
        ("feed", {"task_ids": ["t1"]}),
        ("assignment", {"task_ids": ["t1"]}),
    ]
    names = [name for name, _ in derive(record, SAM)]
    assert names == ["feed", "team", "escalation"]
    assert derive(record, SAM)[0][1] == {"task_ids": ["t1", "t2"]}
    # A manager: team and inbox, no patient data's feed.
    assert [name for name, _ in derive(record, MIA)] == ["team", "escalation"]
    assert derive(Record(reference=[(HUDSON, "practice")]), MIA) == [("feed", {"task_ids": []})]
    assert derive(record, Viewer("u-x", "assistant", frozenset({DENVER}))) == []


def test_a_record_always_fits_a_notify_payload_and_only_widens_its_audience() -> None:
    big = Record(
        feed=[(HUDSON, f"task-{n:05d}-{'x' * 30}", [f"u{n % 7}"]) for n in range(2000)],
        assignment=[(f"u{n}", [f"task-{m}" for m in range(300)]) for n in range(7)],
    )
    payload = big.encode()
    assert len(payload.encode()) <= 7000
    decoded = Record.decode(payload)
    for n in range(7):
        assert derive(decoded, Viewer(f"u{n}", "assistant", frozenset({HUDSON})))[0][0] == "feed"
    with pytest.raises(ValueError):
        Record.decode('{"v": 2}')


def test_events_follow_the_commit_and_a_rollback_publishes_nothing(
    sqlite_template: SqliteTemplate, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The real app's session factory and broker; writes through the unit of work."""
    app = create_app(Settings(db=sqlite_template.copy(tmp_path_factory.mktemp("uow"))))
    with TestClient(app):  # the lifespan binds the broker to the app's loop
        broker: Broker = app.state.broker
        with app.state.session_factory() as session:
            task = session.scalars(select(models.Task).limit(2)).all()
            rolled, kept = task[0], task[1]
            with pytest.raises(RuntimeError), UnitOfWork(session, actor_id=None, client="t"):
                rolled.version += 1
                log_task(session, rolled)
                raise RuntimeError("the write fails after its change row")
            with UnitOfWork(session, actor_id=None, client="t", feed=True):
                kept.version += 1
                log_task(session, kept)
        deadline = time.monotonic() + 10
        while broker.dispatched < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert broker.dispatched == 1
        (_, record), *_ = broker._ring
        assert [task_id for _, task_id, _ in record.feed] == [kept.id]
