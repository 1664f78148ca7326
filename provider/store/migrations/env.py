"""Alembic environment: migrate on the connection srp hands in.

:mod:`provider.store.migrate` opens the connection, takes the write lock and
checks the revision first, then runs Alembic inside that same transaction,
so two processes opening one vault at once migrate it exactly once.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from provider.store.schema import metadata


def run_on(connection: Connection) -> None:
    """Run the pending migrations inside the caller's transaction."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite and PostgreSQL both roll DDL back with the transaction.
        transactional_ddl=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_on(context.config.attributes["connection"])
