"""One cut -> one HRL per disk in the process server cache.

Picks the extents each disk ships (changed, allocated for the first copy,
or the blocks that differ for a resynchronization), then streams them
through the pipeline. Progress is reported in bytes over the whole cut.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from provider.blockdigest import DIGEST_BLOCK_SIZE, BlockDigestTable, align_extents
from provider.contracts.replica import ChangeMode, Cut, DiskChanges, ExtentData
from provider.engine.context import EngineContext
from provider.engine.group import Group, Member
from provider.engine.pipeline import HrlPlan, WrittenHrl, abandon, write_hrl
from provider.engine.resync import differing_extents
from provider.hrl import ZERO_DIGEST

Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class DiskShipment:
    """What one disk ships at this cut, and why."""

    member: Member
    changes: DiskChanges
    extents: tuple[tuple[int, int], ...]
    resync: bool


def plan_shipments(ctx: EngineContext, group: Group, cut: Cut) -> list[DiskShipment]:
    """Decide each disk's extents; a resync compares digests with the replica first."""
    shipments = []
    for changes in cut.disks:
        member = group.member(changes.machine_id)
        resync = needs_resync(member, changes)
        extents = _resync_extents(ctx, group, cut, member, changes) if resync else changes.extents
        aligned = align_extents(extents, DIGEST_BLOCK_SIZE, changes.capacity)
        shipments.append(DiskShipment(member, changes, tuple(aligned), resync))
    return shipments


def needs_resync(member: Member, changes: DiskChanges) -> bool:
    """True when this disk must be compared by digest rather than shipped as reported."""
    # A full copy over a replica that already holds data would leave stale
    # blocks where the source is now unallocated: compare digests instead.
    marker = member.markers.get(changes.disk_id)
    has_replica = marker is not None and marker.last_sequence > 0
    return changes.mode is ChangeMode.RESYNC or (changes.mode is ChangeMode.FULL and has_replica)


def _resync_extents(
    ctx: EngineContext, group: Group, cut: Cut, member: Member, changes: DiskChanges
) -> list[tuple[int, int]]:
    disk = member.disk_ref(changes.disk_id)
    table = ctx.digest_table(disk, changes.capacity)
    source = list(
        ctx.plugins.block_digests(
            group.source, cut, changes.machine_id, changes.disk_id, table.block_size
        )
    )
    replica = ctx.plugins.replica_digests(group.target, disk, table.block_size)
    diff = differing_extents(source, replica, table.block_size, changes.capacity)
    table.set_digests((digest.offset, digest.digest) for digest in source)
    return list(diff.extents)


def write_shipments(
    ctx: EngineContext,
    group: Group,
    cut: Cut,
    shipments: Sequence[DiskShipment],
    progress: Progress,
) -> list[WrittenHrl]:
    """Write every disk's HRL; on any failure, drop the ones already written."""
    total = sum(length for s in shipments for _, length in s.extents) or 1
    meter = _Meter(total, progress)
    written: list[WrittenHrl] = []
    try:
        for shipment in shipments:
            written.append(_write_one(ctx, group, cut, shipment, meter))
    except BaseException:
        for hrl in written:
            abandon(hrl, ctx.cache_for(hrl.plan.disk.item_id))
        raise
    return written


def _write_one(
    ctx: EngineContext, group: Group, cut: Cut, shipment: DiskShipment, meter: _Meter
) -> WrittenHrl:
    member, changes = shipment.member, shipment.changes
    disk = member.disk_ref(changes.disk_id)
    marker = member.markers.get(changes.disk_id)
    key, key_id = ctx.data_key(group.policy.encryption)
    plan = HrlPlan(
        disk=disk,
        machine_id=changes.machine_id,
        sequence=(marker.last_sequence if marker else 0) + 1,
        prev_digest=bytes.fromhex(marker.last_digest) if marker else ZERO_DIGEST,
        from_cut=marker.last_cut_id if marker else "",
        to_cut=cut.cut_id,
        consistency=cut.consistency.value,
        created_at=cut.taken_at,
        key=key,
        key_id=key_id,
        compress=group.policy.compression,
    )

    def read(batch: Sequence[tuple[int, int]]) -> Iterator[ExtentData]:
        extents = ctx.plugins.read_extents(
            group.source, cut, changes.machine_id, changes.disk_id, batch
        )
        return meter.counting(extents, f"{member.machine.name}/{changes.disk_id}")

    table: BlockDigestTable = ctx.digest_table(disk, changes.capacity)
    return write_hrl(plan, shipment.extents, read, ctx.cache_for(disk.item_id), table)


class _Meter:
    """Turns bytes read into a 0..1 progress over the whole cut."""

    def __init__(self, total: int, report: Progress) -> None:
        self.total, self.done, self.report = total, 0, report

    def counting(self, extents: Iterator[ExtentData], label: str) -> Iterator[ExtentData]:
        for extent in extents:
            self.done += len(extent.data)
            self.report(min(1.0, self.done / self.total), label)
            yield extent
