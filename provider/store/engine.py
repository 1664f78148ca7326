"""The SQLAlchemy engine, tuned so several srp processes can share one vault.

SQLite: write-ahead logging (readers never block the writer), a 30 s busy
timeout (a writer waits for another instead of failing), and ``BEGIN
IMMEDIATE`` for write transactions, so a writer takes the write lock when it
starts instead of failing half-way when it upgrades a read lock (the
"database is locked" that deferred transactions produce under contention).
The stdlib driver's own transaction handling is switched off so that
SQLAlchemy's BEGIN is the only one, as SQLAlchemy's SQLite notes advise.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, create_engine

from provider.store.urls import is_sqlite

BUSY_TIMEOUT_SEC = 30.0
#: Execution option naming a connection whose transactions write.
WRITE_OPTION = "srp_write"


def make_engine(url: URL) -> Engine:
    """An engine for ``url`` with the per-backend settings above."""
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_SEC})
    event.listen(engine, "connect", _configure_sqlite)
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: object) -> None:
    # isolation_level None: the driver never issues BEGIN/COMMIT on its own.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SEC * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        # FULL: a committed vault change survives a power cut, not only a crash.
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    writes = connection.get_execution_options().get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
