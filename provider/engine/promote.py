"""Forward cached HRLs and turn pending points into recorded recovery points."""

from __future__ import annotations

from dataclasses import dataclass, replace

from provider.contracts.transfer import DiskRef
from provider.engine.context import EngineContext
from provider.engine.forwarder import RefusedHrl, forward_pending, with_retries
from provider.engine.group import Group, Member
from provider.engine.points import drop_pending, is_applied, load_pending, verify_point
from provider.engine.retention import apply_retention
from provider.engine.state import mark_resync_required, walk
from provider.errors import ReplicationError
from provider.model.recovery import Consistency, RecoveryPoint
from provider.model.states import ReplicationState
from provider.store.items import DiskMarker

_R = ReplicationState
_TO_PROTECTED = {
    _R.INITIAL_REPLICATION: (_R.PROTECTED,),
    _R.RESYNCHRONIZING: (_R.PROTECTED,),
}


@dataclass(frozen=True)
class PromoteResult:
    """Points recorded by this pass, and what still waits (with why)."""

    recorded: tuple[RecoveryPoint, ...]
    pending: tuple[str, ...]


def promote(ctx: EngineContext, group: Group) -> PromoteResult:
    """Forward every member's cached HRLs, then record the points they complete."""
    recorded: list[RecoveryPoint] = []
    pending: list[str] = []
    for member in group.members:
        applied = _forward_member(ctx, group, member)
        for point in load_pending(ctx, member.item.item_id):
            if not is_applied(point, applied):
                pending.append(point.point_id)
            elif _record(ctx, group, point):
                recorded.append(point)
        if recorded:
            apply_retention(ctx, group, member)
    return PromoteResult(tuple(recorded), tuple(pending))


def _forward_member(ctx: EngineContext, group: Group, member: Member) -> dict[str, int]:
    key, _ = ctx.data_key(group.policy.encryption)
    applied: dict[str, int] = {}
    for disk in member.disk_refs():
        cache = ctx.cache_for(disk.item_id)
        result = forward_pending(ctx.plugins, group.target, disk, cache, key, ctx.retry)
        if result.refused is not None:
            _after_refusal(ctx, group, member, result.refused)
        applied[disk.disk_id] = _applied_sequence(ctx, group, disk)
    return applied


def _applied_sequence(ctx: EngineContext, group: Group, disk: DiskRef) -> int:
    holdings = with_retries(
        lambda: ctx.plugins.target_holdings(group.target, disk),
        ctx.retry,
        f"holdings of {disk.disk_id}",
    )
    return holdings.applied_sequence


def _after_refusal(ctx: EngineContext, group: Group, member: Member, refused: RefusedHrl) -> None:
    # The chain restarts from what the target really holds; the next cut of
    # this disk resynchronizes by digest, so the refused bytes are resent.
    disk: DiskRef = refused.disk
    holdings = ctx.plugins.target_holdings(group.target, disk)
    cache = ctx.cache_for(disk.item_id)
    for sequence in cache.pending(disk):
        cache.discard(disk, sequence)
    for point in load_pending(ctx, member.item.item_id):
        if any(
            d.disk_id == disk.disk_id and d.sequence > holdings.applied_sequence
            for d in point.disks
        ):
            drop_pending(ctx, point)
    marker = DiskMarker(
        disk.item_id, disk.disk_id, "", holdings.applied_sequence, holdings.applied_digest.hex()
    )
    with ctx.store.unit() as tx:
        tx.items.set_marker(marker)
        mark_resync_required(
            tx, member.item.item_id, f"HRL {refused.sequence} refused: {refused.reason}"
        )


def _record(ctx: EngineContext, group: Group, point: RecoveryPoint) -> bool:
    if ctx.verify_points:
        try:
            verify_point(ctx, group, point)
        except ReplicationError as exc:
            drop_pending(ctx, point)
            with ctx.store.unit() as tx:
                mark_resync_required(tx, point.item_id, exc.message)
            return False
    with ctx.store.unit() as tx:
        tx.points.add(point)
        item = tx.items.get(point.item_id)
        item = walk(item, _TO_PROTECTED.get(item.state, ()))
        health = item.health.cleared("resync")
        if point.consistency is Consistency.APP:
            health = health.cleared("quiesce")
        tx.items.update(replace(item, last_point_at=point.created_at, health=health))
    drop_pending(ctx, point)
    return True
