"""interop: missed calls, telephony accounts, external ids, appointment status history

Revision ID: 0005_interop
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_interop"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "external_ids",
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("system", sa.String(length=255), nullable=False),
        sa.Column("value", sa.String(length=255), nullable=False),
        sa.Column("record_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("practice_id", "kind", "system", "value"),
    )
    with op.batch_alter_table("external_ids", schema=None) as batch_op:
        batch_op.create_index("ix_external_ids_record", ["record_id"], unique=False)

    op.create_table(
        "missed_calls",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("call_status", sa.String(length=16), nullable=True),
        sa.Column("caller_kind", sa.String(length=16), nullable=False),
        sa.Column("withheld_reason", sa.String(length=16), nullable=True),
        sa.Column("caller_e164", sa.String(length=32), nullable=True),
        sa.Column("caller_extension", sa.String(length=16), nullable=True),
        sa.Column("called_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("task_id", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("practice_id", "call_sid", name="uq_missed_calls_practice_call_sid"),
    )
    with op.batch_alter_table("missed_calls", schema=None) as batch_op:
        batch_op.create_index(
            "ix_missed_calls_practice_called_at", ["practice_id", "called_at"], unique=False
        )

    op.create_table(
        "telephony_accounts",
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("auth_token", sa.String(length=128), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["practice_id"],
            ["practices.id"],
        ),
        sa.PrimaryKeyConstraint("practice_id"),
    )
    op.create_table(
        "appointment_status_changes",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("appointment_id", sa.String(length=64), nullable=False),
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
        ),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("appointment_status_changes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_appointment_status_changes_appointment_id"),
            ["appointment_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("appointment_status_changes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_appointment_status_changes_appointment_id"))

    op.drop_table("appointment_status_changes")
    op.drop_table("telephony_accounts")
    with op.batch_alter_table("missed_calls", schema=None) as batch_op:
        batch_op.drop_index("ix_missed_calls_practice_called_at")

    op.drop_table("missed_calls")
    with op.batch_alter_table("external_ids", schema=None) as batch_op:
        batch_op.drop_index("ix_external_ids_record")

    op.drop_table("external_ids")
