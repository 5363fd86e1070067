"""The runner of the periodic job: one pass (`run_once`) and the loop that repeats it.

`run_once(session)` applies every rule of `triggers.rules` in one pass. It is
idempotent (a second run finds nothing to do) and commits every `BATCH_SIZE`
changes; with several API processes on one PostgreSQL a transaction-scoped
advisory lock lets only one of them run it at a time (the others skip).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import text
from sqlalchemy.orm import Session

from central_api import models
from central_api.feed import lock_for_write
from central_api.triggers.rules import (
    Practices,
    RunSummary,
    escalate_failed_contact,
    open_confirmations,
    open_intakes,
    open_referrals,
    reopen_retries,
)
from central_api.uow import UnitOfWork

log = logging.getLogger(__name__)

DEFAULT_INTERVAL_SECONDS = 60.0
# pg_try_advisory_xact_lock key of the periodic job ("trigger" in ASCII).
JOB_LOCK_KEY = 0x74726967676572
# Changes committed together by the job (one transaction, one audit row each).
BATCH_SIZE = 500


class _LostLock(Exception):
    """Another process took the job lock between two batches."""


def _take_job_lock(session: Session) -> bool:
    """PostgreSQL: this transaction holds the job lock (or another process runs the job)."""
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: every transaction already holds the write lock
    got = session.execute(
        text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": JOB_LOCK_KEY}
    ).scalar_one()
    if got:
        lock_for_write(session)  # before any task row is updated
    return bool(got)


class _Progress:
    """Counts what the run did and commits every `batch` changes, so a large first run
    (thousands of tasks after an import) never holds SQLite's write lock for long."""

    def __init__(self, session: Session, summary: RunSummary, batch: int) -> None:
        self.session = session
        self.summary = summary
        self.batch = batch
        self._pending = 0

    def add(self, what: str) -> None:
        setattr(self.summary, what, getattr(self.summary, what) + 1)
        self._pending += 1
        if self._pending >= self.batch:
            self.commit()
            if not _take_job_lock(self.session):
                raise _LostLock

    def commit(self) -> None:
        """Commit the batch as one unit of work (its audit row last, events after)."""
        uow = UnitOfWork(self.session, actor_id=None, client="trigger-job")
        if self._pending:
            uow.audit("trigger.run", f"changes:{self._pending}")
        uow.commit()
        self._pending = 0


def run_once(
    session: Session, *, now: datetime | None = None, batch: int = BATCH_SIZE
) -> RunSummary:
    """One pass of the periodic job, committed every `batch` changes (each batch whole)."""
    now = now or models.utcnow()
    session.commit()  # a fresh transaction: fresh snapshot, SQLite write lock
    out = RunSummary()
    if not _take_job_lock(session):
        session.rollback()
        out.skipped = True
        return out
    progress = _Progress(session, out, batch)
    try:
        practices = Practices(session)
        # No autoflush: the new rows go to the database in batched flushes at commit,
        # not one INSERT per row each time a lookup would trigger a flush.
        with session.no_autoflush:
            open_confirmations(session, practices, now, progress)
            open_intakes(session, practices, now, progress)
            open_referrals(session, practices, now, progress)
            reopen_retries(session, now, progress)
            escalate_failed_contact(session, now, progress)
        progress.commit()
    except _LostLock:
        session.rollback()
        out.skipped = True  # the other process finishes the work
    except BaseException:
        session.rollback()
        raise
    return out


def interval_from_env() -> float:
    """`ASSISTANT_API_TRIGGER_INTERVAL` seconds (default 60); 0 or less turns the job off."""
    raw = os.environ.get("ASSISTANT_API_TRIGGER_INTERVAL", "")
    try:
        return float(raw) if raw.strip() else DEFAULT_INTERVAL_SECONDS
    except ValueError:
        log.warning("ignoring ASSISTANT_API_TRIGGER_INTERVAL: not a number")
        return DEFAULT_INTERVAL_SECONDS


async def run_periodically(session_factory: Callable[[], Session], interval: float) -> None:
    """Run the job every `interval` seconds until cancelled; a failed pass is logged, not fatal."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(_run_with_new_session, session_factory)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("periodic trigger job failed; retrying next interval")


def _run_with_new_session(session_factory: Callable[[], Session]) -> RunSummary:
    with session_factory() as session:
        summary = run_once(session)
    if summary.created or summary.reopened or summary.escalated:
        log.info(
            "trigger job: %d new tasks, %d re-opened, %d escalated",
            summary.created,
            summary.reopened,
            summary.escalated,
        )
    return summary


def start_trigger_job(session_factory: Callable[[], Session]) -> asyncio.Task[None] | None:
    """Start the periodic job on the running loop (from the app's lifespan); None if off."""
    interval = interval_from_env()
    if interval <= 0:
        return None
    return asyncio.create_task(run_periodically(session_factory, interval), name="trigger-job")


async def stop_trigger_job(job: asyncio.Task[None] | None) -> None:
    """Cancel the periodic job started by `start_trigger_job` and wait for it to end."""
    if job is None:
        return
    job.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await job
