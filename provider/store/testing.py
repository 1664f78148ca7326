"""Throwaway databases for tests of anything built on the vault store.

SQLite always; PostgreSQL when ``SRP_TEST_POSTGRES_URL`` names a server
where its user may create databases (``.ci/postgres.sh`` starts one). Each
call gets its own database, so tests can run in parallel processes.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from provider.store.urls import parse_database_url

POSTGRES_ENV = "SRP_TEST_POSTGRES_URL"
BACKENDS = ("sqlite", "postgres")


def postgres_url() -> str | None:
    """The test server's URL, or None when PostgreSQL tests are not configured."""
    return os.environ.get(POSTGRES_ENV) or None


@contextmanager
def scratch_database(backend: str, directory: Path) -> Iterator[str]:
    """A URL to a new, empty database (a dropped-afterwards schema on PostgreSQL)."""
    if backend == "sqlite":
        yield f"sqlite:///{directory / 'vault.db'}"
        return
    base = postgres_url()
    if base is None:
        raise LookupError(f"set {POSTGRES_ENV} to test against PostgreSQL")
    with _postgres_database(base) as url:
        yield url


@contextmanager
def _postgres_database(base: str) -> Iterator[str]:
    # A schema per caller, made the connection's search path: creating one is
    # a thousand times faster than CREATE DATABASE, and just as isolated.
    server = parse_database_url(base)
    schema = f"srp_test_{uuid.uuid4().hex}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        scoped = server.update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    finally:
        admin.dispose()
