"""ORM models of the central API (SQLAlchemy 2, typed).

These are storage, not wire: routes convert them to `followup_core.schemas`.
Every schema change goes through an Alembic migration in `central_api/migrations`.
Datetimes are stored as UTC and always come back timezone-aware, on SQLite too.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    false,
    select,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores aware datetimes as UTC; SQLite drops the zone, so put it back on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class Practice(Base):
    __tablename__ = "practices"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(32))
    is_training: Mapped[bool] = mapped_column(Boolean, default=False)
    webhook_key_hash: Mapped[str] = mapped_column(String(128))
    # business_hours, holidays, escalation_contacts, emergency_instruction, red_flag_phrases
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=1)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # A trainee gets real work only in workflows a trainer cleared them for
    # (training_clearances); existing assistants need no clearance.
    clearance_required: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class UserPractice(Base):
    """Which practices a user works in (an assistant's queue is drawn from these)."""

    __tablename__ = "user_practices"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), primary_key=True)


class Token(Base):
    """An opaque bearer token, stored only as its SHA-256."""

    __tablename__ = "tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    client: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()  # absolute expiry
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Script(Base):
    __tablename__ = "scripts"
    __table_args__ = (UniqueConstraint("practice_id", "workflow", "version"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    workflow: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer)
    # title, approved_by, approved_at, steps, voicemail, do_not_say (ScriptOut minus id/workflow)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # draft → approved (by a supervisor or admin other than the author) → retired.
    # Only approved versions enter the feed; an approved body is never edited.
    status: Mapped[str] = mapped_column(String(16), default="approved", server_default="approved")
    author_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_by_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime | None] = mapped_column(nullable=True)


class SetupCode(Base):
    """A new staff member's one-time set-up code, stored only as its SHA-256."""

    __tablename__ = "setup_codes"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Patient(Base):
    __tablename__ = "patients"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str] = mapped_column(String(32), index=True)
    timezone: Mapped[str] = mapped_column(String(64))
    preferred_language: Mapped[str] = mapped_column(String(32))
    interpreter_needed: Mapped[bool] = mapped_column(Boolean, default=False)
    consent: Mapped[dict[str, Any]] = mapped_column(JSON)
    intake_status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)


class Appointment(Base):
    __tablename__ = "appointments"
    __table_args__ = (Index("ix_appointments_practice_start", "practice_id", "start_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    start_at: Mapped[datetime] = mapped_column()
    provider: Mapped[str] = mapped_column(String(100))
    location: Mapped[str] = mapped_column(String(100))
    visit_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)


class Referral(Base):
    __tablename__ = "referrals"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), index=True)
    patient_id: Mapped[str] = mapped_column(ForeignKey("patients.id"), index=True)
    specialty: Mapped[str] = mapped_column(String(100))
    referred_at: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(16))
    receiving_provider: Mapped[str] = mapped_column(String(100))
    version: Mapped[int] = mapped_column(Integer, default=1)


class Task(Base):
    __tablename__ = "tasks"
    __table_args__ = (
        Index("ix_tasks_owner_status", "owner_id", "status"),
        Index("ix_tasks_practice_status", "practice_id", "status"),
        Index("ix_tasks_practice_created", "practice_id", "created_at"),
        Index("ix_tasks_focus", "focus_id"),
        Index("ix_tasks_practice_review", "practice_id", "needs_review"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"))
    workflow: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32))
    business_status: Mapped[str | None] = mapped_column(String(64), nullable=True)
    priority: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    patient_id: Mapped[str | None] = mapped_column(ForeignKey("patients.id"), nullable=True)
    caller_phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    focus_kind: Mapped[str | None] = mapped_column(String(16), nullable=True)
    focus_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    due_at: Mapped[datetime] = mapped_column()
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    next_action: Mapped[str | None] = mapped_column(String(200), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    script_id: Mapped[str | None] = mapped_column(ForeignKey("scripts.id"), nullable=True)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    lease_holder_id: Mapped[str | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    # The earliest attempt's start (revision 0007), kept by work.record_attempt: SLA
    # and callback figures read it instead of aggregating attempts per task.
    first_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (
        Index("ix_attempts_task_started", "task_id", "started_at"),
        Index("ix_attempts_practice_started", "practice_id", "started_at"),
        Index("ix_attempts_practice_outcome", "practice_id", "outcome", "started_at", "task_id"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # client-generated UUID
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), index=True)
    # The task's practice, copied (revision 0007) so the metrics count a period's
    # attempts on one index range; filled from the task when left unset (see below).
    practice_id: Mapped[str] = mapped_column(String(64))
    assistant_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    channel: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime] = mapped_column()
    identity_verified: Mapped[bool] = mapped_column(Boolean)
    next_step_action: Mapped[str | None] = mapped_column(String(200), nullable=True)
    next_step_due_at: Mapped[datetime | None] = mapped_column(nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    script_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    script_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    escalation_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    conflict: Mapped[bool] = mapped_column(Boolean, default=False)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


@event.listens_for(Attempt, "before_insert")
def _attempt_practice(mapper: Any, connection: Connection, target: Attempt) -> None:
    """An attempt added through the ORM without `practice_id` takes its task's."""
    if target.practice_id is None:
        target.practice_id = connection.scalar(
            select(Task.practice_id).where(Task.id == target.task_id)
        )


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_practice_status", "practice_id", "status"),
        Index("ix_escalations_practice_raised", "practice_id", "raised_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"))
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), index=True)
    patient_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    route: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    contact: Mapped[dict[str, Any]] = mapped_column(JSON)
    raised_by: Mapped[str] = mapped_column(String(64))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    ack_due_at: Mapped[datetime] = mapped_column()
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    resolution: Mapped[str | None] = mapped_column(Text, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)


