"""metrics: attempts carry their practice, tasks their first attempt; period indexes

Revision ID: 0007_metrics
Revises: 0008_training
Create Date: 2026-11-30

`attempts.practice_id` (copied from the task) lets a period's attempts be counted
on one index range, without a join per attempt; `tasks.first_attempt_at` (the
earliest attempt's start) lets SLA and callback figures read one row per task.
Both are filled from the existing rows here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_metrics"
down_revision: str | None = "0008_training"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, index, columns): tasks created in a period, a task's attempts in order,
# a practice's attempts in a period (all, and by outcome), appointments starting and escalations raised in a
# period, the tasks whose focus is an appointment, the tasks flagged for review.
INDEXES = (
    ("tasks", "ix_tasks_practice_created", ["practice_id", "created_at"]),
    ("tasks", "ix_tasks_focus", ["focus_id"]),
    ("tasks", "ix_tasks_practice_review", ["practice_id", "needs_review"]),
    ("attempts", "ix_attempts_task_started", ["task_id", "started_at"]),
    ("attempts", "ix_attempts_practice_started", ["practice_id", "started_at"]),
    (
        "attempts",
        "ix_attempts_practice_outcome",
        ["practice_id", "outcome", "started_at", "task_id"],
    ),
    ("appointments", "ix_appointments_practice_start", ["practice_id", "start_at"]),
    ("escalations", "ix_escalations_practice_raised", ["practice_id", "raised_at"]),
)


def upgrade() -> None:
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("practice_id", sa.String(length=64), nullable=True))
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("first_attempt_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute(
        "UPDATE attempts SET practice_id = "
        "(SELECT tasks.practice_id FROM tasks WHERE tasks.id = attempts.task_id)"
    )
    op.execute(
        "UPDATE tasks SET first_attempt_at = "
        "(SELECT min(attempts.started_at) FROM attempts WHERE attempts.task_id = tasks.id)"
    )
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.alter_column("practice_id", existing_type=sa.String(length=64), nullable=False)
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("first_attempt_at")
    with op.batch_alter_table("attempts", schema=None) as batch_op:
        batch_op.drop_column("practice_id")
