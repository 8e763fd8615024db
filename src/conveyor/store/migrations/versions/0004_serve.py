"""Serving: which model answered a logged prediction (primary, canary or shadow) and the request it belonged to.

Revision ID: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"


def upgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.add_column(sa.Column("role", sa.String(16), nullable=False, server_default="primary"))
        batch.add_column(sa.Column("request_id", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("predictions") as batch:
        batch.drop_column("request_id")
        batch.drop_column("role")
