"""Protected items and, per disk, where replication stands (the last cut shipped)."""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Connection, RowMapping

from provider.errors import AlreadyExists, NotFound
from provider.model.checks import require_id, require_non_negative
from provider.model.item import Direction, ProtectedItem
from provider.model.states import Health, HealthIssue, HealthReport, ReplicationState
from provider.store.schema import disk_markers, items


@dataclass(frozen=True)
class DiskMarker:
    """The last HRL shipped for one disk: the next cycle continues from here."""

    item_id: str
    disk_id: str
    last_cut_id: str
    last_sequence: int
    last_digest: str

    def __post_init__(self) -> None:
        require_id("DiskMarker", "item_id", self.item_id)
        require_id("DiskMarker", "disk_id", self.disk_id)
        require_non_negative("DiskMarker", "last_sequence", self.last_sequence)


class ItemRepository:
    """Protected items by id, or by the machine they protect."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, item: ProtectedItem) -> None:
        """AlreadyExists for a taken id, or a machine that is already protected."""
        if self.find(item.item_id) is not None:
            raise AlreadyExists(f"protected item {item.item_id!r} already exists")
        if self.for_machine(item.fabric_id, item.machine_id) is not None:
            raise AlreadyExists(
                f"machine {item.machine_name!r} of fabric {item.fabric_id!r} is already protected"
            )
        self._db.execute(insert(items).values(**_item_row(item)))

    def update(self, item: ProtectedItem) -> None:
        self.get(item.item_id)
        self._db.execute(
            update(items).where(items.c.item_id == item.item_id).values(**_item_row(item))
        )

    def get(self, item_id: str) -> ProtectedItem:
        item = self.find(item_id)
        if item is None:
            raise NotFound(f"no protected item {item_id!r}")
        return item

    def find(self, item_id: str) -> ProtectedItem | None:
        return self._first(select(items).where(items.c.item_id == item_id))

    def for_machine(self, fabric_id: str, machine_id: str) -> ProtectedItem | None:
        query = select(items).where(
            items.c.fabric_id == fabric_id, items.c.machine_id == machine_id
        )
        return self._first(query)

    def list(self, fabric_id: str | None = None) -> list[ProtectedItem]:
        """Every item (of one fabric when given), by machine name."""
        query = select(items).order_by(items.c.machine_name, items.c.item_id)
        if fabric_id is not None:
            query = query.where(items.c.fabric_id == fabric_id)
        return [_item(row) for row in self._db.execute(query).mappings()]

    def remove(self, item_id: str) -> None:
        """Forget an item with its markers and recovery points."""
        self.get(item_id)
        self._db.execute(delete(items).where(items.c.item_id == item_id))

    def set_marker(self, marker: DiskMarker) -> None:
        """Record the last HRL shipped for a disk (replacing the previous record)."""
        self.get(marker.item_id)
        key = (disk_markers.c.item_id == marker.item_id, disk_markers.c.disk_id == marker.disk_id)
        self._db.execute(delete(disk_markers).where(*key))
        self._db.execute(insert(disk_markers).values(**vars(marker)))

    def marker(self, item_id: str, disk_id: str) -> DiskMarker | None:
        query = select(disk_markers).where(
            disk_markers.c.item_id == item_id, disk_markers.c.disk_id == disk_id
        )
        row = self._db.execute(query).mappings().first()
        return None if row is None else DiskMarker(**row)

    def markers(self, item_id: str) -> builtins.list[DiskMarker]:
        query = (
            select(disk_markers)
            .where(disk_markers.c.item_id == item_id)
            .order_by(disk_markers.c.disk_id)
        )
        return [DiskMarker(**row) for row in self._db.execute(query).mappings()]

    def clear_markers(self, item_id: str) -> None:
        """Forget every disk's marker: the next cycle is a full (re)synchronization."""
        self._db.execute(delete(disk_markers).where(disk_markers.c.item_id == item_id))

    def _first(self, query: Any) -> ProtectedItem | None:
        row = self._db.execute(query).mappings().first()
        return None if row is None else _item(row)


def _item_row(item: ProtectedItem) -> dict[str, Any]:
    return {
        "item_id": item.item_id,
        "fabric_id": item.fabric_id,
        "machine_id": item.machine_id,
        "machine_name": item.machine_name,
        "policy": item.policy,
        "target": item.target,
        "state": item.state.value,
        "health": [[i.code, int(i.level), i.message] for i in item.health.issues],
        "replication_group": item.replication_group,
        "direction": item.direction.value,
        "last_point_at": item.last_point_at,
        "created_at": item.created_at,
        "replica_id": item.replica_id,
        "test_replica_id": item.test_replica_id,
        "failover_point_id": item.failover_point_id,
        "failover_mode": item.failover_mode,
    }


def _item(row: RowMapping) -> ProtectedItem:
    issues = tuple(
        HealthIssue(code, Health(level), message) for code, level, message in row["health"]
    )
    return ProtectedItem(
        item_id=row["item_id"],
        fabric_id=row["fabric_id"],
        machine_id=row["machine_id"],
        machine_name=row["machine_name"],
        policy=row["policy"],
        target=row["target"],
        state=ReplicationState(row["state"]),
        health=HealthReport(issues),
        replication_group=row["replication_group"],
        direction=Direction(row["direction"]),
        last_point_at=row["last_point_at"],
        created_at=row["created_at"],
        replica_id=row["replica_id"],
        test_replica_id=row["test_replica_id"],
        failover_point_id=row["failover_point_id"],
        failover_mode=row["failover_mode"],
    )
