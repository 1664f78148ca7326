"""Refreshing native items from their target: state, health, RPO and recovery points.

A native target replicates on its own schedule, so the core does not cycle
its items: it asks the target how each machine stands (``native_state``)
and which points it holds (``native_points``), and brings the vault in
line. Points are recorded with the target's own point name as their cut id,
so a failover can name them back to the target; a point the target no
longer holds (out of its retention) leaves the vault too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from provider.contracts.native import NativeGroupState, NativeMachineState, NativePoint
from provider.engine.context import EngineContext
from provider.engine.health import assess
from provider.model.item import Direction, ProtectedItem
from provider.model.recovery import RecoveryPoint
from provider.model.states import REPLICATION_TABLE, Health, HealthReport, ReplicationState
from provider.native.kinds import group_of, is_native_target

_R = ReplicationState
#: States whose replication the target reports; the others belong to a failover.
FOLLOWED_STATES = frozenset(
    {_R.INITIAL_REPLICATION, _R.PROTECTED, _R.RESYNC_REQUIRED, _R.RESYNCHRONIZING}
)
#: States in which the target still holds the item's points.
_POINTED_STATES = FOLLOWED_STATES | {_R.TEST_FAILOVER, _R.REVERSE_REPLICATION}
#: Health issue code of what the target itself reports.
NATIVE_ISSUE = "native"


@dataclass(frozen=True)
class GroupRefresh:
    """One group refreshed: the target's report and the items as now stored."""

    target_id: str
    group_id: str
    state: NativeGroupState
    items: tuple[ProtectedItem, ...]
    points_added: int
    points_removed: int


def machine_key(item: ProtectedItem) -> str:
    """The machine id the target knows the item by (the replica's once reversed)."""
    return item.replica_id if item.direction is Direction.REVERSE else item.machine_id


def group_items(ctx: EngineContext, target_id: str, group_id: str) -> list[ProtectedItem]:
    """The group's items whose points the target holds, by machine name."""
    with ctx.store.read() as tx:
        found = tx.items.list()
    return [
        item
        for item in found
        if item.target == target_id and group_of(item) == group_id and item.state in _POINTED_STATES
    ]


def refresh_group(ctx: EngineContext, target_id: str, group_id: str) -> GroupRefresh:
    """Ask the target about the group and bring its items and points up to date."""
    target = ctx.target_connection(target_id)
    state = ctx.plugins.native_state(target, group_id)
    points = ctx.plugins.native_points(target, group_id)
    items = group_items(ctx, target_id, group_id)
    added, removed = record_points(ctx, items, points)
    apply_group_state(ctx, state, {machine_key(item): item.item_id for item in items})
    with ctx.store.read() as tx:
        stored = tuple(tx.items.get(item.item_id) for item in items)
    return GroupRefresh(target_id, group_id, state, stored, added, removed)


def native_groups(ctx: EngineContext) -> list[tuple[str, str]]:
    """(target id, group id) of every group a native target replicates, sorted."""
    with ctx.store.read() as tx:
        found = tx.items.list()
    groups = sorted({(i.target, group_of(i)) for i in found if i.state in _POINTED_STATES})
    return [(target, group) for target, group in groups if is_native_target(ctx, target)]


def refresh_all(ctx: EngineContext) -> list[GroupRefresh]:
    """Refresh every group of every native target (each group once)."""
    return [refresh_group(ctx, target, group) for target, group in native_groups(ctx)]


def apply_group_state(
    ctx: EngineContext, state: NativeGroupState, items_by_machine: Mapping[str, str]
) -> None:
    """Move each item to the state the target reports and set its health and RPO."""
    now = ctx.clock()
    with ctx.store.unit() as tx:
        for reported in state.machines:
            item_id = items_by_machine.get(reported.machine_id)
            if item_id is None:
                continue
            item = tx.items.get(item_id)
            policy = tx.policies.find(item.policy)
            health = _native_health(item.health, reported)
            if policy is not None:
                health = assess(health, policy, now, item.last_point_at, ())
            tx.items.update(replace(_followed(item, reported.state), health=health))


def _followed(item: ProtectedItem, reported: ReplicationState) -> ProtectedItem:
    # A reverse-replicating item becomes protected (reversed) once the target says so.
    if item.state is _R.REVERSE_REPLICATION and reported is _R.PROTECTED:
        return item.moved_to(_R.PROTECTED)
    if item.state not in FOLLOWED_STATES or reported is item.state:
        return item
    # The target's own names for the initial copy (InMage's "Resync Step I") are not
    # a resync of the item: a move the table forbids is not a state change at all.
    if reported not in REPLICATION_TABLE[item.state]:
        return item
    return item.moved_to(reported)


def _native_health(report: HealthReport, reported: NativeMachineState) -> HealthReport:
    if reported.health is Health.NORMAL:
        return report.cleared(NATIVE_ISSUE)
    reason = reported.reason or "no reason given"
    return report.raised(NATIVE_ISSUE, reported.health, f"{reported.detail}: {reason}")


def record_points(
    ctx: EngineContext, items: Sequence[ProtectedItem], points: Sequence[NativePoint]
) -> tuple[int, int]:
    """Record the target's points per item, drop those it let go; returns (added, removed)."""
    added = removed = 0
    with ctx.store.unit() as tx:
        for item in items:
            held = [p for p in points if machine_key(item) in p.machine_ids]
            wanted = {point_id(item.item_id, p): p for p in held}
            known = {p.point_id for p in tx.points.for_item(item.item_id)}
            for pid in sorted(wanted.keys() - known):
                tx.points.add(_vault_point(item.item_id, pid, wanted[pid]))
            added += len(wanted.keys() - known)
            removed += tx.points.remove(sorted(known - wanted.keys()))
            latest = max((p.created_at for p in held), default=item.last_point_at)
            tx.items.update(replace(tx.items.get(item.item_id), last_point_at=latest))
    return added, removed


def point_id(item_id: str, point: NativePoint) -> str:
    """A stable vault id for a target's point: the same point is recorded once."""
    seed = f"{item_id}\n{point.name}\n{point.created_at!r}".encode()
    return f"np-{hashlib.sha256(seed).hexdigest()[:24]}"


def _vault_point(item_id: str, pid: str, point: NativePoint) -> RecoveryPoint:
    # A point every machine of the group holds is a multi-machine point: its name is the cut.
    shared = point.name if len(point.machine_ids) > 1 else ""
    return RecoveryPoint(
        point_id=pid,
        item_id=item_id,
        cut_id=point.name,
        created_at=point.created_at,
        consistency=point.consistency,
        disks=(),
        group_cut=shared,
    )
