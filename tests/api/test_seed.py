"""The synthetic practice: deterministic, complete, and valid against the wire schemas."""

from __future__ import annotations

import hashlib
import secrets
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Table, func, select
from sqlalchemy.orm import Session

from central_api import models, serialize
from central_api.core.security import verify_password
from central_api.db import make_engine, make_session_factory, migrate
from central_api.seed import SeedError, seed_database
from followup_core.enums import TERMINAL_STATUSES, EscalationRoute, Role, WorkflowId
from tests.support.postgres import PostgresServer

TODAY = date(2026, 11, 27)
NOW = datetime.combine(TODAY, time(12, 0), UTC)
PASSWORD = secrets.token_urlsafe(16)

# Every table the seeder writes, with the column(s) that order it.
TABLES: tuple[type[models.Base], ...] = (
    models.Practice,
    models.User,
    models.UserPractice,
    models.Script,
    models.Patient,
    models.Appointment,
    models.Referral,
    models.Task,
    models.Attempt,
    models.Escalation,
    models.ChangeLog,
)


def _engine(url: str) -> Engine:
    migrate(url)
    return make_engine(url)


def _seed(url: str, **kwargs: Any) -> tuple[Engine, dict[str, Any]]:
    engine = _engine(url)
    with make_session_factory(engine)() as session:
        summary = seed_database(session, demo_password=PASSWORD, today=TODAY, **kwargs)
    return engine, summary


def _rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every seeded table, in primary-key order (argon2 salts and the
    per-installation webhook keys differ: skipped)."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for model in TABLES:
            table = model.__table__
            assert isinstance(table, Table)
            cols = [c for c in table.columns if c.name not in ("password_hash", "webhook_key_hash")]
            pk = list(table.primary_key.columns)
            out[table.name] = [tuple(r) for r in conn.execute(select(*cols).order_by(*pk))]
    return out


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Engine, dict[str, Any]]]:
    path = tmp_path_factory.mktemp("seed") / "seed.db"
    engine, summary = _seed(f"sqlite:///{path}", size=400)
    yield engine, summary
    engine.dispose()


@pytest.fixture
def session(seeded: tuple[Engine, dict[str, Any]]) -> Iterator[Session]:
    with make_session_factory(seeded[0])() as s:
        yield s


def _without_keys(summary: dict[str, Any]) -> dict[str, Any]:
    practices = [{k: v for k, v in p.items() if k != "webhook_key"} for p in summary["practices"]]
    return {**summary, "practices": practices}


def test_same_seed_gives_the_same_summary_and_rows(tmp_path: Path) -> None:
    first, summary_a = _seed(f"sqlite:///{tmp_path / 'a.db'}", size=300)
    second, summary_b = _seed(f"sqlite:///{tmp_path / 'b.db'}", size=300)
    try:
        assert _without_keys(summary_a) == _without_keys(summary_b)
        # Secrets are the exception: every installation gets its own webhook keys.
        keys_a = [p["webhook_key"] for p in summary_a["practices"]]
        keys_b = [p["webhook_key"] for p in summary_b["practices"]]
        assert set(keys_a).isdisjoint(keys_b)
        rows_a, rows_b = _rows(first), _rows(second)
        assert rows_a.keys() == rows_b.keys()
        for name in rows_a:
            assert rows_a[name] == rows_b[name], f"table {name} differs between two seeded runs"
    finally:
        first.dispose()
        second.dispose()


def test_another_seed_gives_other_ids(tmp_path: Path) -> None:
    a, summary_a = _seed(f"sqlite:///{tmp_path / 'a.db'}", size=150, rng_seed=7)
    b, summary_b = _seed(f"sqlite:///{tmp_path / 'b.db'}", size=150, rng_seed=8)
    a.dispose()
    b.dispose()
    assert {p["id"] for p in summary_a["practices"]}.isdisjoint(
        p["id"] for p in summary_b["practices"]
    )
    assert [p["webhook_key"] for p in summary_a["practices"]] != [
        p["webhook_key"] for p in summary_b["practices"]
    ]


@pytest.mark.postgres
def test_postgres_gets_the_same_rows_as_sqlite(
    tmp_path: Path, postgres_server: PostgresServer
) -> None:
    lite, summary_lite = _seed(f"sqlite:///{tmp_path / 'a.db'}", size=200)
    pg, summary_pg = _seed(postgres_server.create_database(), size=200)
    try:
        assert _without_keys(summary_lite) == _without_keys(summary_pg)
        rows_lite, rows_pg = _rows(lite), _rows(pg)
        for name in rows_lite:
            assert rows_lite[name] == rows_pg[name], f"table {name} differs on PostgreSQL"
    finally:
        lite.dispose()
        pg.dispose()


def test_counts_match_the_summary(session: Session, seeded: tuple[Engine, dict[str, Any]]) -> None:
    counts = seeded[1]["counts"]

    def count(model: type[models.Base]) -> int:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)

    assert counts["tasks"] == count(models.Task) == 400
    assert counts["patients"] == count(models.Patient) >= 500
    assert counts["practices"] == count(models.Practice) == 3
    assert counts["users"] == count(models.User) == len(seeded[1]["users"])
    assert counts["scripts"] == count(models.Script) == 3 * len(WorkflowId)
    feed_records = sum(
        count(m)
        for m in (
            models.Practice,
            models.Script,
            models.Patient,
            models.Appointment,
            models.Referral,
            models.Task,
            models.Attempt,
            models.Escalation,
        )
    )
    assert counts["change_log"] == count(models.ChangeLog) == feed_records


