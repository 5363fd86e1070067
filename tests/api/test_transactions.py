"""Transactions on the request path: who holds SQLite's write lock, and for how long.

The current-user dependency must return with no transaction open (FastAPI runs
the route in another thread; a write lock held across that hop stalled every
request once more requests than threads were in flight), pure reads must take no
write lock, and audit rows queued with `record_at_commit` commit with their
transaction or not at all.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from datetime import timedelta

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.engine import make_url

from central_api import audit, models
from central_api.core.config import Settings
from central_api.core.security import authenticate_token, token_digest
from central_api.db import begin_read
from tests.api.conftest import HTTP_TIMEOUT, ApiHarness
from tests.api.platform_fixtures import Platform, platform
from tests.api.work_support import TaskPicker, attempt_body, post_attempt

__all__ = ["platform"]

CONCURRENT_REQUESTS = 80  # more than the server's worker threads (Settings.worker_threads)


def _sqlite_path(url: str) -> str:
    database = make_url(url).database
    assert database
    return database


def _writer_gets_lock_at_once(url: str) -> None:
    """Another connection takes the write lock without waiting (busy timeout 0)."""
    with closing(sqlite3.connect(_sqlite_path(url), timeout=0, isolation_level=None)) as other:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")


def test_authenticate_token_returns_with_no_transaction(platform: Platform) -> None:
    token = platform.login("assistant")
    digest = token_digest(token)
    with platform.session() as session:
        # Make the token due for its last-use touch, so both paths run.
        old = models.utcnow() - timedelta(minutes=1)
        session.execute(
            update(models.Token).where(models.Token.token_hash == digest).values(last_used_at=old)
        )
        session.commit()
    settings = Settings(db=platform.url)
    with platform.session() as session:
        user = authenticate_token(session, token, settings)  # touches
        assert user is not None and user.username == "assistant"
        assert not session.in_transaction()
        _writer_gets_lock_at_once(platform.url)
        touched = session.scalar(
            select(models.Token.last_used_at).where(models.Token.token_hash == digest)
        )
        session.commit()
        assert touched is not None and touched > old
        assert authenticate_token(session, token, settings) is not None  # no touch due
        assert not session.in_transaction()
        assert authenticate_token(session, "not-a-token", settings) is None
        assert not session.in_transaction()
        _writer_gets_lock_at_once(platform.url)


def test_a_read_transaction_takes_no_write_lock(platform: Platform) -> None:
    with platform.session() as session:
        begin_read(session)
        assert session.scalar(select(func.count()).select_from(models.User)) == 4
        assert session.in_transaction()
        _writer_gets_lock_at_once(platform.url)  # would fail under BEGIN IMMEDIATE
        session.commit()
    with platform.session() as session:
        session.scalar(select(func.count()).select_from(models.User))  # default: a writer
        try:
            _writer_gets_lock_at_once(platform.url)
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)
        else:
            raise AssertionError("a default transaction should hold the write lock")
        session.rollback()


def test_queued_audit_rows_commit_with_their_transaction_only(platform: Platform) -> None:
    actor = platform.users["assistant"].id
    with platform.session() as session:
        before = session.scalar(select(func.count()).select_from(models.AuditEntry))
        audit.record_at_commit(
            session, actor_id=actor, action="test.dropped", resource="task:x", client="t"
        )
        session.rollback()
        audit.record_at_commit(
            session, actor_id=actor, action="test.kept", resource="task:y", client="t"
        )
        audit.record_at_commit(
            session, actor_id=actor, action="test.kept", resource="task:z", client="t"
        )
        session.commit()
        actions = session.scalars(
            select(models.AuditEntry.action).where(models.AuditEntry.seq > (before or 0))
        ).all()
        assert actions == ["test.kept", "test.kept"]
        assert audit.verify(session).ok


def test_more_concurrent_requests_than_server_threads(api: ApiHarness) -> None:
    """80 attempt POSTs at once (more than the worker threads): all answered, none lost.

    Before the fix each request's token check held SQLite's write lock while it
    waited for a thread for the route, and requests stalled for the 30 s busy
    timeout (then 500) once the threadpool was full.
    """
    token = api.login(api.username("assistant"))
    picker = TaskPicker(api, api.username("assistant"))
    tasks = [picker() for _ in range(8)]
    bodies = [attempt_body(tasks[i % len(tasks)]) for i in range(CONCURRENT_REQUESTS)]
    headers = {"Authorization": f"Bearer {token}"}

    def send(body: dict[str, object]) -> int:
        if api.server is None:
            with api.client(headers=headers) as client:
                return post_attempt(client, body).status_code
        with httpx.Client(base_url=api.url, headers=headers, timeout=HTTP_TIMEOUT) as client:
            return post_attempt(client, body).status_code

    with ThreadPoolExecutor(max_workers=CONCURRENT_REQUESTS) as pool:
        statuses = list(pool.map(send, bodies))
    assert statuses == [201] * CONCURRENT_REQUESTS
    with api.session() as session:
        stored = session.scalar(
            select(func.count())
            .select_from(models.Attempt)
            .where(models.Attempt.id.in_([str(b["id"]) for b in bodies]))
        )
        assert stored == CONCURRENT_REQUESTS
        assert audit.verify(session).ok
