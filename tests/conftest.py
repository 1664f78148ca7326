"""Shared fixtures: the vault store under test, on SQLite and (when configured) PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from provider.store import VaultStore
from provider.store.testing import POSTGRES_ENV, postgres_url, scratch_database


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL to an empty database of each backend."""
    if request.param == "postgres" and postgres_url() is None:
        pytest.skip(f"{POSTGRES_ENV} is not set (start a server with .ci/postgres.sh)")
    with scratch_database(request.param, tmp_path) as url:
        yield url


@pytest.fixture
def store(store_url: str) -> Iterator[VaultStore]:
    """An opened (migrated) vault store."""
    with VaultStore.open(store_url) as opened:
        yield opened
