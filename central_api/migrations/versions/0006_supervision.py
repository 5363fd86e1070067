"""supervision: session mirrors, shadow sessions, whispers, practice supervision settings

Revision ID: 0006_supervision
Revises: 0005_interop
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_supervision"
down_revision: str | None = "0005_interop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "session_mirrors",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    op.create_table(
        "shadow_sessions",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("observer_id", sa.String(length=64), nullable=False),
        sa.Column("subject_id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["observer_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["subject_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_shadow_sessions_subject_open", "shadow_sessions", ["subject_id", "ended_at"]
    )
    op.create_index(
        "ix_shadow_sessions_observer_open", "shadow_sessions", ["observer_id", "ended_at"]
    )
    op.create_table(
        "whispers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("from_user_id", sa.String(length=64), nullable=False),
        sa.Column("to_user_id", sa.String(length=64), nullable=False),
        sa.Column("text", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["from_user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["to_user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_whispers_from_user_id", "whispers", ["from_user_id"])
    op.create_index("ix_whispers_to_user_ack", "whispers", ["to_user_id", "acknowledged_at"])
    op.create_table(
        "practice_supervision",
        sa.Column("practice_id", sa.String(length=64), nullable=False),
        sa.Column("tell_observed", sa.Boolean(), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["practice_id"], ["practices.id"]),
        sa.PrimaryKeyConstraint("practice_id"),
    )


def downgrade() -> None:
    op.drop_table("practice_supervision")
    op.drop_index("ix_whispers_to_user_ack", table_name="whispers")
    op.drop_index("ix_whispers_from_user_id", table_name="whispers")
    op.drop_table("whispers")
    op.drop_index("ix_shadow_sessions_observer_open", table_name="shadow_sessions")
    op.drop_index("ix_shadow_sessions_subject_open", table_name="shadow_sessions")
    op.drop_table("shadow_sessions")
    op.drop_table("session_mirrors")