class IdempotencyRecord(Base):
    """Stripe-style idempotency: the key and the stored response commit with the write."""

    __tablename__ = "idempotency_keys"

    user_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(100))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Presence(Base):
    __tablename__ = "presence"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    since: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeLog(Base):
    """The sync feed: one row per change, in commit order; the cursor is `seq`.

    `owner_id`/`previous_owner_id` let the feed send a task (and its attempts) to
    its new owner as an upsert and to the one it was taken from as a remove.
    """

    __tablename__ = "change_log"
    __table_args__ = (Index("ix_change_log_practice_seq", "practice_id", "seq"),)

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    record_id: Mapped[str] = mapped_column(String(64))
    practice_id: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    previous_owner_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    op: Mapped[str] = mapped_column(String(8))
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """Append-only, hash-chained: hash = sha256(prev_hash + canonical row)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    action: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(100))
    client: Mapped[str] = mapped_column(String(100))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


# --- supervision (issue 8) ----------------------------------------------------


class SessionMirror(Base):
    """The latest mirror of one user's workspace (PostgreSQL: shared by every API process).

    On SQLite (one process) the snapshot lives in memory and this table stays empty;
    see `central_api.supervision.mirror`. `state` is `followup_core.supervision.MirrorState`.
    """

    __tablename__ = "session_mirrors"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), default=0)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ShadowSessionRow(Base):
    """One observer shadowing one assistant (VICIdial's monitor log): open while `ended_at` is NULL."""

    __tablename__ = "shadow_sessions"
    __table_args__ = (
        Index("ix_shadow_sessions_subject_open", "subject_id", "ended_at"),
        Index("ix_shadow_sessions_observer_open", "observer_id", "ended_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    observer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    subject_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Whisper(Base):
    """A private line from an observer to an assistant. Never copied into anything patient-facing."""

    __tablename__ = "whispers"
    __table_args__ = (Index("ix_whispers_to_user_ack", "to_user_id", "acknowledged_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    from_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    to_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(String(400))
    # The script step key the trainee was on when a trainer coached (training runs).
    step: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(nullable=True)


class PracticeSupervision(Base):
    """A practice's supervision settings (`followup_core.supervision.SupervisionSettings`);
    no row means the defaults (told; VICIdial thresholds)."""

    __tablename__ = "practice_supervision"

    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), primary_key=True)
    tell_observed: Mapped[bool] = mapped_column(Boolean, default=True)
    thresholds: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class MissedCall(Base):
    """One missed call as the phone system reported it (interop, revision 0005).

    Every call is a row, whatever came of it, so the metrics can count them:
    `caller_kind` is `matched` (a patient's number), `unmatched` (a real number
    nobody on file has), `withheld` (`withheld_reason` says how the provider
    reported it) or `invalid` (not a number that can exist; never called back).
    `call_sid` is the provider's call id: a callback repeated by the provider
    finds its row and changes nothing. The raw caller text is never stored.
    """

    __tablename__ = "missed_calls"
    __table_args__ = (
        UniqueConstraint("practice_id", "call_sid", name="uq_missed_calls_practice_call_sid"),
        Index("ix_missed_calls_practice_called_at", "practice_id", "called_at"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"))
    call_sid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    source: Mapped[str] = mapped_column(String(16))  # json | twilio
    call_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    caller_kind: Mapped[str] = mapped_column(String(16))
    withheld_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
    caller_e164: Mapped[str | None] = mapped_column(String(32), nullable=True)
    caller_extension: Mapped[str | None] = mapped_column(String(16), nullable=True)
    called_at: Mapped[datetime] = mapped_column()
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    task_id: Mapped[str | None] = mapped_column(String(64), nullable=True)


class TelephonyAccount(Base):
    """A practice's telephony provider account: the secret its callbacks are signed with.

    The provider computes the signature from this secret, so it is kept as given
    (a hash could not verify an HMAC); it never appears in an API answer or a log.
    """

    __tablename__ = "telephony_accounts"

    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), primary_key=True)
    provider: Mapped[str] = mapped_column(String(16))  # twilio (and compatible providers)
    auth_token: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ExternalId(Base):
    """An identifier another system gave one of our records (FHIR `system|value`, a CSV key).

    A re-import finds the record by it and changes nothing when nothing changed.
    `system` is the identifier's system URI; a FHIR resource's own logical id is
    kept too, as system `urn:assistant-tui:fhir-id` and value `Type/id`, so a
    later Bundle's references (`Patient/123`) still resolve.
    """

    __tablename__ = "external_ids"
    __table_args__ = (Index("ix_external_ids_record", "record_id"),)

    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    system: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)
    record_id: Mapped[str] = mapped_column(String(64))


class AppointmentStatusChange(Base):
    """An appointment's status history (booked, confirmed, fulfilled, noshow, cancelled),
    with when we learned it (`recorded_at`, UTC) and when the source says it changed
    (`source_at`, e.g. FHIR `meta.lastUpdated`), so a no-show figure can be computed."""

    __tablename__ = "appointment_status_changes"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    appointment_id: Mapped[str] = mapped_column(ForeignKey("appointments.id"), index=True)
    practice_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))  # fhir | csv
    source_at: Mapped[datetime | None] = mapped_column(nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class InstallationSecret(Base):
    """A secret unique to this installation (e.g. the key that signs cursors).

    Generated from `secrets` by the migration that adds the table (and on first use
    if a row is missing), never a constant in the source; see `central_api.installation`.
    """

    __tablename__ = "installation_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Throttle(Base):
    """A fixed-window counter of failures per key (a source address or a name, hashed).

    Shared by every API process on one database; see `central_api.throttle`.
    """

    __tablename__ = "throttles"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_started_at: Mapped[datetime] = mapped_column()
    hits: Mapped[int] = mapped_column(Integer)


class TrainingRun(Base):
    """A scenario assigned to a trainee: a task on the training practice, then a score.

    `status` is assigned (worked in the workspace) or scored (the outcome is saved
    and every trainer-marked item is marked); `score` (0-100) and `passed` are set
    when scored.
    """

    __tablename__ = "training_runs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_id)
    practice_id: Mapped[str] = mapped_column(ForeignKey("practices.id"))
    scenario_id: Mapped[str] = mapped_column(String(64))
    scenario_version: Mapped[int] = mapped_column(Integer)
    form_id: Mapped[str] = mapped_column(String(64))
    form_version: Mapped[int] = mapped_column(Integer)
    trainee_id: Mapped[str] = mapped_column(ForeignKey("users.id"), index=True)
    trainer_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    task_id: Mapped[str] = mapped_column(ForeignKey("tasks.id"), unique=True)
    workflow: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    score: Mapped[float | None] = mapped_column(nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    scored_at: Mapped[datetime | None] = mapped_column(nullable=True)


class TrainingLine(Base):
    """A line the trainer typed live as the simulated patient of a run (synthetic text).

    Delivered to the trainee as a `training` event (the run's id only); the text is
    read over `GET /v1/training/runs/{id}/lines`. Never patient-facing data.
    """

    __tablename__ = "training_lines"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[str] = mapped_column(ForeignKey("training_runs.id"), index=True)
    from_user_id: Mapped[str] = mapped_column(ForeignKey("users.id"))
    step: Mapped[str | None] = mapped_column(String(64), nullable=True)
    text: Mapped[str] = mapped_column(String(400))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainingRunEvent(Base):
    """One recorded session event of a run (the scoring subset, no free text)."""

    __tablename__ = "training_run_events"

    seq: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    run_id: Mapped[str] = mapped_column(ForeignKey("training_runs.id"), index=True)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainingMark(Base):
    """A trainer's answer to a trainer-marked item of a run's form (the latest wins)."""

    __tablename__ = "training_marks"

    run_id: Mapped[str] = mapped_column(ForeignKey("training_runs.id"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    answer: Mapped[str] = mapped_column(String(8))
    comment: Mapped[str] = mapped_column(Text, default="")
    marked_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    marked_at: Mapped[datetime] = mapped_column(default=utcnow)


class TrainingClearance(Base):
    """A trainer's sign-off: this assistant may get real work in this workflow."""

    __tablename__ = "training_clearances"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id"), primary_key=True)
    workflow: Mapped[str] = mapped_column(String(64), primary_key=True)
    cleared_by: Mapped[str] = mapped_column(ForeignKey("users.id"))
    cleared_at: Mapped[datetime] = mapped_column(default=utcnow)
