"""Attempts survive a server that is SIGKILLed mid-stream: none lost, none doubled.

A client posts attempts one at a time to a real uvicorn, each with its own
Idempotency-Key (the attempt id), retrying the same request on connection errors
until the server acknowledges it. Meanwhile the server is SIGKILLed several
times, at moments chosen by the client's progress, and restarted on the same
database. At the end every attempt is stored exactly once, and a replay of any
of them returns the stored answer instead of writing again.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from central_api import models
from central_api.db import make_engine, make_session_factory
from followup_core.enums import TERMINAL_STATUSES
from tests.support.seeded import PostgresTemplate, SqliteTemplate
from tests.support.server import ApiServer

N_ATTEMPTS = 45
KILL_AFTER_ACKS = (6, 14, 22, 30, 38)  # kill as soon as this many attempts are acknowledged
DEADLINE_S = 120.0

pytestmark = pytest.mark.slow


@pytest.fixture(
    params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "postgres":
        pg: PostgresTemplate = request.getfixturevalue("postgres_template")
        yield pg.copy()
    else:
        lite: SqliteTemplate = request.getfixturevalue("sqlite_template")
        yield lite.copy(tmp_path)


def _workable_tasks(db_url: str, username: str) -> list[tuple[str, int]]:
    """The user's open tasks whose patient may be phoned: (id, version)."""
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as s:
            user = s.scalars(select(models.User).where(models.User.username == username)).one()
            out = []
            for task in s.scalars(
                select(models.Task).where(models.Task.owner_id == user.id).order_by(models.Task.id)
            ):
                patient = s.get(models.Patient, task.patient_id) if task.patient_id else None
                if task.status in TERMINAL_STATUSES or (patient and not patient.consent["phone"]):
                    continue
                out.append((task.id, task.version))
            return out
    finally:
        engine.dispose()


def _attempt(task_id: str, version: int, n: int) -> dict[str, Any]:
    started = datetime.now(UTC) - timedelta(minutes=5) + timedelta(seconds=n)
    return {
        "id": str(uuid.uuid4()),
        "task_id": task_id,
        "task_version": version,
        "channel": "phone",
        "outcome": "no-answer",
        "started_at": started.isoformat(),
        "ended_at": (started + timedelta(seconds=40)).isoformat(),
        "identity_verified": False,
        "next_step": None,
        "notes": "",
        "script_id": None,
        "script_version": None,
        "escalation": None,
    }


class Progress:
    """Acknowledged count, shared with the killer thread."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.acked = 0
        self.done = False

    def ack(self) -> None:
        with self.cond:
            self.acked += 1
            self.cond.notify_all()

    def finish(self) -> None:
        with self.cond:
            self.done = True
            self.cond.notify_all()


def _killer(server: ApiServer, progress: Progress, errors: list[BaseException]) -> None:
    jitter = random.Random(20261127)
    try:
        for threshold in KILL_AFTER_ACKS:
            with progress.cond:
                progress.cond.wait_for(lambda t=threshold: progress.acked >= t or progress.done)  # type: ignore[misc]
                if progress.done:
                    return
            # Land somewhere inside the next request (parse, commit, or reply), not
            # always before it: this is fault timing, not synchronisation.
            time.sleep(jitter.uniform(0.0, 0.04))
            server.kill()
            server.start()
    except BaseException as exc:
        errors.append(exc)


def _post_until_acknowledged(
    client: httpx.Client, body: dict[str, Any], stats: Counter[str]
) -> httpx.Response:
    deadline = time.monotonic() + DEADLINE_S
    while True:
        assert time.monotonic() < deadline, f"attempt {body['id']} never acknowledged"
        try:
            response = client.post(
                "/v1/attempts", json=body, headers={"Idempotency-Key": body["id"]}
            )
        except httpx.TransportError:
            stats["transport_errors"] += 1
            time.sleep(0.02)  # poll: the server is down or restarting
            continue
        if (
            response.status_code == 409
            and response.json()["error"]["code"] == "request-in-progress"
        ):
            stats["in_progress"] += 1
            time.sleep(0.02)
            continue
        assert response.status_code == 201, f"{response.status_code} {response.text}"
        if response.headers.get("Idempotent-Replayed") == "true":
            stats["replayed"] += 1
        return response


def test_no_attempt_lost_or_doubled_across_server_kills(db_url: str, demo_password: str) -> None:
    tasks = _workable_tasks(db_url, "demo")
    assert len(tasks) >= 10
    bodies = [_attempt(*tasks[n % len(tasks)], n) for n in range(N_ATTEMPTS)]

    server = ApiServer(db_url)
    server.start()
    progress = Progress()
    killer_errors: list[BaseException] = []
    stats: Counter[str] = Counter()
    acknowledged: list[str] = []
    try:
        with httpx.Client(base_url=server.url, timeout=10.0) as client:
            login = client.post(
                "/v1/auth/login", json={"username": "demo", "password": demo_password}
            )
            assert login.status_code == 200, login.text
            client.headers["Authorization"] = f"Bearer {login.json()['token']}"

            killer = threading.Thread(
                target=_killer, args=(server, progress, killer_errors), daemon=True
            )
            killer.start()
            for body in bodies:
                response = _post_until_acknowledged(client, body, stats)
                assert response.json()["attempt"]["id"] == body["id"]
                acknowledged.append(body["id"])
                progress.ack()
            progress.finish()
            killer.join(timeout=DEADLINE_S)
            assert not killer_errors, killer_errors
            assert server.starts == 1 + len(KILL_AFTER_ACKS)

            # A replay of any acknowledged attempt returns the stored answer, writes nothing.
            for body in bodies[::5]:
                response = client.post(
                    "/v1/attempts", json=body, headers={"Idempotency-Key": body["id"]}
                )
                assert response.status_code == 201
                assert response.headers.get("Idempotent-Replayed") == "true"
    finally:
        progress.finish()
        server.stop()

    print(f"fault stats: {dict(stats)}")
    assert stats["transport_errors"] >= 1, "no kill was ever seen by the client"
    engine = make_engine(db_url)
    try:
        with make_session_factory(engine)() as s:
            ids = [b["id"] for b in bodies]
            stored = Counter(s.scalars(select(models.Attempt.id).where(models.Attempt.id.in_(ids))))
            logged = Counter(
                s.scalars(
                    select(models.ChangeLog.record_id).where(
                        models.ChangeLog.kind == "attempt", models.ChangeLog.record_id.in_(ids)
                    )
                )
            )
            keys = s.scalar(
                select(func.count())
                .select_from(models.IdempotencyRecord)
                .where(models.IdempotencyRecord.key.in_(ids))
            )
    finally:
        engine.dispose()
    assert acknowledged == ids
    assert {i: stored[i] for i in ids} == dict.fromkeys(ids, 1)
    assert {i: logged[i] for i in ids} == dict.fromkeys(ids, 1)
    assert keys == len(ids)
