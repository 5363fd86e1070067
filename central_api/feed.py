"""The change log (what writers append) and the sync feed (what readers page over).

Writers call `log_change` in the same transaction as the change itself, so the
feed never shows a change that was rolled back. Convention: task and attempt
rows carry the task's owner in `owner_id` (and, when the task changed hands, the
previous owner in `previous_owner_id`, who then receives a `remove`); other kinds
leave both NULL and their visibility is decided at read time from task ownership.

When a task gets a new owner, the writer re-announces what the new owner needs
to work it (patient, focus, attempts, escalations: see `assignment.announce_task`),
because the original change rows of those records lie behind the new owner's
cursor. That keeps the reader a single ordered, filtered scan of the log.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_, select, text
from sqlalchemy.orm import Session

from central_api import installation, models
from central_api.access import Scope
from central_api.events.capture import note_change
from central_api.serialize import MODELS, to_json
from followup_core.enums import ChangeKind, ChangeOp, FocusKind
from followup_core.schemas import Change, SyncPage

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000


def log_change(
    session: Session,
    *,
    kind: ChangeKind | str,
    record_id: str,
    practice_id: str,
    version: int,
    op: ChangeOp | str = ChangeOp.UPSERT,
    owner_id: str | None = None,
    previous_owner_id: str | None = None,
) -> None:
    """Append one change row in the caller's transaction.

    The live layer hears of it too (`events.note_change`): once the transaction
    commits, the users whose feed this row changes get a `feed` event.
    """
    lock_for_write(session)
    note_change(
        session,
        kind=str(kind),
        record_id=record_id,
        practice_id=practice_id,
        owner_id=owner_id,
        previous_owner_id=previous_owner_id,
    )
    session.add(
        models.ChangeLog(
            kind=str(kind),
            record_id=record_id,
            practice_id=practice_id,
            version=version,
            op=str(op),
            owner_id=owner_id,
            previous_owner_id=previous_owner_id,
        )
    )


def log_task(session: Session, task: models.Task, *, previous_owner_id: str | None = None) -> None:
    """Log a task's new state for its owner (and as a remove for `previous_owner_id`)."""
    log_change(
        session,
        kind=ChangeKind.TASK,
        record_id=task.id,
        practice_id=task.practice_id,
        version=task.version,
        owner_id=task.owner_id,
        previous_owner_id=previous_owner_id,
    )


# pg_advisory_xact_lock key serializing change-log writers ("feed" in ASCII).
FEED_LOCK_KEY = 0x66656564


def lock_for_write(session: Session) -> None:
    """On PostgreSQL, hold a lock from a transaction's first change row to its commit.

    A sequence hands out numbers at insert, not at commit: with two writers, seq 101
    may commit before seq 100, and a reader whose cursor passed 101 would never see
    100. Taking the lock before the first row gets its seq makes seq order commit
    order. (SQLite transactions already serialize: BEGIN IMMEDIATE.)

    Lock order, everywhere: the trigger job's lock, this one, row locks (SELECT ... FOR
    UPDATE), the audit chain's. Writers that lock rows call this first, explicitly.
    """
    if session.get_bind().dialect.name != "postgresql":
        return
    transaction = session.get_transaction()
    if transaction is not None and session.info.get("feed_lock") is transaction:
        return
    session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": FEED_LOCK_KEY})
    session.info["feed_lock"] = session.get_transaction()


# --- cursor -------------------------------------------------------------------

FEED_CURSOR = "feed"


def encode_cursor(session: Session, seq: int) -> str:
    """The signed sync cursor for change-log position `seq` (see `installation`)."""
    return installation.encode_cursor(session, FEED_CURSOR, seq)


def decode_cursor(session: Session, cursor: str | None) -> int:
    """The seq a sync cursor stands for; 0 for none; 400 `bad-cursor` if not ours."""
    return installation.decode_cursor(session, FEED_CURSOR, cursor)


# --- reading --------------------------------------------------------------------


_OWNED_KINDS = (str(ChangeKind.TASK), str(ChangeKind.ATTEMPT))
_REFERENCE_KINDS = (str(ChangeKind.PRACTICE), str(ChangeKind.SCRIPT))


