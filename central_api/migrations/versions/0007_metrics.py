"""metrics: indexes that keep the follow-up figures on index ranges

Revision ID: 0007_metrics
Revises: 0005_interop
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0007_metrics"
down_revision: str | None = "0005_interop"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, index, columns): tasks created in a period, a task's first attempt, attempts
# started in a period, appointments starting in a period, escalations raised in a period,
# the tasks whose focus is an appointment.
INDEXES = (
    ("tasks", "ix_tasks_practice_created", ["practice_id", "created_at"]),
    ("tasks", "ix_tasks_focus", ["focus_id"]),
    ("attempts", "ix_attempts_task_started", ["task_id", "started_at"]),
    ("attempts", "ix_attempts_started", ["started_at"]),
    ("appointments", "ix_appointments_practice_start", ["practice_id", "start_at"]),
    ("escalations", "ix_escalations_practice_raised", ["practice_id", "raised_at"]),
)


def upgrade() -> None:
    for table, name, columns in INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    for table, name, _ in reversed(INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