def test_size_scales_tasks_and_patients(tmp_path: Path) -> None:
    engine, summary = _seed(f"sqlite:///{tmp_path / 'big.db'}", size=3000)
    engine.dispose()
    assert summary["counts"]["tasks"] == 3000
    assert summary["counts"]["patients"] == 1500


def test_every_record_has_its_change_log_row(session: Session) -> None:
    logged = Counter((row.kind, row.record_id) for row in session.scalars(select(models.ChangeLog)))
    assert max(logged.values()) == 1
    for kind, model in serialize.MODELS.items():
        for record_id in session.scalars(select(model.id)):  # type: ignore[attr-defined]
            assert (kind.value, record_id) in logged, f"{kind} {record_id} not in change_log"


def test_task_and_attempt_changes_carry_the_owner(session: Session) -> None:
    owners = {
        r.id: r.owner_id for r in session.execute(select(models.Task.id, models.Task.owner_id))
    }
    attempt_task = {
        r.id: r.task_id for r in session.execute(select(models.Attempt.id, models.Attempt.task_id))
    }
    for row in session.scalars(select(models.ChangeLog)):
        if row.kind == "task":
            assert row.owner_id == owners[row.record_id]
        elif row.kind == "attempt":
            assert row.owner_id == owners[attempt_task[row.record_id]]
        else:
            assert row.owner_id is None


def test_every_assistant_has_open_tasks_in_all_eight_workflows(
    session: Session, seeded: tuple[Engine, dict[str, Any]]
) -> None:
    assistants = [u for u in seeded[1]["users"] if u["role"] == Role.ASSISTANT]
    assert any(u["username"] == "demo" for u in assistants)
    open_work: dict[str, set[str]] = {}
    for task in session.scalars(select(models.Task)):
        if task.status not in TERMINAL_STATUSES and task.owner_id:
            open_work.setdefault(task.owner_id, set()).add(task.workflow)
    for user in assistants:
        assert open_work.get(user["id"]) == {w.value for w in WorkflowId}, user["username"]


def test_some_open_tasks_are_overdue_and_some_are_not(session: Session) -> None:
    open_dues = [
        t.due_at for t in session.scalars(select(models.Task)) if t.status not in TERMINAL_STATUSES
    ]
    assert any(d < NOW for d in open_dues)
    assert any(d > NOW for d in open_dues)


def test_practices_are_complete(session: Session, seeded: tuple[Engine, dict[str, Any]]) -> None:
    practices = [serialize.practice_out(p) for p in session.scalars(select(models.Practice))]
    real = [p for p in practices if not p.is_training]
    assert len(real) == 2 and len({p.timezone for p in real}) == 2
    assert sum(p.is_training for p in practices) == 1
    for p in practices:
        assert {c.route for c in p.escalation_contacts} == set(EscalationRoute)
        assert all(c.name and c.reach and c.ack_target_minutes > 0 for c in p.escalation_contacts)
        assert p.business_hours and p.holidays and p.red_flag_phrases
        assert "911" in p.emergency_instruction
    training = next(p for p in practices if p.is_training)
    trainees = session.scalar(
        select(func.count())
        .select_from(models.Patient)
        .where(models.Patient.practice_id == training.id)
    )
    assert trainees and trainees > 0


def test_webhook_keys_are_stored_only_hashed(
    session: Session, seeded: tuple[Engine, dict[str, Any]]
) -> None:
    keys = {p["id"]: p["webhook_key"] for p in seeded[1]["practices"]}
    for practice in session.scalars(select(models.Practice)):
        key = keys[practice.id]
        assert len(key) >= 32
        assert practice.webhook_key_hash == hashlib.sha256(key.encode()).hexdigest()
        assert key not in repr(practice.config)


def test_users_sign_in_with_the_demo_password(session: Session) -> None:
    users = list(session.scalars(select(models.User)))
    assert {u.role for u in users} == set(Role)
    assert all(u.password_hash.startswith("$argon2id$") for u in users)
    assert verify_password(users[0].password_hash, PASSWORD)
    assert not verify_password(users[0].password_hash, PASSWORD + "x")


def test_patients_are_synthetic_and_varied(session: Session) -> None:
    patients = list(session.scalars(select(models.Patient)))
    # 555-0100..0199 is the fictional block.
    assert all(p.phone[5:9] == "5550" and 100 <= int(p.phone[9:]) <= 199 for p in patients)
    assert len({p.phone for p in patients}) == len(patients)
    assert any(p.interpreter_needed for p in patients)
    assert len({p.preferred_language for p in patients}) > 2
    assert len({p.timezone for p in patients}) > 3
    assert {p.intake_status for p in patients} == {"complete", "partial", "missing"}


def test_every_row_serializes_to_its_wire_schema(session: Session) -> None:
    for kind, model in serialize.MODELS.items():
        rows = list(session.scalars(select(model)))
        assert rows, f"no {kind} rows seeded"
        for row in rows:
            serialize.to_json(kind, row)


def test_voicemail_scripts_pass_the_lint(session: Session) -> None:
    from followup_core.scripts import lint_voicemail

    scripts = [serialize.script_out(s) for s in session.scalars(select(models.Script))]
    assert {s.workflow for s in scripts} == set(WorkflowId)
    for script in scripts:
        lint_voicemail(script.voicemail)


def test_seeding_twice_is_refused_without_writing(
    session: Session, seeded: tuple[Engine, dict[str, Any]]
) -> None:
    before = session.scalar(select(func.count()).select_from(models.Task))
    with pytest.raises(SeedError, match="already"):
        seed_database(session, demo_password=PASSWORD)
    session.rollback()
    assert session.scalar(select(func.count()).select_from(models.Task)) == before
