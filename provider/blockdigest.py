"""Block digest tables: how srp proves a replica equals its source.

The *disk digest* is the SHA-256 of the concatenated SHA-256 digests of
every ``block_size`` block of the disk (a one-level hash tree). Both sides
compute it the same way, so a replica proves it equals the source at a cut.
Its point is cost: the pipeline keeps the table of the source's block
digests up to date from the bytes it ships anyway, so recording the source's
digest at every cut costs O(changed blocks), not a read of the whole disk.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

DIGEST_BLOCK_SIZE = 4 * 1024
#: Bytes of one block digest (SHA-256) in a table.
DIGEST_SIZE = 32
_DIGEST_BYTES = DIGEST_SIZE
#: Most bytes read (and held) at once when rehashing blocks.
_REHASH_CHUNK = 4 * 1024 * 1024

#: Reads ``length`` bytes at ``offset`` of whatever a table describes.
BlockReader = Callable[[int, int], bytes]


@functools.lru_cache(maxsize=8)
def zero_block_digest(block_size: int) -> bytes:
    """Digest of a block of zeros (what a never-written block holds); cached."""
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


def data_extents(fd: int, size: int) -> list[tuple[int, int]]:
    """The (offset, length) runs of a sparse file that hold data, clipped to ``size``.

    Holes read as zeros, so hashing a sparse image needs to read only these.
    Where the file system cannot tell (no ``SEEK_DATA``), the whole file is data.
    """
    runs: list[tuple[int, int]] = []
    position = 0
    try:
        while position < size:
            start = os.lseek(fd, position, os.SEEK_DATA)
            if start >= size:
                break
            end = min(size, os.lseek(fd, start, os.SEEK_HOLE))
            runs.append((start, end - start))
            position = end
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # no data after ``position``
            return runs
        if exc.errno in (errno.EINVAL, errno.EOPNOTSUPP):
            return [(0, size)] if size else []
        raise
    return runs


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
        full = self.capacity // self.block_size
        zeros = zero_block_digest(self.block_size)
        with temporary.open("wb") as handle:
            for first in range(0, full, 4096):
                handle.write(zeros * min(4096, full - first))
            if full < self.blocks:  # a short last block
                handle.write(zero_block_digest(self._block_length(full)))
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(self.path)

    def reset(self) -> None:
        """Make every entry the digest of a zero block again (an empty disk)."""
        self._create()

    def _block_length(self, index: int) -> int:
        return min(self.block_size, self.capacity - index * self.block_size)

    def update(self, offset: int, data: bytes | memoryview) -> None:
        """Rehash the whole blocks in ``data``, which starts at a block boundary."""
        view = memoryview(data)
        with self.path.open("r+b") as handle:
            handle.seek(offset // self.block_size * _DIGEST_BYTES)
            for start in range(0, len(view), self.block_size):
                handle.write(hashlib.sha256(view[start : start + self.block_size]).digest())

    def rehash(self, extents: Iterable[tuple[int, int]], read: BlockReader) -> None:
        """Rehash every block touching ``extents`` from ``read``, then fsync the table.

        Reads go in bounded chunks of whole blocks, so memory stays flat
        whatever the extents' sizes.
        """
        with self.path.open("r+b") as handle:
            for offset, length in align_extents(extents, self.block_size, self.capacity):
                for start in range(offset, offset + length, _REHASH_CHUNK):
                    size = min(_REHASH_CHUNK, offset + length - start)
                    handle.seek(start // self.block_size * _DIGEST_BYTES)
                    handle.write(self._digests_of(read(start, size)))
            handle.flush()
            os.fsync(handle.fileno())

    def _digests_of(self, data: bytes) -> bytes:
        view = memoryview(data)
        return b"".join(
            hashlib.sha256(view[at : at + self.block_size]).digest()
            for at in range(0, len(view), self.block_size)
        )

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
        """The disk digest (hex) as the table stands.

        The file *is* the concatenated block digests, so it is hashed in large
        chunks: the same value as :func:`disk_digest` over :meth:`digests`.
        """
        root = hashlib.sha256()
        with self.path.open("rb") as handle:
            while chunk := handle.read(_DIGEST_BYTES * 32768):
                root.update(chunk)
        return root.hexdigest()

    def snapshot_to(self, path: Path) -> None:
        """Copy the table (e.g. to keep it with a cycle not yet applied)."""
        path.write_bytes(self.path.read_bytes())
