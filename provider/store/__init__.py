"""The vault store: every durable fact of srp, in SQLite or PostgreSQL.

:class:`VaultStore` opens (and migrates) the database; a :class:`Unit` is one
transaction with a repository per aggregate, converting rows to and from the
model's frozen dataclasses.
"""

from provider.store.identity import VaultRecord
from provider.store.items import DiskMarker
from provider.store.targets import Target
from provider.store.tokens import TokenRecord
from provider.store.unit import Unit
from provider.store.vaultstore import VaultStore

__all__ = ["DiskMarker", "Target", "TokenRecord", "Unit", "VaultRecord", "VaultStore"]
