"""Opening a vault: migrate an old schema, refuse a newer one, report a broken path."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from provider.errors import SchemaTooNew, StoreUnavailable
from provider.model.policy import ReplicationPolicy
from provider.store import VaultStore
from provider.store.migrate import head_revision
from provider.store.schema import metadata
from provider.store.urls import parse_database_url


def _revisions(url: str) -> list[str]:
    engine = create_engine(parse_database_url(url))
    try:
        with engine.connect() as connection:
            return list(MigrationContext.configure(connection).get_current_heads())
    finally:
        engine.dispose()


def _tables(url: str) -> set[str]:
    engine = create_engine(parse_database_url(url))
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_an_empty_database_is_migrated_to_head(store_url: str) -> None:
    VaultStore.open(store_url).close()
    assert head_revision() == "0002"
    assert _revisions(store_url) == ["0002"]
    assert _tables(store_url) == set(metadata.tables) | {"alembic_version"}


def test_the_migrated_schema_is_exactly_the_declared_one(store_url: str) -> None:
    VaultStore.open(store_url).close()
    engine = create_engine(parse_database_url(store_url))
    try:
        with engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_reopening_a_current_vault_keeps_its_data(store_url: str) -> None:
    with VaultStore.open(store_url) as store, store.unit() as tx:
        tx.policies.add(ReplicationPolicy("gold"))
    with VaultStore.open(store_url) as store, store.read() as tx:
        assert tx.policies.list() == [ReplicationPolicy("gold")]
    assert _revisions(store_url) == ["0002"]


def test_a_vault_from_a_newer_srp_is_refused_untouched(store_url: str) -> None:
    engine = create_engine(parse_database_url(store_url))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL)"))
        connection.execute(text("INSERT INTO alembic_version VALUES ('9999')"))
    engine.dispose()
    where = parse_database_url(store_url)
    shown = where.database if where.get_backend_name() == "sqlite" else str(where)
    with pytest.raises(SchemaTooNew) as caught:
        VaultStore.open(store_url)
    assert str(caught.value) == (
        f"the vault at {shown} was written by a newer srp (schema rev 9999); upgrade srp"
    )
    assert _tables(store_url) == {"alembic_version"}
    assert _revisions(store_url) == ["9999"]


def test_a_refused_sqlite_file_is_byte_for_byte_unchanged(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vault.db'}"
    VaultStore.open(url).close()
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '0003'"))
    engine.dispose()
    before = (tmp_path / "vault.db").read_bytes()
    with pytest.raises(SchemaTooNew):
        VaultStore.open(url)
    assert (tmp_path / "vault.db").read_bytes() == before


def test_a_directory_in_place_of_the_database_is_unavailable(tmp_path: Path) -> None:
    (tmp_path / "vault.db").mkdir()
    with pytest.raises(StoreUnavailable) as caught:
        VaultStore.open(f"sqlite:///{tmp_path / 'vault.db'}")
    assert str(caught.value) == (
        f"the vault at {tmp_path / 'vault.db'} cannot be opened or written: "
        "unable to open database file"
    )


def test_a_database_in_a_missing_directory_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable) as caught:
        VaultStore.open(f"sqlite:///{tmp_path / 'missing' / 'vault.db'}")
    assert str(caught.value) == (
        f"the vault at {tmp_path / 'missing' / 'vault.db'} cannot be opened or written: "
        "unable to open database file"
    )


def test_an_unreachable_postgres_server_is_unavailable() -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    with pytest.raises(StoreUnavailable) as caught:
        VaultStore.open("postgresql://srp:hunter2@127.0.0.1:1/srp")
    message = str(caught.value)
    assert message.startswith(
        "the vault at postgresql+psycopg://srp:***@127.0.0.1:1/srp cannot be opened or written: "
    )
    assert "hunter2" not in message
