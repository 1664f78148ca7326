"""One replication cycle of a machine or a replication group.

1. forward what an earlier cycle left in the cache (target outages heal here);
2. take one consistent cut across every disk of every member;
3. write one HRL per disk into the cache (changed, full or resync extents);
4. record the new markers and the pending point, then confirm the cut;
5. forward to the target, and record each point once all its disks are applied.

A failure before step 4 releases the cut unconfirmed, so its changes come
again with the next cut; after step 4 the HRLs are safe in the cache and the
next cycle forwards them. Either way nothing is lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace

from provider.contracts.replica import Cut, CutRequest
from provider.engine.context import EngineContext
from provider.engine.group import Group, load_group
from provider.engine.health import CycleOutcome
from provider.engine.pipeline import WrittenHrl, commit_table
from provider.engine.points import load_pending, save_pending
from provider.engine.promote import PromoteResult, promote
from provider.engine.shipping import (
    DiskShipment,
    Progress,
    needs_resync,
    plan_shipments,
    write_shipments,
)
from provider.engine.state import (
    mark_resync_required,
    raise_quiesce,
    record_outcome,
    set_states,
)
from provider.errors import ReplicationError, SrpError, TargetUnavailable
from provider.model.item import Direction
from provider.model.recovery import Consistency, DiskPoint, RecoveryPoint
from provider.model.states import ReplicationState
from provider.store.items import DiskMarker


@dataclass(frozen=True)
class CycleReport:
    """What a cycle did: the cut, bytes shipped, points recorded and still pending."""

    cut_id: str
    consistency: Consistency
    bytes_shipped: int
    recorded: tuple[RecoveryPoint, ...]
    pending: tuple[str, ...]
    note: str = ""
    resynchronized: tuple[str, ...] = ()


def _quiet(fraction: float, label: str) -> None:
    """The default progress sink."""


def run_cycle(
    ctx: EngineContext,
    item_ids: Sequence[str],
    *,
    consistency: Consistency = Consistency.CRASH,
    progress: Progress = _quiet,
    resync_now: bool = False,
) -> CycleReport:
    """Run one cycle for these items (one machine, or a replication group).

    ``resync_now`` is the operator's command: resynchronize now, whatever the
    policy's resync window says.
    """
    _check_cyclable(load_group(ctx, item_ids))
    # The target being away must not stop new cuts: they wait in the cache.
    backlog, backlog_note = _promote_or_wait(ctx, load_group(ctx, item_ids))
    group = load_group(ctx, item_ids)  # the backlog may have reset markers
    try:
        report = _cut_and_ship(ctx, group, consistency, progress, resync_now)
    except SrpError as exc:
        record_outcome(ctx, group, CycleOutcome(ctx.clock(), False, str(exc)))
        raise
    record_outcome(ctx, group, CycleOutcome(ctx.clock(), True))
    if consistency is Consistency.APP and report.consistency is not Consistency.APP:
        raise_quiesce(ctx, group, report.note or "the cut fell back to crash-consistent")
    notes = "; ".join(n for n in (backlog_note, report.note) if n)
    return replace(report, recorded=backlog.recorded + report.recorded, note=notes)


#: States in which cycles replicate an item forward (a test failover leaves replication running;
#: a planned failover's final cycle runs once the source is prepared).
CYCLABLE = frozenset(
    {
        ReplicationState.INITIAL_REPLICATION,
        ReplicationState.PROTECTED,
        ReplicationState.RESYNC_REQUIRED,
        ReplicationState.RESYNCHRONIZING,
        ReplicationState.TEST_FAILOVER,
        ReplicationState.FAILOVER_PREPARED,
    }
)


def _check_cyclable(group: Group) -> None:
    for member in group.members:
        item = member.item
        if item.direction is Direction.FORWARD and item.state in CYCLABLE:
            continue
        reverse = " in reverse" if item.direction is Direction.REVERSE else ""
        raise ReplicationError(
            f"{item.machine_name} (item {item.item_id}) is {item.state.value}{reverse}: "
            "cycles do not replicate it now",
            hint="reverse replication and failback have their own operations",
        )


def _cut_and_ship(
    ctx: EngineContext,
    group: Group,
    consistency: Consistency,
    progress: Progress,
    resync_now: bool,
) -> CycleReport:
    request = CutRequest(
        f"cut-{uuid.uuid4().hex[:16]}",
        tuple(m.machine for m in group.members),
        group.cut_markers(),
        consistency,
    )
    cut = ctx.plugins.capture_cut(group.source, request)
    deferred = "" if resync_now else _deferred_resync(ctx, group, cut)
    if deferred:
        ctx.plugins.release_cut(group.source, cut, False)
        return CycleReport(cut.cut_id, cut.consistency, 0, (), (), deferred)
    try:
        shipments = plan_shipments(ctx, group, cut)
        written = write_shipments(ctx, group, cut, shipments, progress)
        _record_shipped(ctx, group, cut, shipments, written)
    except BaseException:
        ctx.plugins.release_cut(group.source, cut, False)
        raise
    ctx.plugins.release_cut(group.source, cut, True)
    for hrl in written:
        ctx.pool.record_churn(hrl.plan.disk.item_id, hrl.summary.payload_bytes, ctx.clock())
    result, waiting = _promote_or_wait(ctx, group)
    shipped = sum(w.summary.payload_bytes for w in written)
    note = "; ".join(n for n in (cut.note, waiting) if n)
    resynced = tuple(s.changes.disk_id for s in shipments if s.resync)
    return CycleReport(
        cut.cut_id, cut.consistency, shipped, result.recorded, result.pending, note, resynced
    )


def _deferred_resync(ctx: EngineContext, group: Group, cut: Cut) -> str:
    # A resync reads every block on both sides: the policy may confine it to
    # a window (or to an operator's command). Until then nothing ships, and
    # the items say why; their existing points stay usable for failover.
    waiting = [c for c in cut.disks if needs_resync(group.member(c.machine_id), c)]
    if not waiting or group.policy.resync_allowed(ctx.clock()):
        return ""
    policy = group.policy
    when = f"the window {policy.resync_window} UTC" if policy.auto_resync else "an operator"
    reason = f"{waiting[0].reason or 'tracking lost'}; waiting for {when} to resynchronize"
    with ctx.store.unit() as tx:
        for item_id in {group.member(c.machine_id).item.item_id for c in waiting}:
            mark_resync_required(tx, item_id, reason)
    return f"resynchronization deferred: {reason}"


def _promote_or_wait(ctx: EngineContext, group: Group) -> tuple[PromoteResult, str]:
    try:
        return promote(ctx, group), ""
    except TargetUnavailable as exc:
        waiting = tuple(
            point.point_id for m in group.members for point in load_pending(ctx, m.item.item_id)
        )
        return PromoteResult((), waiting), f"target unavailable, points pending: {exc.message}"


def _record_shipped(
    ctx: EngineContext,
    group: Group,
    cut: Cut,
    shipments: Sequence[DiskShipment],
    written: Sequence[WrittenHrl],
) -> None:
    # Tables first: a table ahead of its marker heals itself (the next cut
    # from the older marker rehashes a superset of these blocks).
    for hrl in written:
        commit_table(hrl, ctx.digest_table(hrl.plan.disk, hrl.plan.disk.capacity))
    resyncing = {s.member.item.item_id for s in shipments if s.resync}
    with ctx.store.unit() as tx:
        for hrl in written:
            tx.items.set_marker(_marker(hrl))
        set_states(tx, group, resyncing)
    for point in _points(group, cut, written):
        save_pending(ctx, point)


def _marker(hrl: WrittenHrl) -> DiskMarker:
    return DiskMarker(
        hrl.plan.disk.item_id,
        hrl.plan.disk.disk_id,
        hrl.plan.to_cut,
        hrl.plan.sequence,
        hrl.summary.digest.hex(),
    )


def _points(group: Group, cut: Cut, written: Sequence[WrittenHrl]) -> list[RecoveryPoint]:
    shared = cut.cut_id if len(group.members) > 1 else ""
    points = []
    for member in group.members:
        item_id = member.item.item_id
        disks = tuple(
            DiskPoint(w.plan.disk.disk_id, w.plan.sequence, w.source_digest)
            for w in written
            if w.plan.disk.item_id == item_id
        )
        points.append(
            RecoveryPoint(
                f"{cut.cut_id}.{item_id}",
                item_id,
                cut.cut_id,
                cut.taken_at,
                cut.consistency,
                disks,
                shared,
            )
        )
    return points


__all__ = ["CycleReport", "ReplicationState", "run_cycle"]
