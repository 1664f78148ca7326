"""Bring a vault database to this srp's schema, or refuse one from a newer srp.

Everything happens in one write transaction: the revision check, then
Alembic's upgrade on the same connection. A refused database is left exactly
as it was, and a migration that fails half-way is rolled back.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection

from provider.errors import SchemaTooNew, StoreError

MIGRATIONS = Path(__file__).with_name("migrations")
#: Any constant: serialises concurrent migrations of one PostgreSQL database.
_PG_MIGRATION_LOCK = 0x5352_5000


def alembic_config() -> Config:
    """A programmatic Alembic configuration (no alembic.ini to ship or find)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest schema revision this srp knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise StoreError(f"this srp ships no schema migrations under {MIGRATIONS}")
    return head


def upgrade(connection: Connection, where: str) -> None:
    """Migrate the database behind ``connection`` (in its open transaction) to head."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
    refuse_newer(connection, where)
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def refuse_newer(connection: Connection, where: str) -> None:
    """Raise SchemaTooNew when the database names a revision this code does not have."""
    scripts = ScriptDirectory.from_config(alembic_config())
    known = {script.revision for script in scripts.walk_revisions()}
    for revision in MigrationContext.configure(connection).get_current_heads():
        if revision not in known:
            raise SchemaTooNew(
                f"the vault at {where} was written by a newer srp (schema rev {revision}); "
                "upgrade srp"
            )
