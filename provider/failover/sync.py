"""Sending only the blocks that differ from one machine's disks to another's.

Reverse replication and failback copy the failed-over replica back onto the
original machine. Both sides are read through the ordinary replica sync
hooks (a cut, then block digests); the blocks whose SHA-256 differ are read
from the replica and written to the machine with ``srp_write_extents``,
in bounded batches. Nothing else crosses the wire.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from provider.contracts.connection import FabricConnection
from provider.contracts.replica import BlockDigest, Cut, CutRequest, DiskMarker, ExtentData
from provider.engine.context import EngineContext
from provider.errors import FailoverError
from provider.failover.subject import Reporter
from provider.model.inventory import Machine

#: Block size digests are compared at. Coarser than the engine's digest block: a
#: failback compares every block of both sides over the fabric's protocol, so
#: fewer, larger blocks cost far fewer round trips for a few more bytes sent.
SYNC_BLOCK_SIZE = 64 * 1024
#: Extents written per ``srp_write_extents`` call: bounds memory whatever the disk size.
_BATCH = 16


@dataclass(frozen=True)
class Endpoint:
    """One side of a sync: a machine and the connection that reaches it."""

    connection: FabricConnection
    machine: Machine
    markers: tuple[DiskMarker, ...] = ()


@dataclass(frozen=True)
class DiskSync:
    """What one disk's sync compared and sent."""

    disk_id: str
    blocks_compared: int
    blocks_sent: int
    bytes_sent: int


@dataclass(frozen=True)
class SyncReport:
    """Every disk's sync."""

    disks: tuple[DiskSync, ...]

    @property
    def blocks_sent(self) -> int:
        return sum(disk.blocks_sent for disk in self.disks)


def sync_differences(
    ctx: EngineContext,
    source: Endpoint,
    destination: Endpoint,
    reporter: Reporter,
    disk_map: Mapping[str, str] | None = None,
) -> SyncReport:
    """Make every disk of ``destination`` equal to ``source``'s, sending only differing blocks.

    ``disk_map`` pairs each destination disk id with the source disk it copies
    (a new machine's disks have ids of their own); by default the ids match.
    """
    pairs = disk_map or {}
    with _cut(ctx, source) as source_cut, _cut(ctx, destination) as destination_cut:
        results = []
        disks = destination.machine.disks
        for index, disk in enumerate(disks):
            source_disk = pairs.get(disk.disk_id, disk.disk_id)
            capacity = source.machine.disk(source_disk).capacity
            if capacity != disk.capacity:
                raise FailoverError(
                    f"disk {disk.disk_id} of {destination.machine.name} holds {disk.capacity} "
                    f"bytes, the replica's {capacity}: the disks do not match"
                )
            source_side = _Side(source, source_cut, source_disk)
            destination_side = _Side(destination, destination_cut, disk.disk_id)
            results.append(_sync_disk(ctx, source_side, destination_side, capacity))
            reporter.progress((index + 1) / len(disks))
    for result in results:
        reporter.log(
            f"disk {result.disk_id}: {result.blocks_sent} of {result.blocks_compared} blocks "
            f"differed and were sent ({result.bytes_sent} bytes)"
        )
    return SyncReport(tuple(results))


@dataclass(frozen=True)
class _Side:
    """One disk of one endpoint, read at one cut."""

    endpoint: Endpoint
    cut: Cut
    disk_id: str

    def digests(self, ctx: EngineContext) -> Iterator[BlockDigest]:
        endpoint = self.endpoint
        return ctx.plugins.block_digests(
            endpoint.connection,
            self.cut,
            endpoint.machine.machine_id,
            self.disk_id,
            SYNC_BLOCK_SIZE,
        )


def _sync_disk(ctx: EngineContext, source: _Side, destination: _Side, capacity: int) -> DiskSync:
    pairs = list(zip(source.digests(ctx), destination.digests(ctx), strict=True))
    extents = [
        (mine.offset, min(SYNC_BLOCK_SIZE, capacity - mine.offset))
        for mine, other in pairs
        if mine.digest != other.digest
    ]
    data = ctx.plugins.read_extents(
        source.endpoint.connection,
        source.cut,
        source.endpoint.machine.machine_id,
        source.disk_id,
        extents,
    )
    target = destination.endpoint
    sent = 0
    for batch in _batches(data):
        ctx.plugins.write_extents(target.connection, target.machine, destination.disk_id, batch)
        sent += sum(len(extent.data) for extent in batch)
    return DiskSync(destination.disk_id, len(pairs), len(extents), sent)


def _batches(extents: Iterator[ExtentData]) -> Iterator[Sequence[ExtentData]]:
    batch: list[ExtentData] = []
    for extent in extents:
        batch.append(extent)
        if len(batch) == _BATCH:
            yield tuple(batch)
            batch = []
    if batch:
        yield tuple(batch)


@contextmanager
def _cut(ctx: EngineContext, endpoint: Endpoint) -> Iterator[Cut]:
    # Released unconfirmed: a sync's cut is never the base of replication.
    request = CutRequest(f"sync-{uuid.uuid4().hex[:16]}", (endpoint.machine,), endpoint.markers)
    cut = ctx.plugins.capture_cut(endpoint.connection, request)
    try:
        yield cut
    finally:
        ctx.plugins.release_cut(endpoint.connection, cut, False)
