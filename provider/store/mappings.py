"""Network and storage mappings: one per (source fabric, source object, target)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, RowMapping

from provider.errors import NotFound
from provider.model.mapping import IpPolicy, NetworkMapping, StorageMapping
from provider.store.schema import network_mappings, storage_mappings

_N = network_mappings.c
_S = storage_mappings.c


class MappingRepository:
    """Putting a mapping replaces the previous one for the same source and target."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def put_network(self, mapping: NetworkMapping) -> None:
        self._remove_network(mapping.source_fabric, mapping.source_network, mapping.target)
        self._db.execute(
            insert(network_mappings).values(
                source_fabric=mapping.source_fabric,
                source_network=mapping.source_network,
                target=mapping.target,
                target_network=mapping.target_network,
                ip_policy=mapping.ip_policy.value,
                static_subnet=mapping.static_subnet,
            )
        )

    def network(
        self, source_fabric: str, source_network: str, target: str
    ) -> NetworkMapping | None:
        """Where a source network lands on a target; None when unmapped."""
        query = select(network_mappings).where(
            _N.source_fabric == source_fabric,
            _N.source_network == source_network,
            _N.target == target,
        )
        row = self._db.execute(query).mappings().first()
        return None if row is None else _network(row)

    def networks(self, target: str | None = None) -> list[NetworkMapping]:
        query = select(network_mappings).order_by(_N.target, _N.source_fabric, _N.source_network)
        if target is not None:
            query = query.where(_N.target == target)
        return [_network(row) for row in self._db.execute(query).mappings()]

    def remove_network(self, source_fabric: str, source_network: str, target: str) -> None:
        if not self._remove_network(source_fabric, source_network, target):
            raise NotFound(f"network {source_network!r} has no mapping to target {target!r}")

    def put_storage(self, mapping: StorageMapping) -> None:
        self._remove_storage(mapping.source_fabric, mapping.source_storage, mapping.target)
        self._db.execute(
            insert(storage_mappings).values(
                source_fabric=mapping.source_fabric,
                source_storage=mapping.source_storage,
                target=mapping.target,
                target_storage=mapping.target_storage,
            )
        )

    def storage(
        self, source_fabric: str, source_storage: str, target: str
    ) -> StorageMapping | None:
        query = select(storage_mappings).where(
            _S.source_fabric == source_fabric,
            _S.source_storage == source_storage,
            _S.target == target,
        )
        row = self._db.execute(query).mappings().first()
        return None if row is None else StorageMapping(**row)

    def storages(self, target: str | None = None) -> list[StorageMapping]:
        query = select(storage_mappings).order_by(_S.target, _S.source_fabric, _S.source_storage)
        if target is not None:
            query = query.where(_S.target == target)
        return [StorageMapping(**row) for row in self._db.execute(query).mappings()]

    def remove_storage(self, source_fabric: str, source_storage: str, target: str) -> None:
        if not self._remove_storage(source_fabric, source_storage, target):
            raise NotFound(f"storage {source_storage!r} has no mapping to target {target!r}")

    def _remove_network(self, source_fabric: str, source_network: str, target: str) -> bool:
        result = self._db.execute(
            delete(network_mappings).where(
                _N.source_fabric == source_fabric,
                _N.source_network == source_network,
                _N.target == target,
            )
        )
        return bool(result.rowcount)

    def _remove_storage(self, source_fabric: str, source_storage: str, target: str) -> bool:
        result = self._db.execute(
            delete(storage_mappings).where(
                _S.source_fabric == source_fabric,
                _S.source_storage == source_storage,
                _S.target == target,
            )
        )
        return bool(result.rowcount)


def _network(row: RowMapping) -> NetworkMapping:
    return NetworkMapping(
        source_fabric=row["source_fabric"],
        source_network=row["source_network"],
        target=row["target"],
        target_network=row["target_network"],
        ip_policy=IpPolicy(row["ip_policy"]),
        static_subnet=row["static_subnet"],
    )
