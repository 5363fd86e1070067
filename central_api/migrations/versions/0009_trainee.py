"""training: lines the trainer types live as a run's simulated patient

Revision ID: 0009_trainee
Revises: 0009_coaching
Create Date: 2026-11-30

`training_lines` holds what a trainer says as the simulated patient during a run
(synthetic text, never patient data); the trainee's workspace is nudged with the
run's id and reads the lines over the API.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_trainee"
down_revision: str | None = "0009_coaching"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "training_lines",
        sa.Column(
            "seq",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("from_user_id", sa.String(length=64), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=True),
        sa.Column("text", sa.String(length=400), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["from_user_id"], ["users.id"]),
        sa.ForeignKeyConstraint(["run_id"], ["training_runs.id"]),
        sa.PrimaryKeyConstraint("seq"),
    )
    with op.batch_alter_table("training_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_training_lines_run_id"), ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("training_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_training_lines_run_id"))
    op.drop_table("training_lines")
