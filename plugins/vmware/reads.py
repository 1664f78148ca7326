"""Reading a cut's disk bytes: HTTP range requests on the snapshot's datastore file.

Extents are batched: neighbours closer than :data:`GAP_BYTES` share one
request (the gap is read and dropped), and no request asks for more than
:data:`READ_BATCH_BYTES`; one batch is in memory at a time. Block digests
for a resynchronization read only the allocated areas (``changeId="*"``);
blocks never written hash as zeros without a read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from functools import lru_cache
from urllib.parse import quote

from plugins.vmware import vim
from plugins.vmware.changeids import OpenDisk
from plugins.vmware.client import VSphereClient, VSphereFault
from provider.contracts.replica import BlockDigest, ExtentData
from provider.errors import ValidationError

READ_BATCH_BYTES = 4 << 20
GAP_BYTES = 64 << 10

Extent = tuple[int, int]


def read_extents(
    client: VSphereClient, disk: OpenDisk, extents: Iterable[Extent]
) -> Iterator[ExtentData]:
    """The extents' bytes at the cut, in order, a batch per request."""
    for start, length, pieces in batches(_pieces(extents, disk.disk.capacity)):
        data = _read(client, disk, start, length)
        for offset, size in pieces:
            yield ExtentData(offset, data[offset - start : offset - start + size])


def _pieces(extents: Iterable[Extent], capacity: int) -> Iterator[Extent]:
    for offset, length in extents:
        if offset < 0 or length <= 0 or offset + length > capacity:
            raise ValidationError(
                f"extent ({offset}, {length}) is not inside the disk's {capacity} bytes"
            )
        for start in range(offset, offset + length, READ_BATCH_BYTES):
            yield start, min(READ_BATCH_BYTES, offset + length - start)


def batches(pieces: Iterable[Extent]) -> Iterator[tuple[int, int, list[Extent]]]:
    """Group ascending pieces into ``(start, length, pieces)`` requests of bounded size."""
    start = end = -1
    group: list[Extent] = []
    for offset, length in pieces:
        near = group and end <= offset <= end + GAP_BYTES
        if near and offset + length - start <= READ_BATCH_BYTES:
            group.append((offset, length))
            end = offset + length
            continue
        if group:
            yield start, end - start, group
        start, end, group = offset, offset + length, [(offset, length)]
    if group:
        yield start, end - start, group


def _read(client: VSphereClient, disk: OpenDisk, start: int, length: int) -> bytes:
    params = {"dcPath": disk.datacenter, "dsName": disk.disk.datastore}
    operation = f"read {disk.machine_id} disk {disk.disk.key} at {start} ({length} bytes)"
    return client.read_file(
        operation, "/folder/" + quote(disk.disk.flat_path), params, start, length
    )


def block_digests(client: VSphereClient, disk: OpenDisk, block_size: int) -> Iterator[BlockDigest]:
    """SHA-256 of every block of the disk at the cut, in offset order, streamed."""
    if block_size <= 0:
        raise ValidationError(f"block size must be positive, got {block_size}")
    allocated = _allocated(client, disk)
    capacity = disk.disk.capacity
    wanted = (
        (offset, length)
        for offset, length, used in _marked_blocks(capacity, block_size, allocated)
        if used
    )
    reads = read_extents(client, disk, wanted)
    for offset, length, used in _marked_blocks(capacity, block_size, allocated):
        if used:
            yield BlockDigest(offset, hashlib.sha256(next(reads).data).digest())
        else:
            yield BlockDigest(offset, zero_digest(length))


def _marked_blocks(
    capacity: int, block_size: int, areas: list[Extent]
) -> Iterator[tuple[int, int, bool]]:
    """Every block as ``(offset, length, overlaps an allocated area)``, in order."""
    index = 0
    for offset in range(0, capacity, block_size):
        length = min(block_size, capacity - offset)
        while index < len(areas) and areas[index][0] + areas[index][1] <= offset:
            index += 1
        used = index < len(areas) and areas[index][0] < offset + length
        yield offset, length, used


def _allocated(client: VSphereClient, disk: OpenDisk) -> list[Extent]:
    if not disk.disk.change_id:
        return [(0, disk.disk.capacity)]
    try:
        return vim.changed_areas(client, disk.machine_id, disk.snapshot_id, disk.disk, "*")
    except VSphereFault:
        return [(0, disk.disk.capacity)]


@lru_cache(maxsize=8)
def zero_digest(length: int) -> bytes:
    return hashlib.sha256(bytes(length)).digest()