def _visibility(scope: Scope) -> ColumnElement[bool]:
    """The SQL filter on change_log rows this caller may receive."""
    log = models.ChangeLog
    practices = sorted(scope.practice_ids)
    if not practices:
        return false()
    in_practices = log.practice_id.in_(practices)
    if scope.practice_records_only:
        return and_(log.kind == str(ChangeKind.PRACTICE), in_practices)
    if not scope.queue_only:
        return in_practices
    me = scope.user_id
    my_tasks = select(models.Task.id).where(models.Task.owner_id == me)
    return or_(
        and_(log.kind.in_(_REFERENCE_KINDS), in_practices),
        and_(log.kind.in_(_OWNED_KINDS), or_(log.owner_id == me, log.previous_owner_id == me)),
        and_(
            log.kind == str(ChangeKind.PATIENT),
            log.record_id.in_(
                select(models.Task.patient_id).where(
                    models.Task.owner_id == me, models.Task.patient_id.is_not(None)
                )
            ),
        ),
        and_(
            log.kind == str(ChangeKind.APPOINTMENT),
            log.record_id.in_(
                select(models.Task.focus_id).where(
                    models.Task.owner_id == me,
                    models.Task.focus_kind == str(FocusKind.APPOINTMENT),
                )
            ),
        ),
        and_(
            log.kind == str(ChangeKind.REFERRAL),
            log.record_id.in_(
                select(models.Task.focus_id).where(
                    models.Task.owner_id == me,
                    models.Task.focus_kind == str(FocusKind.REFERRAL),
                )
            ),
        ),
        and_(
            log.kind == str(ChangeKind.ESCALATION),
            log.record_id.in_(
                select(models.Escalation.id).where(models.Escalation.task_id.in_(my_tasks))
            ),
        ),
    )


@dataclass(frozen=True)
class _Latest:
    kind: ChangeKind
    record_id: str
    op: str
    version: int
    position: int  # index of the latest row for this record within the page


def _load(session: Session, kind: ChangeKind, ids: Iterable[str]) -> dict[str, Any]:
    """Current rows by id, as Core rows (attribute access like the ORM objects, whose
    attribute names are the column names) — building ORM instances was half the cost."""
    table: Any = MODELS[kind].__table__
    wanted = list(set(ids))
    rows: dict[str, Any] = {}
    # Chunked IN lists keep every backend under its bound-parameter limit.
    for start in range(0, len(wanted), 900):
        chunk = wanted[start : start + 900]
        for row in session.execute(select(table).where(table.c.id.in_(chunk))):
            rows[row.id] = row
    return rows


def read_page(session: Session, scope: Scope, *, after: int, limit: int) -> SyncPage:
    """One page of the feed after seq `after`, deduplicated to each record's latest state."""
    log = models.ChangeLog
    # Plain tuples, not ORM objects: a page is up to 1000 rows and only these matter.
    rows: Sequence[Any] = session.execute(
        select(log.seq, log.kind, log.record_id, log.op, log.version)
        .where(log.seq > after, _visibility(scope))
        .order_by(log.seq)
        .limit(limit + 1)
    ).all()
    has_more = len(rows) > limit
    rows = rows[:limit]
    last_seq = rows[-1].seq if rows else after

    latest: dict[tuple[ChangeKind, str], _Latest] = {}
    for position, row in enumerate(rows):
        kind = ChangeKind(row.kind)
        latest[(kind, row.record_id)] = _Latest(kind, row.record_id, row.op, row.version, position)

    by_kind: dict[ChangeKind, list[str]] = defaultdict(list)
    for kind, record_id in latest:
        by_kind[kind].append(record_id)
    loaded = {kind: _load(session, kind, ids) for kind, ids in by_kind.items()}

    # Attempts follow their task's current owner, so queue-only callers need the tasks.
    task_owner: dict[str, str | None] = {}
    if scope.queue_only:
        for task in loaded.get(ChangeKind.TASK, {}).values():
            task_owner[task.id] = task.owner_id
        missing = {
            a.task_id for a in loaded.get(ChangeKind.ATTEMPT, {}).values()
        } - task_owner.keys()
        wanted = sorted(missing)
        for start in range(0, len(wanted), 900):
            chunk = wanted[start : start + 900]
            for task_id, owner_id in session.execute(
                select(models.Task.id, models.Task.owner_id).where(models.Task.id.in_(chunk))
            ):
                task_owner[task_id] = owner_id

    changes: list[Change] = []
    for item in sorted(latest.values(), key=lambda x: x.position):
        record = loaded[item.kind].get(item.record_id)
        removed = item.op == str(ChangeOp.REMOVE) or record is None
        if (
            record is not None
            and not removed
            and scope.queue_only
            and item.kind in (ChangeKind.TASK, ChangeKind.ATTEMPT)
        ):
            task_id = record.id if item.kind is ChangeKind.TASK else record.task_id
            # Decided on the current owner: a task reassigned away is a remove even
            # if this page also holds rows from when the caller owned it.
            removed = task_owner.get(task_id) != scope.user_id
        if removed:
            changes.append(
                Change(
                    kind=item.kind,
                    id=item.record_id,
                    op=ChangeOp.REMOVE,
                    version=item.version,
                    data=None,
                )
            )
            continue
        changes.append(
            Change(
                kind=item.kind,
                id=item.record_id,
                op=ChangeOp.UPSERT,
                version=int(getattr(record, "version", None) or item.version),
                data=to_json(item.kind, record),
            )
        )
    return SyncPage(cursor=encode_cursor(session, last_seq), has_more=has_more, changes=changes)
