"""The audit log: append-only, hash-chained rows with no PHI values.

Each row's hash is sha256(prev_hash + canonical JSON of seq, at, actor, action,
resource, client), so editing, deleting or reordering any row breaks every
hash after it, and `verify` names the first broken row. Appends are serialized
(SQLite: the `BEGIN IMMEDIATE` write lock; PostgreSQL: a transaction-level
advisory lock) so the chain never forks.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Table, event, insert, select, text
from sqlalchemy.orm import Session

from central_api.models import AuditEntry, utcnow

GENESIS_HASH = "0" * 64
# pg_advisory_xact_lock key for audit appends ("audit" in ASCII, fits a bigint).
ADVISORY_LOCK_KEY = 0x6175646974
_AUDIT_TABLE: Table = AuditEntry.metadata.tables[AuditEntry.__tablename__]


def canonical(
    *,
    seq: int,
    at: datetime,
    actor_id: str | None,
    action: str,
    resource: str,
    client: str,
) -> bytes:
    """The bytes that are hashed; `at` in UTC with microseconds, keys sorted."""
    return json.dumps(
        {
            "seq": seq,
            "at": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "actor": actor_id,
            "action": action,
            "resource": resource,
            "client": client,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=True,
    ).encode("ascii")


def row_hash(
    prev_hash: str,
    *,
    seq: int,
    at: datetime,
    actor_id: str | None,
    action: str,
    resource: str,
    client: str,
) -> str:
    body = canonical(
        seq=seq, at=at, actor_id=actor_id, action=action, resource=resource, client=client
    )
    return hashlib.sha256(prev_hash.encode("ascii") + body).hexdigest()


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})


def record(
    session: Session,
    *,
    actor_id: str | None,
    action: str,
    resource: str,
    client: str,
    at: datetime | None = None,
) -> AuditEntry:
    """Append one row in the caller's transaction (the caller commits).

    `resource` is a kind and an id ("task:<id>"), never a value from the record.
    """
    session.flush()  # pending rows of the request first: the chain's lock comes last
    _lock_chain(session)
    last = session.execute(
        select(AuditEntry.seq, AuditEntry.hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    at = (at or utcnow()).astimezone(UTC)
    client = client[:100]
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor_id=actor_id,
        action=action,
        resource=resource,
        client=client,
        prev_hash=prev,
        hash=row_hash(
            prev, seq=seq, at=at, actor_id=actor_id, action=action, resource=resource, client=client
        ),
    )
    # One plain INSERT of the row (not session.add + flush): no unit-of-work pass and
    # no primary key to fetch back, on every audited request. The returned object is
    # a detached copy of what was written.
    session.execute(
        insert(_AUDIT_TABLE).values(
            seq=entry.seq,
            at=entry.at,
            actor_id=entry.actor_id,
            action=entry.action,
            resource=entry.resource,
            client=entry.client,
            prev_hash=entry.prev_hash,
            hash=entry.hash,
        )
    )
    return entry


@dataclass(frozen=True)
class _Pending:
    actor_id: str | None
    action: str
    resource: str
    client: str


_PENDING_KEY = "audit_pending"


def record_at_commit(
    session: Session, *, actor_id: str | None, action: str, resource: str, client: str
) -> None:
    """Append one row as the last write of the caller's transaction, right before COMMIT.

    Same guarantee as `record` (the row commits with the transaction or not at all),
    but the chain's lock (PostgreSQL: an advisory lock every audited request takes)
    is held only for that last INSERT and the commit, not for the whole request.
    A rollback drops the queued rows with the transaction they belonged to.
    """
    transaction = session.get_transaction()
    if transaction is None:
        # No transaction yet: nothing to defer behind, begin one the usual way.
        session.connection()
        transaction = session.get_transaction()
    held: tuple[object, list[_Pending]] | None = session.info.get(_PENDING_KEY)
    if held is None or held[0] is not transaction:
        held = (transaction, [])
        session.info[_PENDING_KEY] = held
    held[1].append(_Pending(actor_id, action, resource, client))


@event.listens_for(Session, "before_commit")
def _write_pending(session: Session) -> None:
    held = session.info.pop(_PENDING_KEY, None)
    if held is None or held[0] is not session.get_transaction() or not held[1]:
        return
    for pending in held[1]:
        record(
            session,
            actor_id=pending.actor_id,
            action=pending.action,
            resource=pending.resource,
            client=pending.client,
        )


@dataclass(frozen=True)
class Verification:
    ok: bool
    rows: int
    broken_seq: int | None = None
    reason: str | None = None


def verify(session: Session, *, batch: int = 5000) -> Verification:
    """Walk the chain in `seq` order; the first row that does not check out is named."""
    prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    rows = session.execute(select(AuditEntry).order_by(AuditEntry.seq)).yield_per(batch).scalars()
    for row in rows:
        if row.seq != expected_seq:
            return Verification(False, count, row.seq, f"expected row {expected_seq} next")
        if row.prev_hash != prev:
            return Verification(False, count, row.seq, "prev_hash does not match the row before")
        expected = row_hash(
            prev,
            seq=row.seq,
            at=row.at,
            actor_id=row.actor_id,
            action=row.action,
            resource=row.resource,
            client=row.client,
        )
        if row.hash != expected:
            return Verification(False, count, row.seq, "hash does not match the row's contents")
        prev = row.hash
        expected_seq += 1
        count += 1
    return Verification(True, count)
