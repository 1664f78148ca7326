"""Recovery points of protected items, oldest first."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection, RowMapping

from provider.errors import AlreadyExists, NotFound
from provider.model.recovery import Consistency, DiskPoint, RecoveryPoint
from provider.store.schema import recovery_points


class PointRepository:
    """Recovery points; removed with their item."""

    def __init__(self, connection: Connection) -> None:
        self._db = connection

    def add(self, point: RecoveryPoint) -> None:
        if self.find(point.point_id) is not None:
            raise AlreadyExists(f"recovery point {point.point_id!r} already exists")
        self._db.execute(insert(recovery_points).values(**_point_row(point)))

    def get(self, point_id: str) -> RecoveryPoint:
        point = self.find(point_id)
        if point is None:
            raise NotFound(f"no recovery point {point_id!r}")
        return point

    def find(self, point_id: str) -> RecoveryPoint | None:
        query = select(recovery_points).where(recovery_points.c.point_id == point_id)
        row = self._db.execute(query).mappings().first()
        return None if row is None else _point(row)

    def for_item(self, item_id: str) -> list[RecoveryPoint]:
        """The item's points, oldest first."""
        query = (
            select(recovery_points)
            .where(recovery_points.c.item_id == item_id)
            .order_by(recovery_points.c.created_at, recovery_points.c.point_id)
        )
        return [_point(row) for row in self._db.execute(query).mappings()]

    def latest(self, item_id: str, consistency: Consistency | None = None) -> RecoveryPoint | None:
        """The newest point of the item (of one consistency when given)."""
        query = select(recovery_points).where(recovery_points.c.item_id == item_id)
        if consistency is not None:
            query = query.where(recovery_points.c.consistency == consistency.value)
        query = query.order_by(
            recovery_points.c.created_at.desc(), recovery_points.c.point_id.desc()
        )
        row = self._db.execute(query.limit(1)).mappings().first()
        return None if row is None else _point(row)

    def remove(self, point_ids: Iterable[str]) -> int:
        """Delete these points; returns how many existed."""
        wanted = list(point_ids)
        if not wanted:
            return 0
        result = self._db.execute(
            delete(recovery_points).where(recovery_points.c.point_id.in_(wanted))
        )
        return int(result.rowcount)

    def prune(self, item_id: str, older_than: float) -> int:
        """Delete the item's points created before ``older_than``; returns how many."""
        result = self._db.execute(
            delete(recovery_points).where(
                recovery_points.c.item_id == item_id,
                recovery_points.c.created_at < older_than,
            )
        )
        return int(result.rowcount)


def _point_row(point: RecoveryPoint) -> dict[str, Any]:
    return {
        "point_id": point.point_id,
        "item_id": point.item_id,
        "cut_id": point.cut_id,
        "created_at": point.created_at,
        "consistency": point.consistency.value,
        "disks": [[d.disk_id, d.sequence, d.digest] for d in point.disks],
        "group_cut": point.group_cut,
    }


def _point(row: RowMapping) -> RecoveryPoint:
    return RecoveryPoint(
        point_id=row["point_id"],
        item_id=row["item_id"],
        cut_id=row["cut_id"],
        created_at=row["created_at"],
        consistency=Consistency(row["consistency"]),
        disks=tuple(DiskPoint(d, int(s), g) for d, s, g in row["disks"]),
        group_cut=row["group_cut"],
    )
