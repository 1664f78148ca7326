"""Resynchronization: compare block digests, ship only what differs.

Used when change tracking was lost or overflowed, after an unclean stop, or
when an HRL was lost or refused: the source's digests at a fresh cut are
compared with the replica's, and the differing blocks travel as an ordinary
HRL in the disk's chain, so the replica is exact again after one cycle.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import zip_longest

from provider.contracts.replica import BlockDigest
from provider.errors import ReplicationError


@dataclass(frozen=True)
class ResyncDiff:
    """The blocks that differ, merged into extents, and every source digest seen."""

    extents: tuple[tuple[int, int], ...]
    blocks_compared: int
    blocks_differing: int


def differing_extents(
    source: Iterable[BlockDigest],
    replica: Iterable[BlockDigest],
    block_size: int,
    capacity: int,
) -> ResyncDiff:
    """Extents (merged runs of whole blocks) where source and replica differ."""
    extents: list[tuple[int, int]] = []
    compared = differing = 0
    for ours, theirs in _pairs(source, replica):
        compared += 1
        if ours.digest == theirs.digest:
            continue
        differing += 1
        length = min(block_size, capacity - ours.offset)
        if extents and extents[-1][0] + extents[-1][1] == ours.offset:
            extents[-1] = (extents[-1][0], extents[-1][1] + length)
        else:
            extents.append((ours.offset, length))
    return ResyncDiff(tuple(extents), compared, differing)


def _pairs(
    source: Iterable[BlockDigest], replica: Iterable[BlockDigest]
) -> Iterator[tuple[BlockDigest, BlockDigest]]:
    for ours, theirs in zip_longest(source, replica):
        if ours is None or theirs is None or ours.offset != theirs.offset:
            raise ReplicationError(
                "resynchronization: source and replica block lists do not line up "
                f"(source {_where(ours)}, replica {_where(theirs)}); the disks differ in size",
                hint="check that the replica was created for this disk; re-enable protection",
            )
        yield ours, theirs


def _where(digest: BlockDigest | None) -> str:
    return "ended" if digest is None else f"at offset {digest.offset}"
