"""Registered fabrics, their sealed secrets, and the inventory discovery found on them."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from provider.errors import AlreadyExists, NotFound
from provider.model.inventory import (
    Disk,
    Fabric,
    Host,
    Inventory,
    Machine,
    Network,
    Nic,
    ProtectionContainer,
)
from provider.store.codec import pairs_from_json, pairs_to_json, strings
from provider.store.schema import fabrics, inventories


class FabricRepository:
    """Fabrics by id or name. Secrets are stored only as SecretBox blobs."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, fabric: Fabric, sealed_secret: bytes = b"") -> None:
        """Register a fabric; AlreadyExists for a taken id or name."""
        if self._row(fabrics.c.fabric_id == fabric.fabric_id) is not None:
            raise AlreadyExists(f"fabric {fabric.fabric_id!r} is already registered")
        if self.find_by_name(fabric.name) is not None:
            raise AlreadyExists(f"a fabric named {fabric.name!r} is already registered")
        self._db.execute(insert(fabrics).values(**_fabric_row(fabric), secret=sealed_secret))

    def update(self, fabric: Fabric) -> None:
        """Replace a fabric's fields (its secret is kept)."""
        self.get(fabric.fabric_id)
        self._db.execute(
            update(fabrics)
            .where(fabrics.c.fabric_id == fabric.fabric_id)
            .values(**_fabric_row(fabric))
        )

    def get(self, fabric_id: str) -> Fabric:
        row = self._row(fabrics.c.fabric_id == fabric_id)
        if row is None:
            raise NotFound(f"no fabric {fabric_id!r} is registered")
        return _fabric(row)

    def find_by_name(self, name: str) -> Fabric | None:
        row = self._row(fabrics.c.name == name)
        return None if row is None else _fabric(row)

    def list(self) -> list[Fabric]:
        rows = self._db.execute(select(fabrics).order_by(fabrics.c.name)).mappings()
        return [_fabric(row) for row in rows]

    def remove(self, fabric_id: str) -> None:
        """Forget a fabric and its inventory."""
        self.get(fabric_id)
        self._db.execute(delete(fabrics).where(fabrics.c.fabric_id == fabric_id))

    def sealed_secret(self, fabric_id: str) -> bytes:
        row = self._row(fabrics.c.fabric_id == fabric_id)
        if row is None:
            raise NotFound(f"no fabric {fabric_id!r} is registered")
        return bytes(row["secret"])

    def replace_secret(self, fabric_id: str, sealed_secret: bytes) -> None:
        self.get(fabric_id)
        self._db.execute(
            update(fabrics).where(fabrics.c.fabric_id == fabric_id).values(secret=sealed_secret)
        )

    def save_inventory(self, fabric_id: str, inventory: Inventory, discovered_at: float) -> None:
        """Replace the fabric's inventory with what the latest discovery found."""
        self.get(fabric_id)
        self._db.execute(delete(inventories).where(inventories.c.fabric_id == fabric_id))
        self._db.execute(
            insert(inventories).values(
                fabric_id=fabric_id,
                discovered_at=discovered_at,
                document=inventory_to_json(inventory),
            )
        )

    def inventory(self, fabric_id: str) -> Inventory:
        """The last inventory stored; empty when the fabric was never discovered."""
        self.get(fabric_id)
        row = self._inventory_row(fabric_id)
        return Inventory() if row is None else inventory_from_json(row["document"])

    def discovered_at(self, fabric_id: str) -> float | None:
        """When the stored inventory was discovered; None when never."""
        row = self._inventory_row(fabric_id)
        return None if row is None else float(row["discovered_at"])

    def _inventory_row(self, fabric_id: str) -> RowMapping | None:
        query = select(inventories).where(inventories.c.fabric_id == fabric_id)
        return self._db.execute(query).mappings().first()

    def _row(self, condition: Any) -> RowMapping | None:
        return self._db.execute(select(fabrics).where(condition)).mappings().first()


def _fabric_row(fabric: Fabric) -> dict[str, Any]:
    return {
        "fabric_id": fabric.fabric_id,
        "name": fabric.name,
        "kind": fabric.kind,
        "address": fabric.address,
        "username": fabric.username,
        "options": pairs_to_json(fabric.options),
        "registered_at": fabric.registered_at,
    }


def _fabric(row: RowMapping) -> Fabric:
    return Fabric(
        fabric_id=row["fabric_id"],
        name=row["name"],
        kind=row["kind"],
        address=row["address"],
        username=row["username"],
        options=pairs_from_json(row["options"]),
        registered_at=row["registered_at"],
    )


def inventory_to_json(inventory: Inventory) -> dict[str, Any]:
    """An inventory as one JSON document."""
    return asdict(inventory)


def inventory_from_json(document: dict[str, Any]) -> Inventory:
    """The inverse of :func:`inventory_to_json`; the model re-validates every value."""
    return Inventory(
        containers=tuple(ProtectionContainer(**c) for c in document["containers"]),
        machines=tuple(_machine_from_json(m) for m in document["machines"]),
        networks=tuple(Network(**n) for n in document["networks"]),
        hosts=tuple(Host(**h) for h in document["hosts"]),
    )


def _machine_from_json(document: dict[str, Any]) -> Machine:
    disks = tuple(Disk(**d) for d in document["disks"])
    nics = tuple(Nic(**{**n, "ip_addresses": strings(n["ip_addresses"])}) for n in document["nics"])
    return Machine(**{**document, "disks": disks, "nics": nics})
