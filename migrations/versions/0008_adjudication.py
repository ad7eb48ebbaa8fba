"""adjudication: a Label Studio connection may name the connection that receives its disagreements

Revision ID: 0008_adjudication
Revises: 0007_dashboard_rollups
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_adjudication"
down_revision = "0007_dashboard_rollups"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("labelstudio_connections", schema=None) as batch_op:
        batch_op.add_column(sa.Column("adjudication_connection_id",
                                      sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_labelstudio_connections_adjudication_connection_id_labelstudio_connections"),
            "labelstudio_connections", ["adjudication_connection_id"], ["id"], ondelete="SET NULL")


def downgrade() -> None:
    with op.batch_alter_table("labelstudio_connections", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_labelstudio_connections_adjudication_connection_id_labelstudio_connections"),
            type_="foreignkey")
        batch_op.drop_column("adjudication_connection_id")
