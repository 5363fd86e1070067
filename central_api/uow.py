"""One unit of work: the write order every writer follows, owned in one place.

Order (the same everywhere, so two writers never wait on each other in a cycle):

1. the feed lock (`feed.lock_for_write`: PostgreSQL advisory lock making change-log
   seq order commit order) — before any row lock, when the write logs changes;
2. the rows (row locks with `SELECT ... FOR UPDATE`, then the writes and their
   change-log rows: `feed.log_change`);
3. the audit rows, appended last (`audit.record_at_commit`: the chain's lock is
   held only for that INSERT and the commit);
4. COMMIT;
5. the live events, derived from what the transaction wrote and published only
   once it committed (`events.capture`'s commit hooks; a rollback publishes nothing).

Usage::

    with UnitOfWork(session, actor_id=user.id, client=client, feed=True) as uow:
        task = access.task_for(session, scope, task_id, client=client, for_update=True)
        ...                       # rows and change-log rows
        uow.audit("task.claim", f"task:{task.id}")
    # committed here; on an exception, rolled back and re-raised

A writer that must check something before it may take the global feed lock (the
webhook's practice key) passes `feed=False` and calls `uow.lock_feed()` after.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session

from central_api import audit
from central_api.feed import lock_for_write


class UnitOfWork:
    """One write transaction on `session` in the order above; commits on a clean exit."""

    def __init__(
        self,
        session: Session,
        *,
        actor_id: str | None,
        client: str,
        feed: bool = False,
    ) -> None:
        self.session = session
        self.actor_id = actor_id
        self.client = client
        self._feed = feed
        self.committed = False

    def __enter__(self) -> UnitOfWork:
        if self._feed:
            self.lock_feed()
        return self

    def lock_feed(self) -> None:
        """Take the feed lock now (PostgreSQL; a no-op on SQLite, whose writers
        serialize at BEGIN IMMEDIATE). Idempotent within the transaction."""
        lock_for_write(self.session)

    def audit(self, action: str, resource: str, *, actor_id: str | None = None) -> None:
        """One audit row (ids only, never values), written as the transaction's last row."""
        audit.record_at_commit(
            self.session,
            actor_id=self.actor_id if actor_id is None else actor_id,
            action=action,
            resource=resource,
            client=self.client,
        )

    def commit(self) -> None:
        """Commit now (audit rows last); the live events go out after it succeeds."""
        self.session.commit()
        self.committed = True

    def rollback(self) -> None:
        """Drop everything of this transaction: rows, audit rows, pending events."""
        self.session.rollback()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is not None:
            self.rollback()
            return
        self.commit()
