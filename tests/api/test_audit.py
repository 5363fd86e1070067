"""The audit log is hash-chained and append-only: tampering anywhere is detected."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, select, update

from central_api import audit
from central_api.db import make_engine, make_session_factory, migrate
from central_api.models import AuditEntry
from tests.api.platform_fixtures import Platform, platform

__all__ = ["platform"]


def _append(p: Platform, n: int, *, actor: str | None = None) -> None:
    with p.session() as session:
        for i in range(n):
            audit.record(
                session, actor_id=actor, action="task.read", resource=f"task:t{i}", client="tests"
            )
        session.commit()


def _verify(p: Platform) -> audit.Verification:
    with p.session() as session:
        return audit.verify(session)


def test_empty_chain_verifies(platform: Platform) -> None:
    assert _verify(platform) == audit.Verification(ok=True, rows=0)


def test_rows_chain_and_verify(platform: Platform) -> None:
    _append(platform, 5)
    result = _verify(platform)
    assert result.ok
    assert result.rows == 5


def test_hash_is_sha256_of_prev_hash_and_canonical_row(platform: Platform) -> None:
    _append(platform, 2, actor="u1")
    with platform.session() as session:
        first, second = session.scalars(select(AuditEntry).order_by(AuditEntry.seq)).all()
    assert first.prev_hash == audit.GENESIS_HASH
    assert second.prev_hash == first.hash
    canonical = json.dumps(
        {
            "action": second.action,
            "actor": second.actor_id,
            "at": second.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "client": second.client,
            "resource": second.resource,
            "seq": second.seq,
        },
        separators=(",", ":"),
    )
    assert second.hash == hashlib.sha256((first.hash + canonical).encode()).hexdigest()


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("resource", "task:someone-else"),
        ("actor_id", "intruder"),
        ("action", "task.write"),
        ("client", "forged"),
        ("at", datetime(2020, 1, 1, tzinfo=UTC)),
        ("hash", "0" * 64),
        ("prev_hash", "f" * 64),
    ],
)
def test_editing_any_field_breaks_the_chain_at_that_row(
    platform: Platform, column: str, value: object
) -> None:
    _append(platform, 6)
    with platform.session() as session:
        session.execute(update(AuditEntry).where(AuditEntry.seq == 4).values({column: value}))
        session.commit()
    result = _verify(platform)
    assert not result.ok
    assert result.broken_seq == 4
    assert result.rows == 3


def test_deleting_a_row_breaks_the_chain(platform: Platform) -> None:
    _append(platform, 6)
    with platform.session() as session:
        session.execute(delete(AuditEntry).where(AuditEntry.seq == 3))
        session.commit()
    result = _verify(platform)
    assert not result.ok
    assert result.broken_seq == 4


def test_rehashing_a_tampered_row_still_breaks_the_next(platform: Platform) -> None:
    """Recomputing the edited row's own hash does not help: the next row names the old one."""
    _append(platform, 4)
    with platform.session() as session:
        row = session.get(AuditEntry, 2)
        assert row is not None
        row.resource = "task:rewritten"
        row.hash = audit.row_hash(
            row.prev_hash,
            seq=row.seq,
            at=row.at,
            actor_id=row.actor_id,
            action=row.action,
            resource=row.resource,
            client=row.client,
        )
        session.commit()
    result = _verify(platform)
    assert not result.ok
    assert result.broken_seq == 3


def test_concurrent_appends_never_fork_the_chain(platform: Platform) -> None:
    _concurrent_appends(platform.url)


@pytest.mark.postgres
def test_concurrent_appends_on_postgres(create_database: Callable[..., str]) -> None:
    _concurrent_appends(create_database())


def _concurrent_appends(url: str, threads: int = 4, each: int = 20) -> None:
    migrate(url)
    engine = make_engine(url)
    factory = make_session_factory(engine)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            for i in range(each):
                with factory() as session:
                    audit.record(
                        session,
                        actor_id=f"w{n}",
                        action="task.read",
                        resource=f"task:{i}",
                        client="tests",
                    )
                    session.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)
    assert not errors, errors
    with factory() as session:
        result = audit.verify(session)
    engine.dispose()
    assert result.ok, result
    assert result.rows >= threads * each


def test_audit_pages_for_supervisors_and_admins(platform: Platform) -> None:
    _append(platform, 5)
    # An admin linked to no practice reads every row (a supervisor reads only rows
    # about their practices: see tests/api/test_hardening.py).
    headers = platform.headers("admin")  # adds one auth.login row: 6 in all
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["after"] = cursor
        response = platform.client.get("/v1/audit", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        seen += [row["seq"] for row in page["rows"]]
        cursor = page["cursor"]
        if not page["has_more"]:
            break
    assert seen == [1, 2, 3, 4, 5, 6]
    # The final cursor stays valid and returns nothing new.
    response = platform.client.get("/v1/audit", params={"after": cursor}, headers=headers)
    assert response.json()["rows"] == []
    assert response.json()["cursor"] == cursor

    supervisor = platform.client.get("/v1/audit", headers=platform.headers("supervisor"))
    assert supervisor.status_code == 200
    assert supervisor.json()["rows"] == []  # this supervisor works in no practice
    for role in ("assistant", "trainer"):
        denied = platform.client.get("/v1/audit", headers=platform.headers(role))
        assert denied.status_code == 403


def test_audit_rows_carry_no_secrets(platform: Platform) -> None:
    headers = platform.headers("admin")
    rows = platform.client.get("/v1/audit", headers=headers).json()["rows"]
    assert rows
    text = json.dumps(rows)
    assert platform.password not in text
    assert headers["Authorization"].split()[1] not in text
    assert "admin" not in text  # usernames stay out: resources are ids
