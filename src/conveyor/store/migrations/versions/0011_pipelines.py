"""Pipelines: runs (``pipeline_runs``) and the record of each step in them (``pipeline_steps``, with cache keys).

Revision ID: 0011
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"


def upgrade() -> None:
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("pipeline", sa.String(128), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("trigger", sa.String(256), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("dag", sa.JSON, nullable=False),
        sa.Column("started_at", sa.Float, nullable=False),
        sa.Column("ended_at", sa.Float),
        sa.Column("error", sa.Text),
        sa.Column("outputs", sa.JSON, nullable=False),
    )
    op.create_index("ix_pipeline_runs_pipeline_started", "pipeline_runs", ["pipeline", "started_at"])
    op.create_table(
        "pipeline_steps",
        sa.Column("run_id", sa.String(32), sa.ForeignKey("pipeline_runs.id"), primary_key=True),
        sa.Column("step", sa.String(128), primary_key=True),
        sa.Column("pipeline", sa.String(128), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("cache_key", sa.String(64), nullable=False),
        sa.Column("cached", sa.Boolean, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("started_at", sa.Float),
        sa.Column("ended_at", sa.Float),
        sa.Column("inputs", sa.JSON, nullable=False),
        sa.Column("outputs", sa.JSON, nullable=False),
        sa.Column("error", sa.Text),
    )
    op.create_index("ix_pipeline_steps_cache", "pipeline_steps", ["pipeline", "step", "cache_key"])


def downgrade() -> None:
    op.drop_index("ix_pipeline_steps_cache", "pipeline_steps")
    op.drop_table("pipeline_steps")
    op.drop_index("ix_pipeline_runs_pipeline_started", "pipeline_runs")
    op.drop_table("pipeline_runs")
