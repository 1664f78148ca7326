"""The first vault schema.

Revision ID: 0001
Revises:
Create Date: 2024-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    _identity()
    _fabrics_and_targets()
    _items_and_points()
    _mappings_and_plans()
    _jobs()
    _tokens()


def downgrade() -> None:
    for table in (
        "api_tokens",
        "job_tasks",
        "jobs",
        "plans",
        "storage_mappings",
        "network_mappings",
        "recovery_points",
        "disk_markers",
        "items",
        "targets",
        "policies",
        "inventories",
        "fabrics",
        "vault",
    ):
        op.drop_table(table)


def _identity() -> None:
    op.create_table(
        "vault",
        sa.Column("singleton", sa.Integer, nullable=False),
        sa.Column("vault_id", sa.String, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("key_check", sa.LargeBinary, nullable=False),
        sa.Column("data_key", sa.LargeBinary, nullable=False),
        sa.Column("signing_key", sa.LargeBinary, nullable=False),
        sa.Column("public_key", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("singleton", name="pk_vault"),
    )


def _fabrics_and_targets() -> None:
    op.create_table(
        "fabrics",
        sa.Column("fabric_id", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("address", sa.String, nullable=False),
        sa.Column("username", sa.String, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("registered_at", sa.Float, nullable=False),
        sa.Column("secret", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("fabric_id", name="pk_fabrics"),
        sa.UniqueConstraint("name", name="uq_fabrics_name"),
    )
    op.create_table(
        "inventories",
        sa.Column("fabric_id", sa.String, nullable=False),
        sa.Column("discovered_at", sa.Float, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("fabric_id", name="pk_inventories"),
        sa.ForeignKeyConstraint(
            ["fabric_id"],
            ["fabrics.fabric_id"],
            name="fk_inventories_fabric_id_fabrics",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "policies",
        sa.Column("name", sa.String, nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_policies"),
    )
    op.create_table(
        "targets",
        sa.Column("target_id", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("location", sa.String, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("registered_at", sa.Float, nullable=False),
        sa.Column("secret", sa.LargeBinary, nullable=False),
        sa.PrimaryKeyConstraint("target_id", name="pk_targets"),
    )


def _items_and_points() -> None:
    op.create_table(
        "items",
        sa.Column("item_id", sa.String, nullable=False),
        sa.Column("fabric_id", sa.String, nullable=False),
        sa.Column("machine_id", sa.String, nullable=False),
        sa.Column("machine_name", sa.String, nullable=False),
        sa.Column("policy", sa.String, nullable=False),
        sa.Column("target", sa.String, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("health", sa.JSON, nullable=False),
        sa.Column("replication_group", sa.String, nullable=False),
        sa.Column("direction", sa.String, nullable=False),
        sa.Column("last_point_at", sa.Float, nullable=True),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.PrimaryKeyConstraint("item_id", name="pk_items"),
    )
    op.create_index("ix_items_machine", "items", ["fabric_id", "machine_id"], unique=True)
    op.create_table(
        "disk_markers",
        sa.Column("item_id", sa.String, nullable=False),
        sa.Column("disk_id", sa.String, nullable=False),
        sa.Column("last_cut_id", sa.String, nullable=False),
        sa.Column("last_sequence", sa.Integer, nullable=False),
        sa.Column("last_digest", sa.String, nullable=False),
        sa.PrimaryKeyConstraint("item_id", "disk_id", name="pk_disk_markers"),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.item_id"],
            name="fk_disk_markers_item_id_items",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "recovery_points",
        sa.Column("point_id", sa.String, nullable=False),
        sa.Column("item_id", sa.String, nullable=False),
        sa.Column("cut_id", sa.String, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("consistency", sa.String, nullable=False),
        sa.Column("disks", sa.JSON, nullable=False),
        sa.Column("group_cut", sa.String, nullable=False),
        sa.PrimaryKeyConstraint("point_id", name="pk_recovery_points"),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["items.item_id"],
            name="fk_recovery_points_item_id_items",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_recovery_points_item", "recovery_points", ["item_id", "created_at"])


def _mappings_and_plans() -> None:
    op.create_table(
        "network_mappings",
        sa.Column("source_fabric", sa.String, nullable=False),
        sa.Column("source_network", sa.String, nullable=False),
        sa.Column("target", sa.String, nullable=False),
        sa.Column("target_network", sa.String, nullable=False),
        sa.Column("ip_policy", sa.String, nullable=False),
        sa.Column("static_subnet", sa.String, nullable=False),
        sa.PrimaryKeyConstraint(
            "source_fabric", "source_network", "target", name="pk_network_mappings"
        ),
    )
    op.create_table(
        "storage_mappings",
        sa.Column("source_fabric", sa.String, nullable=False),
        sa.Column("source_storage", sa.String, nullable=False),
        sa.Column("target", sa.String, nullable=False),
        sa.Column("target_storage", sa.String, nullable=False),
        sa.PrimaryKeyConstraint(
            "source_fabric", "source_storage", "target", name="pk_storage_mappings"
        ),
    )
    op.create_table(
        "plans",
        sa.Column("name", sa.String, nullable=False),
        sa.Column("description", sa.String, nullable=False),
        sa.Column("concurrency", sa.Integer, nullable=False),
        sa.Column("groups", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_plans"),
    )


def _jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("job_id", sa.String, nullable=False),
        sa.Column("kind", sa.String, nullable=False),
        sa.Column("target", sa.String, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("started_at", sa.Float, nullable=True),
        sa.Column("finished_at", sa.Float, nullable=True),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("concurrency", sa.Integer, nullable=False),
        sa.Column("cancel_requested", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("job_id", name="pk_jobs"),
    )
    op.create_index("ix_jobs_state", "jobs", ["state"])
    op.create_table(
        "job_tasks",
        sa.Column("job_id", sa.String, nullable=False),
        sa.Column("task_id", sa.String, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("state", sa.String, nullable=False),
        sa.Column("progress", sa.Float, nullable=False),
        sa.Column("error", sa.Text, nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("job_id", "task_id", name="pk_job_tasks"),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.job_id"],
            name="fk_job_tasks_job_id_jobs",
            ondelete="CASCADE",
        ),
    )


def _tokens() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("token_id", sa.String, nullable=False),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("digest", sa.LargeBinary, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("revoked", sa.Boolean, nullable=False),
        sa.Column("revoked_at", sa.Float, nullable=True),
        sa.PrimaryKeyConstraint("token_id", name="pk_api_tokens"),
        sa.UniqueConstraint("digest", name="uq_api_tokens_digest"),
    )
    op.create_index(
        "ix_api_tokens_live_name",
        "api_tokens",
        ["name"],
        unique=True,
        sqlite_where=sa.text("revoked = 0"),
        postgresql_where=sa.text("revoked = false"),
    )
