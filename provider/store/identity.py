"""The vault's identity row: its id and its keys, sealed by the master key.

The store keeps these as opaque blobs; :mod:`provider.vault` seals and opens them.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from provider.model.checks import require_id
from provider.store.schema import vault


@dataclass(frozen=True)
class VaultRecord:
    """What ``srp vault init`` stored: id, key check value and sealed keys."""

    vault_id: str
    created_at: float
    key_check: bytes
    data_key: bytes
    signing_key: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        require_id("VaultRecord", "vault_id", self.vault_id)

    def __repr__(self) -> str:
        return f"VaultRecord(vault_id={self.vault_id!r}, created_at={self.created_at!r})"


class IdentityRepository:
    """The single vault row."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def get(self) -> VaultRecord | None:
        """The vault's record; None before ``srp vault init``."""
        row = self._db.execute(select(vault)).mappings().first()
        if row is None:
            return None
        return VaultRecord(
            vault_id=row["vault_id"],
            created_at=row["created_at"],
            key_check=bytes(row["key_check"]),
            data_key=bytes(row["data_key"]),
            signing_key=bytes(row["signing_key"]),
            public_key=bytes(row["public_key"]),
        )

    def put(self, record: VaultRecord) -> None:
        """Store the record, replacing any earlier one (a forced re-init)."""
        self._db.execute(delete(vault))
        self._db.execute(insert(vault).values(singleton=1, **vars(record)))
