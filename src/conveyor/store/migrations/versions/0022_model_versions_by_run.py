"""The model versions a run produced, read by an index (a run page asks for them): ``ix_model_versions_run_id``.

Revision ID: 0022
"""

from alembic import op

revision = "0022"
down_revision = "0021"


def upgrade() -> None:
    op.create_index("ix_model_versions_run_id", "model_versions", ["run_id"])


def downgrade() -> None:
    op.drop_index("ix_model_versions_run_id", table_name="model_versions")
