"""practice set-up: script drafts and approval, one-time staff set-up codes

Revision ID: 0004_practice
Revises: 0003_hardening
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_practice"
down_revision: str | None = "0003_hardening"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scripts", schema=None) as batch_op:
        # Existing scripts were approved by the seeder: they stay approved.
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), nullable=False, server_default="approved")
        )
        batch_op.add_column(sa.Column("author_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("approved_by_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("created_at", sa.DateTime(timezone=True), nullable=True))

    op.create_table(
        "setup_codes",
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"]),
        sa.PrimaryKeyConstraint("user_id"),
    )
    with op.batch_alter_table("setup_codes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_setup_codes_code_hash"), ["code_hash"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("setup_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_setup_codes_code_hash"))
    op.drop_table("setup_codes")
    with op.batch_alter_table("scripts", schema=None) as batch_op:
        batch_op.drop_column("created_at")
        batch_op.drop_column("approved_by_id")
        batch_op.drop_column("author_id")
        batch_op.drop_column("status")
