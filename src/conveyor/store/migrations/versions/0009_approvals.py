"""Approvals: promotions waiting for another user's approval (``approval_requests``).

Revision ID: 0009
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0007"


def upgrade() -> None:
    op.create_table(
        "approval_requests",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("environment", sa.String(128), nullable=False),
        sa.Column("requester", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("details", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("decided_by", sa.String(256)),
        sa.Column("decided_at", sa.Float),
        sa.Column("decision_reason", sa.Text, nullable=False),
    )
    op.create_index("ix_approval_requests_status_created", "approval_requests", ["status", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_approval_requests_status_created", table_name="approval_requests")
    op.drop_table("approval_requests")
