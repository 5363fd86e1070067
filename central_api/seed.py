"""`assistant-api seed`: a deterministic synthetic practice world.

`seed_database(session, size=N, demo_password=PW, rng_seed=7)` fills an empty,
migrated database with two practices in different time zones, a training
practice, their staff, approved scripts, patients, appointments, referrals,
N tasks (open ones in all eight workflows for every assistant, some overdue),
their attempts, a few open escalations, and a change_log row for every feed
record. The same seed gives the same ids and rows; "now" is anchored to noon
UTC of `today` (the real date unless given), so only the dates move day to day.

Rows are written with bulk `insert()` executemany, not ORM objects, so 100k
tasks take seconds. The password is hashed once (argon2 is deliberately slow)
and that hash is shared by every seeded user.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from central_api import models
from central_api.core.security import hash_password, token_digest
from central_api.practice_keys import new_webhook_key
from central_api.seeding.names import practice_phone
from central_api.seeding.records import WORKFLOWS, Generator, PracticeWorld, Row, new_uuid
from central_api.seeding.reference import PRACTICES, STAFF, approved_script_body, practice_config
from followup_core.enums import ChangeKind, EscalationRoute, Role

DEFAULT_SIZE = 1000
MIN_SIZE = 100
MIN_PATIENTS = 500
CHUNK = 10_000

# Routes of the example open escalations, per real practice.
EXAMPLE_ROUTES = (
    EscalationRoute.CLINICAL.value,
    EscalationRoute.LANGUAGE.value,
    EscalationRoute.BILLING.value,
)


class SeedError(ValueError):
    """The database cannot be seeded (e.g. it already holds data)."""


def _plan(size: int) -> tuple[dict[str, int], dict[str, int]]:
    """How many tasks and patients each practice gets for a total of `size` tasks."""
    training_tasks = max(24, size // 50)
    real = size - training_tasks
    tasks = {"hudson": real * 55 // 100, "training": training_tasks}
    tasks["frontrange"] = real - tasks["hudson"]
    n_patients = max(MIN_PATIENTS, size // 2)
    training_patients = max(40, n_patients * training_tasks // size)
    real_patients = n_patients - training_patients
    patients = {
        "hudson": real_patients * 55 // 100,
        "training": training_patients,
    }
    patients["frontrange"] = real_patients - patients["hudson"]
    return tasks, patients


def _bulk(session: Session, table: Table, rows: Sequence[Row]) -> None:
    for start in range(0, len(rows), CHUNK):
        session.execute(insert(table), list(rows[start : start + CHUNK]))


def _changes(
    kind: ChangeKind,
    rows: Sequence[Row],
    now: datetime,
    *,
    practice: Callable[[Row], str] = lambda r: str(r["practice_id"]),
    owner: Callable[[Row], str | None] = lambda r: None,
) -> list[Row]:
    """change_log rows for new records: `owner_id` only on tasks and attempts (feed convention)."""
    return [
        {
            "kind": kind.value,
            "record_id": row["id"],
            "practice_id": practice(row),
            "owner_id": owner(row),
            "previous_owner_id": None,
            "op": "upsert",
            "version": row.get("version", 1),
            "at": now,
        }
        for row in rows
    ]


def _table(model: type[models.Base]) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def seed_database(
    session: Session,
    *,
    size: int | None = None,
    demo_password: str,
    rng_seed: int = 7,
    today: date | None = None,
) -> dict[str, Any]:
    """Fill an empty migrated database; commit; return the `seed --json` summary."""
    if not demo_password:
        raise SeedError("a demo password is required")
    if session.scalar(select(func.count()).select_from(models.Practice)):
        raise SeedError("the database already holds practices; seed an empty database")
    size = max(MIN_SIZE, size if size is not None else DEFAULT_SIZE)
    today = today or datetime.now(UTC).date()
    now = datetime.combine(today, time(12, 0), UTC)
    task_plan, patient_plan = _plan(size)

    # Reference data draws from its own stream, so --size never changes these ids.
    ref = random.Random(f"{rng_seed}/reference")
    practice_rows: list[Row] = []
    summary_practices: list[dict[str, Any]] = []
    practice_ids: dict[str, str] = {}
    contacts: dict[str, dict[str, dict[str, Any]]] = {}
    for spec in PRACTICES:
        pid = new_uuid(ref)
        ref.randbytes(24)  # the draw stays, so every id after it is what this seed always gave
        # A secret, unlike everything else seeded: from `secrets`, new for every installation.
        webhook_key = new_webhook_key()
        config = practice_config(spec, today)
        practice_ids[spec.key] = pid
        contacts[spec.key] = {c["route"]: c for c in config["escalation_contacts"]}
        practice_rows.append(
            {
                "id": pid,
                "name": spec.name,
                "timezone": spec.timezone,
                "phone": practice_phone(spec.area_code),
                "is_training": spec.is_training,
                "webhook_key_hash": token_digest(webhook_key),
                "config": config,
                "version": 1,
            }
        )
        summary_practices.append(
            {
                "id": pid,
                "name": spec.name,
                "timezone": spec.timezone,
                "webhook_key": webhook_key,
                "is_training": spec.is_training,
            }
        )

    password_hash = hash_password(demo_password)
    user_rows: list[Row] = []
    membership: list[Row] = []
    summary_users: list[dict[str, Any]] = []
    assistants: dict[str, list[str]] = {spec.key: [] for spec in PRACTICES}
    for staff in STAFF:
        uid = new_uuid(ref)
        user_rows.append(
            {
                "id": uid,
                "username": staff.username,
                "display_name": staff.display_name,
                "role": staff.role.value,
                "password_hash": password_hash,
                "active": True,
                "failed_logins": 0,
                "locked_until": None,
                "created_at": now,
            }
        )
        membership += [{"user_id": uid, "practice_id": practice_ids[k]} for k in staff.practices]
        if staff.role == Role.ASSISTANT and staff.works_queue:
            for key in staff.practices:
                assistants[key].append(uid)
        summary_users.append(
            {
                "id": uid,
                "username": staff.username,
                "role": staff.role.value,
                "display_name": staff.display_name,
                "practice_ids": [practice_ids[k] for k in staff.practices],
            }
        )

    script_rows: list[Row] = []
    scripts: dict[str, dict[str, str]] = {}
    for spec in PRACTICES:
        scripts[spec.key] = {}
        for workflow in WORKFLOWS:
            sid = new_uuid(ref)
            scripts[spec.key][workflow.value] = sid
            script_rows.append(
                {
                    "id": sid,
                    "practice_id": practice_ids[spec.key],
                    "workflow": workflow.value,
                    "version": 1,
                    "body": approved_script_body(workflow.value, approved_by=spec.director),
                    "active": True,
                }
            )

    gen = Generator(random.Random(f"{rng_seed}/records/{size}"), now)
    worlds = [
        PracticeWorld(
            id=practice_ids[spec.key],
            timezone=spec.timezone,
            assistants=assistants[spec.key],
            scripts=scripts[spec.key],
            contacts=contacts[spec.key],
            n_patients=patient_plan[spec.key],
            n_tasks=task_plan[spec.key],
        )
        for spec in PRACTICES
    ]
    for world in worlds:
        gen.patients(world)
    for world in worlds:
        gen.tasks(world)
    for world, spec in zip(worlds, PRACTICES, strict=True):
        if not spec.is_training:
            gen.escalations(world, EXAMPLE_ROUTES)
    rec = gen.out

    # The feed's view of each task: attempts take their practice and owner from it.
    task_practice = {t["id"]: t["practice_id"] for t in rec.tasks}
    task_owner = {t["id"]: t["owner_id"] for t in rec.tasks}
    changes = [
        *_changes(ChangeKind.PRACTICE, practice_rows, now, practice=lambda r: r["id"]),
        *_changes(ChangeKind.SCRIPT, script_rows, now),
        *_changes(ChangeKind.PATIENT, rec.patients, now),
        *_changes(ChangeKind.APPOINTMENT, rec.appointments, now),
        *_changes(ChangeKind.REFERRAL, rec.referrals, now),
        *_changes(ChangeKind.TASK, rec.tasks, now, owner=lambda r: r["owner_id"]),
        *_changes(
            ChangeKind.ATTEMPT,
            rec.attempts,
            now,
            practice=lambda r: task_practice[r["task_id"]],
            owner=lambda r: task_owner[r["task_id"]],
        ),
        *_changes(ChangeKind.ESCALATION, rec.escalations, now),
    ]

    for model, rows in (
        (models.Practice, practice_rows),
        (models.User, user_rows),
        (models.UserPractice, membership),
        (models.Script, script_rows),
        (models.Patient, rec.patients),
        (models.Appointment, rec.appointments),
        (models.Referral, rec.referrals),
        (models.Task, rec.tasks),
        (models.Attempt, rec.attempts),
        (models.Escalation, rec.escalations),
        (models.ChangeLog, changes),
    ):
        _bulk(session, _table(model), rows)
    session.commit()

    open_tasks = sum(1 for t in rec.tasks if t["status"] not in ("completed", "failed"))
    return {
        "users": summary_users,
        "practices": summary_practices,
        "counts": {
            "practices": len(practice_rows),
            "users": len(user_rows),
            "scripts": len(script_rows),
            "patients": len(rec.patients),
            "appointments": len(rec.appointments),
            "referrals": len(rec.referrals),
            "tasks": len(rec.tasks),
            "open_tasks": open_tasks,
            "attempts": len(rec.attempts),
            "escalations": len(rec.escalations),
            "change_log": len(changes),
        },
        "rng_seed": rng_seed,
    }
