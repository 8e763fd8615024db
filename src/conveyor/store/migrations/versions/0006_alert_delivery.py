"""Alerts: why a notifier did not deliver (``notify_errors``: notifier name -> reason), stored with the alert.

Revision ID: 0006
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("notify_errors", sa.JSON))


def downgrade() -> None:
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("notify_errors")
