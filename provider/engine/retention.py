"""Retention: forget recovery points older than the policy's window.

The latest point is always kept, whatever its age: an item whose source has
been down for days must still be able to fail over to its last point.
"""

from __future__ import annotations

from provider.engine.context import EngineContext
from provider.engine.group import Group, Member
from provider.model.recovery import RecoveryPoint


def apply_retention(ctx: EngineContext, group: Group, member: Member) -> list[str]:
    """Drop expired points from the vault, then free what the target kept for them."""
    cutoff = ctx.clock() - group.policy.retention_hours * 3600
    with ctx.store.unit() as tx:
        points = tx.points.for_item(member.item.item_id)
        expired = [p for p in points[:-1] if p.created_at < cutoff]
        tx.points.remove(p.point_id for p in expired)
    kept = [p for p in points if p not in expired]
    if expired and kept:
        _free_target(ctx, group, member, kept)
    return [p.point_id for p in expired]


def _free_target(
    ctx: EngineContext, group: Group, member: Member, kept: list[RecoveryPoint]
) -> None:
    for disk in member.disk_refs():
        sequences = [p.disk(disk.disk_id).sequence for p in kept]
        ctx.plugins.apply_retention(group.target, disk, min(sequences))
