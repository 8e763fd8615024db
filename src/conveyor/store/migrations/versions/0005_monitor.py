"""Monitoring: stored reference statistics, time series (resources, drift, live metrics), alerts, agent jobs.

Revision ID: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"

BIGINT_PK = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "reference_stats",
        sa.Column("model", sa.String(160), primary_key=True),
        sa.Column("stats", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )
    op.create_table(
        "monitor_samples",
        sa.Column("id", BIGINT_PK, primary_key=True, autoincrement=True),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("series", sa.String(256), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("at", sa.Float, nullable=False),
    )
    op.create_index("ix_monitor_samples_subject_at", "monitor_samples", ["subject", "at"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("subject", sa.String(256), nullable=False),
        sa.Column("signal", sa.String(128), nullable=False),
        sa.Column("value", sa.Float, nullable=False),
        sa.Column("threshold", sa.Float, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("fired_at", sa.Float, nullable=False),
        sa.Column("last_seen_at", sa.Float, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("acked_by", sa.String(256)),
        sa.Column("acked_at", sa.Float),
        sa.Column("notified", sa.JSON, nullable=False),
    )
    op.create_index("ix_alerts_fired_at", "alerts", ["fired_at"])
    op.create_table(
        "agent_jobs",
        sa.Column("key", sa.String(512), primary_key=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("holder", sa.String(256), nullable=False),
        sa.Column("heartbeat_at", sa.Float, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("result", sa.JSON, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
    )


def downgrade() -> None:
    for table in ("agent_jobs", "alerts", "monitor_samples", "reference_stats"):
        op.drop_table(table)
