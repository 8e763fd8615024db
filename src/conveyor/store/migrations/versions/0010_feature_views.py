"""Feature view versions (the feature store's definitions as applied: definition hash + source version).

Revision ID: 0010
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.create_table(
        "feature_view_versions",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("view", sa.String(128), nullable=False),
        sa.Column("version", sa.String(64), nullable=False),
        sa.Column("definition_hash", sa.String(64), nullable=False),
        sa.Column("source", sa.String(256), nullable=False),
        sa.Column("definition", sa.JSON, nullable=False),
        sa.Column("origin", sa.String(512), nullable=False),
        sa.Column("applied_at", sa.Float, nullable=False),
        sa.Column("materialized", sa.JSON, nullable=False),
        sa.Column("previous", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("view", "previous", name="uq_feature_view_versions_view_previous"),
    )
    op.create_index("ix_feature_view_versions_view_seq", "feature_view_versions", ["view", "seq"])


def downgrade() -> None:
    op.drop_index("ix_feature_view_versions_view_seq", table_name="feature_view_versions")
    op.drop_table("feature_view_versions")
