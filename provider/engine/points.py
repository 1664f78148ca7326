"""Recovery points: pending until every disk's HRL is applied, then recorded.

A cycle's point is written to the process server's state as *pending* the
moment its HRLs are safely cached; it becomes a recovery point in the vault
only when the target has applied every one of them (and, when verification
is on, proved the replica's digest equals the source's). A target outage
therefore delays points but never loses or invents one.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from provider.contracts.transfer import DiskRef, PointQuery
from provider.engine.context import EngineContext
from provider.engine.group import Group
from provider.errors import ReplicationError
from provider.model.recovery import Consistency, DiskPoint, RecoveryPoint


def pending_dir(ctx: EngineContext, item_id: str) -> Path:
    """Where an item's pending points wait."""
    return ctx.state_dir / "pending" / item_id


def save_pending(ctx: EngineContext, point: RecoveryPoint) -> None:
    """Record a point whose HRLs are cached but not yet all applied (atomic write)."""
    folder = pending_dir(ctx, point.item_id)
    folder.mkdir(parents=True, exist_ok=True)
    body = asdict(point)
    temporary = folder / f".{point.point_id}.tmp"
    temporary.write_text(json.dumps(body, sort_keys=True))
    with temporary.open("rb") as handle:
        os.fsync(handle.fileno())
    temporary.replace(folder / f"{point.point_id}.json")


def load_pending(ctx: EngineContext, item_id: str) -> list[RecoveryPoint]:
    """Pending points of an item, oldest first."""
    folder = pending_dir(ctx, item_id)
    if not folder.is_dir():
        return []
    points = [_decode(json.loads(path.read_text())) for path in folder.glob("*.json")]
    return sorted(points, key=lambda p: (p.created_at, p.point_id))


def drop_pending(ctx: EngineContext, point: RecoveryPoint) -> None:
    """Forget a pending point (recorded, or made impossible by a resync)."""
    (pending_dir(ctx, point.item_id) / f"{point.point_id}.json").unlink(missing_ok=True)


def _decode(raw: dict[str, Any]) -> RecoveryPoint:
    return RecoveryPoint(
        point_id=raw["point_id"],
        item_id=raw["item_id"],
        cut_id=raw["cut_id"],
        created_at=raw["created_at"],
        consistency=Consistency(raw["consistency"]),
        disks=tuple(DiskPoint(**disk) for disk in raw["disks"]),
        group_cut=raw["group_cut"],
    )


def is_applied(point: RecoveryPoint, applied: dict[str, int]) -> bool:
    """True when the target has applied every disk of the point."""
    return all(applied.get(d.disk_id, 0) >= d.sequence for d in point.disks)


def verify_point(ctx: EngineContext, group: Group, point: RecoveryPoint) -> None:
    """Prove the target's replica equals the source at the point, disk by disk."""
    member = next(m for m in group.members if m.item.item_id == point.item_id)
    for disk in point.disks:
        ref: DiskRef = member.disk_ref(disk.disk_id)
        replica = ctx.plugins.point_digest(group.target, PointQuery(ref, point))
        if replica != disk.digest:
            raise ReplicationError(
                f"recovery point {point.point_id} of {member.machine.name}: disk "
                f"{disk.disk_id} on the target has digest {replica[:16]}..., the source had "
                f"{disk.digest[:16]}... at that cut; the point is not recorded",
                hint="the disk is resynchronized on the next cycle",
            )
