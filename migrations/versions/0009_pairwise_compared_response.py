"""pairwise annotations keep the response the interaction's response was compared with

Revision ID: 0009_pairwise_compared
Revises: 0008_adjudication
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_pairwise_compared"
down_revision = "0008_adjudication"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ls_annotations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("compared_response", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("ls_annotations", schema=None) as batch_op:
        batch_op.drop_column("compared_response")
