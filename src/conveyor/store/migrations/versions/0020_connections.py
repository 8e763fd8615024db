"""Stored connections: a data source's URL sealed under the project's encryption key (``connections``).

Revision ID: 0020
"""

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0016"


def upgrade() -> None:
    op.create_table(
        "connections",
        sa.Column("name", sa.String(128), primary_key=True),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("display", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
        sa.Column("actor", sa.String(256), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("connections")
