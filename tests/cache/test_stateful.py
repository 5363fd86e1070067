"""Hypothesis state machine: record / sync / crash / restart server / reassign.

Invariant (checked after a final sync at the end of every run): every attempt
the client committed is on the server exactly once, or kept in needs-attention
with the server's reply; the server holds no attempt of this user that the
client did not commit; and with nothing refused, the two sets are equal.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from backend_client import ApiClient, RetryPolicy
from followup_core.schemas import TaskOut
from local_cache import LocalCache, SyncEngine
from local_cache.keys import MemoryKeyring
from tests.cache.conftest import Api
from tests.cache.helpers import attempt_for, phone_ok, server_rows
from tests.cache.test_sync import _reassign_on_server


def _attempts_of(api: Api, user: str) -> dict[str, int]:
    rows = server_rows(
        api.db_url,
        "SELECT id, count(*) FROM attempts WHERE assistant_id = :uid GROUP BY id",
        uid=api.user_id(user),
    )
    return {str(r[0]): int(r[1]) for r in rows}


def _owner(api: Api, task_id: str) -> str | None:
    rows = server_rows(api.db_url, "SELECT owner_id FROM tasks WHERE id = :id", id=task_id)
    return str(rows[0][0]) if rows and rows[0][0] else None


class SyncMachine(RuleBasedStateMachine):
    api: Api
    base_dir: Path

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.user, self.other = self.api.assistants()[2:4]
        self.dir = self.base_dir / secrets.token_hex(4)
        self.keyring = MemoryKeyring()
        self.passphrase = secrets.token_urlsafe(8)
        self.committed: set[str] = set()
        self.restarts = 0
        self.before = _attempts_of(self.api, self.user)
        self.client: ApiClient | None = None
        self.cache: LocalCache | None = None
        self.tasks: list[TaskOut] = []

    # --- plumbing -----------------------------------------------------------------

    def _run(self, coro: Any) -> Any:
        return self.loop.run_until_complete(coro)

    def _open(self) -> None:
        self.cache = LocalCache.open(
            self.dir, self.user, self.passphrase, keyring_backend=self.keyring
        )

    async def _login(self) -> ApiClient:
        client = ApiClient(self.api.url, retry=RetryPolicy(attempts=2, budget=0.5))
        await client.login(self.user, self.api.password)
        return client

    def _sync(self) -> Any:
        assert self.cache is not None and self.client is not None
        return self._run(SyncEngine(self.cache, self.client).sync_once())

    @initialize()
    def start(self) -> None:
        self._open()
        self.client = self._run(self._login())
        self._sync()
        assert self.cache is not None
        for row in self.cache.queue():
            context = self.cache.task_context(row.task_id)
            assert context is not None
            if phone_ok(context.task, context.patient.consent if context.patient else None):
                self.tasks.append(context.task)

    # --- rules --------------------------------------------------------------------

    @precondition(lambda self: bool(self.tasks))
    @rule(index=st.integers(min_value=0, max_value=50))
    def record(self, index: int) -> None:
        assert self.cache is not None
        task = self.tasks[index % len(self.tasks)]
        cached = self.cache.task(task.id)
        attempt = attempt_for(cached or task)
        self.cache.record_attempt(attempt)
        self.committed.add(str(attempt.id))

    @rule()
    def sync(self) -> None:
        self._sync()

    @rule()
    def crash_and_reopen(self) -> None:
        # What survives a crash is what was committed: close without draining.
        assert self.cache is not None
        self.cache.close()
        self._open()

    @precondition(lambda self: self.restarts < 1)
    @rule()
    def restart_server(self) -> None:
        self.restarts += 1
        self.api.server.kill()
        self._sync()  # offline round: must keep everything
        self.api.server.start()

    @precondition(lambda self: bool(self.tasks))
    @rule(index=st.integers(min_value=0, max_value=50), back=st.booleans())
    def reassign(self, index: int, back: bool) -> None:
        task = self.tasks[index % len(self.tasks)]
        owner = self.api.user_id(self.user if back else self.other)
        if _owner(self.api, task.id) != owner:
            _reassign_on_server(self.api, task.id, self.user if back else self.other)

    @invariant()
    def outbox_never_loses_committed_work(self) -> None:
        if self.cache is not None:
            ids = {e.id for e in self.cache.outbox_entries()}
            assert self.committed <= ids

    def teardown(self) -> None:
        try:
            if self.cache is not None and self.client is not None:
                if not self.api.server.running():
                    self.api.server.start()
                for _ in range(20):
                    status = self._sync()
                    if status.online and status.outbox_depth == 0:
                        break
                self._check_final()
        finally:
            if self.client is not None:
                self._run(self.client.aclose())
            if self.cache is not None:
                self.cache.close()
            self.loop.close()

    def _check_final(self) -> None:
        assert self.cache is not None
        on_server = {
            i: n for i, n in _attempts_of(self.api, self.user).items() if i not in self.before
        }
        refused = {n.entry_id for n in self.cache.needs_attention()}
        assert set(on_server.values()) <= {1}, "an attempt was duplicated"
        assert set(on_server) <= self.committed, "the server holds an attempt never recorded"
        assert self.committed == set(on_server) | refused, "a committed attempt was lost"
        assert not (set(on_server) & refused)
        # Refusals here can only be the 404 to a previous owner (a B2 rule).
        assert all(n.status_code == 404 for n in self.cache.needs_attention())


@pytest.mark.slow
def test_sync_state_machine(api: Api, tmp_path: Path) -> None:
    SyncMachine.api = api
    SyncMachine.base_dir = tmp_path
    run_state_machine_as_test(
        SyncMachine,
        settings=settings(
            max_examples=6,
            stateful_step_count=12,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
            derandomize=True,
        ),
    )
