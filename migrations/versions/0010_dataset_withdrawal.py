"""dataset_versions: a version can be withdrawn (its data erased from disk) when erased data was in it

Revision ID: 0010_dataset_withdrawal
Revises: 0009_pairwise_compared
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import feedback.db

revision = "0010_dataset_withdrawal"
down_revision = "0009_pairwise_compared"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("withdrawn_at", feedback.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("withdrawn_reason", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("dataset_versions", schema=None) as batch_op:
        batch_op.drop_column("withdrawn_reason")
        batch_op.drop_column("withdrawn_at")
