"""From a transaction's writes to one live `Record`, published only if it commits.

Writers already pass through `feed.log_change` (every change row) and a few named
helpers (`note_assignment`, `note_team`, `note_escalation`, `note_session_ended`);
each only remembers ids in `session.info`, keyed to the transaction. At commit:

- `before_commit` turns what was remembered into a `Record` (resolving which queue
  owners a patient/appointment/referral/escalation change concerns, as `/v1/sync`
  does) and, on PostgreSQL, queues `pg_notify(CHANNEL, record)` in the same
  transaction: PostgreSQL delivers a notification when, and only when, its
  transaction commits, to every listening API process (in commit order);
- `after_commit` (SQLite, one process) hands the record to the process's broker,
  which the session factory put in `session.info[BUS_KEY]`.

A rollback publishes nothing: the remembered ids belong to the rolled-back
transaction and are dropped with it. A session with no broker on SQLite (the
CLI, a seed) skips the work entirely.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from central_api import models
from central_api.events.record import Record
from followup_core.enums import ChangeKind

# PostgreSQL channel every API process LISTENs on.
CHANNEL = "assistant_live"
# session.info key of the process's broker (set by the app's session factory).
BUS_KEY = "live_bus"
_PENDING_KEY = "live_pending"
_READY_KEY = "live_ready"
_OWNED = frozenset({str(ChangeKind.TASK), str(ChangeKind.ATTEMPT)})
_REFERENCE = frozenset({str(ChangeKind.PRACTICE), str(ChangeKind.SCRIPT)})
_CHUNK = 900


class Bus(Protocol):
    """What `after_commit` needs of a broker: a thread-safe, never-blocking publish."""

    def publish_threadsafe(self, record: Record) -> None: ...


@dataclass
class _Pending:
    transaction: object
    tasks: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    others: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    reference: set[tuple[str, str]] = field(default_factory=set)
    assignment: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    team: dict[str, tuple[list[str], str]] = field(default_factory=dict)
    escalation: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    ended: set[str] = field(default_factory=set)
    whisper: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    observed: set[str] = field(default_factory=set)
    training: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


def _pending(session: Session) -> _Pending:
    transaction = session.get_transaction()
    if transaction is None:
        session.connection()  # begin the transaction the writes will belong to
        transaction = session.get_transaction()
    held: _Pending | None = session.info.get(_PENDING_KEY)
    if held is None or held.transaction is not transaction:
        held = _Pending(transaction)
        session.info[_PENDING_KEY] = held
    return held


def note_change(
    session: Session,
    *,
    kind: str,
    record_id: str,
    practice_id: str,
    owner_id: str | None,
    previous_owner_id: str | None,
) -> None:
    """Remember one change-log row (called by `feed.log_change`)."""
    held = _pending(session)
    if kind in _OWNED:
        task_key = record_id if kind == str(ChangeKind.TASK) else ""
        users = held.tasks.setdefault((practice_id, task_key), set())
        users.update(u for u in (owner_id, previous_owner_id) if u)
    elif kind in _REFERENCE:
        held.reference.add((practice_id, kind))
    else:
        held.others[kind][record_id] = practice_id


def note_assignment(session: Session, user_id: str | None, task_id: str) -> None:
    """`task_id` was newly given to `user_id` (a new task, or a hand-over)."""
    if user_id:
        _pending(session).assignment[user_id].add(task_id)


def note_team(session: Session, user_id: str, practice_ids: Iterable[str], state: str) -> None:
    """`user_id`'s agent state became `state` (their practices' supervisors hear it)."""
    _pending(session).team[user_id] = (sorted(practice_ids), state)


def note_escalation(session: Session, escalation: models.Escalation) -> None:
    """An escalation was raised, acknowledged or resolved (the practice's inbox changed)."""
    _pending(session).escalation[escalation.id] = (
        escalation.practice_id,
        escalation.route,
        escalation.status,
    )


def note_session_ended(session: Session, user_id: str) -> None:
    """A session of `user_id` ended (logout): their open streams re-check their tokens."""
    _pending(session).ended.add(user_id)


def note_whisper(session: Session, whisper_id: str, user_ids: Iterable[str]) -> None:
    """A whisper was sent (tell its recipient) or read (tell its sender)."""
    _pending(session).whisper[whisper_id].update(user_ids)


def note_observed(session: Session, user_id: str) -> None:
    """Who observes `user_id` changed (they hear `observed` and re-read their observers)."""
    _pending(session).observed.add(user_id)


def note_training(session: Session, run_id: str, user_ids: Iterable[str]) -> None:
    """A training run has a new live line or was scored (tell its trainee and trainer)."""
    _pending(session).training[run_id].update(user_ids)


def _owners_of(session: Session, kind: str, ids: list[str]) -> list[tuple[str, str]]:
    """(practice_id, owner_id) of the tasks through which queue owners see these records."""
    task = models.Task
    found: list[tuple[str, str]] = []
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        stmt: Any
        if kind == str(ChangeKind.PATIENT):
            stmt = select(task.practice_id, task.owner_id).where(task.patient_id.in_(chunk))
        elif kind in (str(ChangeKind.APPOINTMENT), str(ChangeKind.REFERRAL)):
            stmt = select(task.practice_id, task.owner_id).where(
                task.focus_kind == kind, task.focus_id.in_(chunk)
            )
        elif kind == str(ChangeKind.ESCALATION):
            stmt = (
                select(task.practice_id, task.owner_id)
                .join(models.Escalation, models.Escalation.task_id == task.id)
                .where(models.Escalation.id.in_(chunk))
            )
        else:
            return found
        found.extend(
            (practice_id, owner_id)
            for practice_id, owner_id in session.execute(stmt.where(task.owner_id.is_not(None)))
        )
    return found


def build_record(session: Session, held: _Pending) -> Record:
    """The record of what `held` remembered, owners resolved in the open transaction."""
    feed: dict[tuple[str, str], set[str]] = {k: set(v) for k, v in held.tasks.items()}
    if held.others:
        session.flush()  # the queries below must see this transaction's rows
        for kind, records in held.others.items():
            for practice_id in set(records.values()):
                feed.setdefault((practice_id, ""), set())
            for practice_id, owner_id in _owners_of(session, kind, sorted(records)):
                feed.setdefault((practice_id, ""), set()).add(owner_id)
    return Record(
        feed=[(pid, tid, sorted(users)) for (pid, tid), users in sorted(feed.items())],
        reference=sorted(held.reference),
        assignment=[(uid, sorted(tids)) for uid, tids in sorted(held.assignment.items())],
        team=[(uid, pids, state) for uid, (pids, state) in sorted(held.team.items())],
        escalation=[(eid, *rest) for eid, rest in sorted(held.escalation.items())],
        ended=sorted(held.ended),
        whisper=[(wid, sorted(users)) for wid, users in sorted(held.whisper.items())],
        observed=sorted(held.observed),
        training=[(rid, sorted(users)) for rid, users in sorted(held.training.items())],
    )


@event.listens_for(Session, "before_commit")
def _before_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    held: _Pending | None = session.info.get(_PENDING_KEY)
    if held is None or held.transaction is not session.get_transaction():
        return
    postgres = session.get_bind().dialect.name == "postgresql"
    if not postgres and session.info.get(BUS_KEY) is None:
        session.info.pop(_PENDING_KEY, None)
        return
    record = build_record(session, held)
    session.info.pop(_PENDING_KEY, None)
    if record.empty():
        return
    if postgres:
        session.execute(
            text("SELECT pg_notify(:channel, :payload)"),
            {"channel": CHANNEL, "payload": record.encode()},
        )
    else:
        session.info[_READY_KEY] = record


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    record: Record | None = session.info.pop(_READY_KEY, None)
    bus: Bus | None = session.info.get(BUS_KEY)
    if record is not None and bus is not None:
        bus.publish_threadsafe(record)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    # A commit that failed after `before_commit` leaves a record that must never go out.
    session.info.pop(_READY_KEY, None)
    if not session.in_transaction():
        session.info.pop(_PENDING_KEY, None)
