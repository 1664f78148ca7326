"""Block digest tables: how srp proves a replica equals its source.

The *disk digest* is the SHA-256 of the concatenated SHA-256 digests of
every ``block_size`` block of the disk (a one-level hash tree). Both sides
compute it the same way, so a replica proves it equals the source at a cut.
Its point is cost: the pipeline keeps the table of the source's block
digests up to date from the bytes it ships anyway, so recording the source's
digest at every cut costs O(changed blocks), not a read of the whole disk.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

DIGEST_BLOCK_SIZE = 64 * 1024
_DIGEST_BYTES = 32


def zero_block_digest(block_size: int) -> bytes:
    """Digest of a block of zeros (what a never-written block holds)."""
    return hashlib.sha256(bytes(block_size)).digest()


def block_count(capacity: int, block_size: int) -> int:
    """Number of blocks covering ``capacity`` bytes; the last may be short."""
    return -(-capacity // block_size)


def disk_digest(block_digests: Iterable[bytes]) -> str:
    """The disk digest (hex) from its block digests in offset order."""
    root = hashlib.sha256()
    for digest in block_digests:
        root.update(digest)
    return root.hexdigest()


def digest_of_bytes(content: bytes, block_size: int = DIGEST_BLOCK_SIZE) -> str:
    """The disk digest of an in-memory disk image (for tests and small disks)."""
    blocks = (
        hashlib.sha256(content[start : start + block_size]).digest()
        for start in range(0, len(content), block_size)
    )
    return disk_digest(blocks)


def align_extents(
    extents: Iterable[tuple[int, int]], block_size: int, capacity: int
) -> list[tuple[int, int]]:
    """Round extents out to whole blocks and merge them, clipped to the disk.

    The pipeline reads whole blocks so it can rehash each block it touches.
    """
    merged: list[tuple[int, int]] = []
    for offset, length in sorted(extents):
        start = offset - offset % block_size
        end = min(capacity, -(-(offset + length) // block_size) * block_size)
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return [(start, end - start) for start, end in merged]


class BlockDigestTable:
    """A file of one 32-byte digest per block, updated in place.

    Memory stays flat whatever the disk size: the table lives in a file (4 MiB
    for an 8 GiB disk at 64 KiB blocks) and only touched entries are written.
    """

    def __init__(self, path: Path, capacity: int, block_size: int = DIGEST_BLOCK_SIZE) -> None:
        self.path, self.capacity, self.block_size = path, capacity, block_size
        self.blocks = block_count(capacity, block_size)
        if not path.exists():
            self._create()

    def _create(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("wb") as handle:
            for index in range(self.blocks):
                handle.write(zero_block_digest(self._block_length(index)))
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)

    def _block_length(self, index: int) -> int:
        return min(self.block_size, self.capacity - index * self.block_size)

    def update(self, offset: int, data: bytes | memoryview) -> None:
        """Rehash the whole blocks in ``data``, which starts at a block boundary."""
        view = memoryview(data)
        with self.path.open("r+b") as handle:
            handle.seek(offset // self.block_size * _DIGEST_BYTES)
            for start in range(0, len(view), self.block_size):
                handle.write(hashlib.sha256(view[start : start + self.block_size]).digest())

    def set_digests(self, pairs: Iterable[tuple[int, bytes]]) -> None:
        """Store known block digests (offset, digest), e.g. from a resync compare."""
        with self.path.open("r+b") as handle:
            for offset, digest in pairs:
                handle.seek(offset // self.block_size * _DIGEST_BYTES)
                handle.write(digest)

    def digests(self) -> Iterator[bytes]:
        """Every block digest in offset order, streamed."""
        with self.path.open("rb") as handle:
            while chunk := handle.read(_DIGEST_BYTES * 4096):
                for start in range(0, len(chunk), _DIGEST_BYTES):
                    yield chunk[start : start + _DIGEST_BYTES]

    def root(self) -> str:
        """The disk digest (hex) as the table stands."""
        return disk_digest(self.digests())

    def snapshot_to(self, path: Path) -> None:
        """Copy the table (e.g. to keep it with a cycle not yet applied)."""
        path.write_bytes(self.path.read_bytes())
