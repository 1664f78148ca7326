"""The process server's pipeline: a disk's changes at a cut -> one HRL in the cache.

Extents are read from the source in bounded batches and streamed into the
HRL writer, which batches them into frames, compresses, encrypts and
checksums. Memory stays bounded by the batch and frame sizes, whatever the
disk size. The source's block digest table is updated from the same bytes,
on a staged copy that becomes current only when the caller commits.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from provider.blockdigest import BlockDigestTable, align_extents
from provider.contracts.replica import ExtentData
from provider.contracts.transfer import DiskRef
from provider.engine.cache import HrlCache
from provider.errors import ReplicationError
from provider.hrl import HrlHeader, HrlSummary, HrlWriter

#: Most bytes asked of the source in one read call.
READ_BATCH_BYTES = 32 * 1024 * 1024

ExtentSource = Callable[[Sequence[tuple[int, int]]], Iterator[ExtentData]]


@dataclass(frozen=True)
class HrlPlan:
    """Everything one disk's HRL of one cycle is about."""

    disk: DiskRef
    machine_id: str
    sequence: int
    prev_digest: bytes
    from_cut: str
    to_cut: str
    consistency: str
    created_at: float
    key: bytes | None = None
    key_id: str = ""
    compress: bool = True


@dataclass(frozen=True)
class WrittenHrl:
    """An HRL safely in the cache, and the source's digest at its cut."""

    plan: HrlPlan
    path: Path
    summary: HrlSummary
    source_digest: str
    staged_table: Path


def batches(extents: Sequence[tuple[int, int]], limit: int) -> Iterator[list[tuple[int, int]]]:
    """Group extents into read calls of at most ``limit`` bytes (an extent is never split)."""
    batch: list[tuple[int, int]] = []
    size = 0
    for extent in extents:
        if batch and size + extent[1] > limit:
            yield batch
            batch, size = [], 0
        batch.append(extent)
        size += extent[1]
    if batch:
        yield batch


def write_hrl(
    plan: HrlPlan,
    extents: Sequence[tuple[int, int]],
    read: ExtentSource,
    cache: HrlCache,
    table: BlockDigestTable,
) -> WrittenHrl:
    """Read ``extents`` through ``read`` and write the plan's HRL into the cache.

    Extents are rounded out to whole digest blocks first, so every block the
    HRL touches is rehashed from the bytes shipped.
    """
    aligned = align_extents(extents, table.block_size, table.capacity)
    staged = _stage_table(table, plan.sequence)
    header = _header(plan, table.block_size)
    path = cache.reserve(plan.disk, plan.sequence)
    try:
        with HrlWriter(path, header, key=plan.key, compress=plan.compress) as writer:
            for batch in batches(aligned, READ_BATCH_BYTES):
                _copy_batch(read(batch), batch, writer, staged)
            summary = writer.close()
    except BaseException:
        staged.path.unlink(missing_ok=True)
        raise
    return WrittenHrl(plan, path, summary, staged.root(), staged.path)


def _copy_batch(
    data: Iterator[ExtentData],
    batch: list[tuple[int, int]],
    writer: HrlWriter,
    staged: BlockDigestTable,
) -> None:
    expected = iter(batch)
    for extent in data:
        offset, length = next(expected, (None, None))
        if (extent.offset, len(extent.data)) != (offset, length):
            raise ReplicationError(
                f"the source returned extent ({extent.offset}, {len(extent.data)}) where "
                f"({offset}, {length}) was asked; the cycle is abandoned and retried"
            )
        writer.add(extent.offset, extent.data)
        staged.update(extent.offset, extent.data)
    if next(expected, None) is not None:
        raise ReplicationError("the source returned fewer extents than asked; cycle abandoned")


def _stage_table(table: BlockDigestTable, sequence: int) -> BlockDigestTable:
    staged = table.path.with_name(f"{table.path.name}.{sequence}.staged")
    shutil.copyfile(table.path, staged)
    return BlockDigestTable(staged, table.capacity, table.block_size)


def commit_table(written: WrittenHrl, table: BlockDigestTable) -> None:
    """Make the staged table current once the HRL's cycle is recorded."""
    written.staged_table.replace(table.path)


def abandon(written: WrittenHrl, cache: HrlCache) -> None:
    """Forget an HRL whose cycle could not be recorded: drop it and its staged table."""
    cache.discard(written.plan.disk, written.plan.sequence)
    written.staged_table.unlink(missing_ok=True)


def _header(plan: HrlPlan, block_size: int) -> HrlHeader:
    return HrlHeader(
        item_id=plan.disk.item_id,
        machine_id=plan.machine_id,
        disk_id=plan.disk.disk_id,
        sequence=plan.sequence,
        from_cut=plan.from_cut,
        to_cut=plan.to_cut,
        block_size=block_size,
        consistency=plan.consistency,
        created_at=plan.created_at,
        prev_digest=plan.prev_digest,
        key_id=plan.key_id,
    )
