"""Protected items remember their failover: replica machines, point and mode.

Revision ID: 0002
Revises: 0001
Create Date: 2024-12-09
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

_COLUMNS = ("replica_id", "test_replica_id", "failover_point_id", "failover_mode")


def upgrade() -> None:
    # Batch mode: SQLite cannot alter a table in place.
    with op.batch_alter_table("items") as batch:
        for name in _COLUMNS:
            batch.add_column(sa.Column(name, sa.String, nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("items") as batch:
        for name in reversed(_COLUMNS):
            batch.drop_column(name)
