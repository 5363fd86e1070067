"""coaching: a whisper may name the script step it is about

Revision ID: 0009_coaching
Revises: 0007_metrics
Create Date: 2026-11-30

A trainer following a training run coaches per step (DESIGN "Training"): the
whisper stores the key of the script step the trainee was on when it was sent
(`whispers.step`, NULL for an ordinary whisper), so the trainee's whisper strip
can say "at step X". The whisper text stays in `whispers` only.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_coaching"
down_revision: str | None = "0007_metrics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("whispers") as batch:
        batch.add_column(sa.Column("step", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("whispers") as batch:
        batch.drop_column("step")
