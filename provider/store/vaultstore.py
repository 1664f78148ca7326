"""The vault store facade: open (and migrate) a database, then work in units.

    store = VaultStore.open(Settings.from_env())
    with store.unit() as tx:          # one write transaction
        tx.fabrics.add(fabric, sealed)
        tx.items.add(item)
    with store.read() as tx:          # a read-only snapshot
        tx.items.list()

A unit commits when its block ends and rolls back when the block raises, so
a crash or an error half-way leaves the vault as it was before the unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Protocol

from sqlalchemy.engine import URL, Connection, Engine

from provider.store.engine import WRITE_OPTION, make_engine
from provider.store.failures import translated
from provider.store.migrate import upgrade
from provider.store.unit import Unit
from provider.store.urls import is_sqlite, masked, parse_database_url


class HasDatabaseUrl(Protocol):
    """Anything that names a database, such as :class:`provider.settings.Settings`."""

    @property
    def database_url(self) -> str: ...


class VaultStore:
    """The vault's database: every read and write goes through a unit."""

    def __init__(self, engine: Engine, where: str) -> None:
        self._engine = engine
        self.where = where

    @classmethod
    def open(cls, source: HasDatabaseUrl | str | URL) -> VaultStore:
        """Open the vault, migrating an older schema; SchemaTooNew for a newer one."""
        url = _url_of(source)
        where = describe(url)
        engine = make_engine(url)
        try:
            with translated(where), _transaction(engine, write=True) as connection:
                upgrade(connection, where)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, where)

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self._engine.dialect.name

    @contextmanager
    def unit(self) -> Iterator[Unit]:
        """A write transaction (on SQLite it takes the write lock at once)."""
        with translated(self.where), _transaction(self._engine, write=True) as connection:
            yield Unit(connection)

    @contextmanager
    def read(self) -> Iterator[Unit]:
        """A read transaction: a consistent view, never blocking writers."""
        with translated(self.where), _transaction(self._engine, write=False) as connection:
            yield Unit(connection)

    def close(self) -> None:
        """Close every pooled connection."""
        self._engine.dispose()

    def __enter__(self) -> VaultStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"VaultStore({self.where!r})"


@contextmanager
def _transaction(engine: Engine, *, write: bool) -> Iterator[Connection]:
    with engine.connect() as connection:
        connection = connection.execution_options(**{WRITE_OPTION: write})
        with connection.begin():
            yield connection


def _url_of(source: HasDatabaseUrl | str | URL) -> URL:
    if isinstance(source, URL):
        return parse_database_url(source.render_as_string(hide_password=False))
    if isinstance(source, str):
        return parse_database_url(source)
    return parse_database_url(source.database_url)


def describe(url: URL) -> str:
    """How messages name a vault: its file for SQLite, the masked URL otherwise."""
    if is_sqlite(url) and url.database:
        return url.database
    return masked(url)
