"""The vault's tables (SQLAlchemy Core).

Nested values that are only ever read whole (an inventory, a policy, a
plan's groups, a point's disks) are JSON documents; what is queried or
updated on its own (jobs and their tasks, per-disk replication markers,
tokens) has columns. Timestamps are POSIX seconds, as in the model.
Alembic migrations create exactly these tables; a test compares the two.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    false,
)

#: Deterministic constraint names, so migrations can name what they alter.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

vault = Table(
    "vault",
    metadata,
    # One row: the vault's identity and its keys, sealed by the master key.
    Column("singleton", Integer, primary_key=True),
    Column("vault_id", String, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("key_check", LargeBinary, nullable=False),
    Column("data_key", LargeBinary, nullable=False),
    Column("signing_key", LargeBinary, nullable=False),
    Column("public_key", LargeBinary, nullable=False),
)

fabrics = Table(
    "fabrics",
    metadata,
    Column("fabric_id", String, primary_key=True),
    Column("name", String, nullable=False, unique=True),
    Column("kind", String, nullable=False),
    Column("address", String, nullable=False),
    Column("username", String, nullable=False),
    Column("options", JSON, nullable=False),
    Column("registered_at", Float, nullable=False),
    Column("secret", LargeBinary, nullable=False),
)

inventories = Table(
    "inventories",
    metadata,
    Column(
        "fabric_id",
        String,
        ForeignKey("fabrics.fabric_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("discovered_at", Float, nullable=False),
    Column("document", JSON, nullable=False),
)

policies = Table(
    "policies",
    metadata,
    Column("name", String, primary_key=True),
    Column("document", JSON, nullable=False),
)

targets = Table(
    "targets",
    metadata,
    Column("target_id", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("location", String, nullable=False),
    Column("options", JSON, nullable=False),
    Column("registered_at", Float, nullable=False),
    Column("secret", LargeBinary, nullable=False),
)

items = Table(
    "items",
    metadata,
    Column("item_id", String, primary_key=True),
    Column("fabric_id", String, nullable=False),
    Column("machine_id", String, nullable=False),
    Column("machine_name", String, nullable=False),
    Column("policy", String, nullable=False),
    Column("target", String, nullable=False),
    Column("state", String, nullable=False),
    Column("health", JSON, nullable=False),
    Column("replication_group", String, nullable=False),
    Column("direction", String, nullable=False),
    Column("last_point_at", Float, nullable=True),
    Column("created_at", Float, nullable=False),
    Column("replica_id", String, nullable=False, server_default=""),
    Column("test_replica_id", String, nullable=False, server_default=""),
    Column("failover_point_id", String, nullable=False, server_default=""),
    Column("failover_mode", String, nullable=False, server_default=""),
)
Index("ix_items_machine", items.c.fabric_id, items.c.machine_id, unique=True)

disk_markers = Table(
    "disk_markers",
    metadata,
    Column(
        "item_id",
        String,
        ForeignKey("items.item_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("disk_id", String, primary_key=True),
    Column("last_cut_id", String, nullable=False),
    Column("last_sequence", Integer, nullable=False),
    Column("last_digest", String, nullable=False),
)

recovery_points = Table(
    "recovery_points",
    metadata,
    Column("point_id", String, primary_key=True),
    Column(
        "item_id",
        String,
        ForeignKey("items.item_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("cut_id", String, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("consistency", String, nullable=False),
    Column("disks", JSON, nullable=False),
    Column("group_cut", String, nullable=False),
)
Index("ix_recovery_points_item", recovery_points.c.item_id, recovery_points.c.created_at)

network_mappings = Table(
    "network_mappings",
    metadata,
    Column("source_fabric", String, primary_key=True),
    Column("source_network", String, primary_key=True),
    Column("target", String, primary_key=True),
    Column("target_network", String, nullable=False),
    Column("ip_policy", String, nullable=False),
    Column("static_subnet", String, nullable=False),
)

storage_mappings = Table(
    "storage_mappings",
    metadata,
    Column("source_fabric", String, primary_key=True),
    Column("source_storage", String, primary_key=True),
    Column("target", String, primary_key=True),
    Column("target_storage", String, nullable=False),
)

plans = Table(
    "plans",
    metadata,
    Column("name", String, primary_key=True),
    Column("description", String, nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("groups", JSON, nullable=False),
)

jobs = Table(
    "jobs",
    metadata,
    Column("job_id", String, primary_key=True),
    Column("kind", String, nullable=False),
    Column("target", String, nullable=False),
    Column("state", String, nullable=False),
    Column("error", Text, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float, nullable=True),
    Column("finished_at", Float, nullable=True),
    Column("params", JSON, nullable=False),
    Column("concurrency", Integer, nullable=False),
    Column("cancel_requested", Boolean, nullable=False),
)
Index("ix_jobs_state", jobs.c.state)

job_tasks = Table(
    "job_tasks",
    metadata,
    Column(
        "job_id",
        String,
        ForeignKey("jobs.job_id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("task_id", String, primary_key=True),
    Column("position", Integer, nullable=False),
    Column("name", String, nullable=False),
    Column("state", String, nullable=False),
    Column("progress", Float, nullable=False),
    Column("error", Text, nullable=False),
    Column("output", Text, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("token_id", String, primary_key=True),
    Column("name", String, nullable=False),
    Column("digest", LargeBinary, nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("revoked", Boolean, nullable=False),
    Column("revoked_at", Float, nullable=True),
)
# A name identifies one live token; a revoked token's name can be reused.
Index(
    "ix_api_tokens_live_name",
    api_tokens.c.name,
    unique=True,
    sqlite_where=api_tokens.c.revoked == false(),
    postgresql_where=api_tokens.c.revoked == false(),
)
