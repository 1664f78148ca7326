"""A view's private writes: a sparse file of the disk's size plus a block set.

A test failover boots on a view and writes to it; those writes must never
reach the replica image, which replication keeps updating. Only the blocks
written are allocated, so a view costs what its machine writes, never a
copy of the disk. The block set lives in memory: an overlay is scratch data
for a drill and is discarded with its view.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from provider.replica.durable import pread_exact, pwrite_all

BLOCK = 4096

#: Reads the view's bytes beneath the overlay: (offset, length) -> bytes.
BaseReader = Callable[[int, int], bytes | bytearray]


class Overlay:
    """Copy-on-write blocks over a read-only base of ``capacity`` bytes."""

    def __init__(self, directory: Path, capacity: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.path = directory / "overlay.img"
        self.capacity = capacity
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644)
        os.ftruncate(self._fd, capacity)
        self._written: set[int] = set()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    @property
    def blocks_written(self) -> int:
        return len(self._written)

    def apply_to(self, offset: int, buffer: bytearray) -> None:
        """Replace the parts of ``buffer`` (bytes from ``offset``) that were written."""
        if not self._written:
            return
        end = offset + len(buffer)
        for block in range(offset // BLOCK, -(-end // BLOCK)):
            if block in self._written:
                low, high = max(offset, block * BLOCK), min(end, (block + 1) * BLOCK)
                data = pread_exact(self._fd, high - low, low, str(self.path))
                buffer[low - offset : high - offset] = data

    def write(self, offset: int, data: bytes, base: BaseReader) -> None:
        """Write ``data`` at ``offset``, filling partial blocks from ``base`` first."""
        end = offset + len(data)
        for block in range(offset // BLOCK, -(-end // BLOCK)):
            start, stop = block * BLOCK, min((block + 1) * BLOCK, self.capacity)
            content = self._block_content(block, start, stop, offset, end, base)
            low, high = max(offset, start), min(end, stop)
            content[low - start : high - start] = data[low - offset : high - offset]
            pwrite_all(self._fd, content, start)
            self._written.add(block)

    def _block_content(
        self, block: int, start: int, stop: int, offset: int, end: int, base: BaseReader
    ) -> bytearray:
        if offset <= start and stop <= end:
            return bytearray(stop - start)  # wholly overwritten: no need to read it
        if block in self._written:
            return bytearray(pread_exact(self._fd, stop - start, start, str(self.path)))
        return bytearray(base(start, stop - start))


def remove_overlay_dir(directory: Path) -> None:
    """Remove a view's directory (its overlay file) if present."""
    with_overlay = directory / "overlay.img"
    if with_overlay.exists():
        os.unlink(with_overlay)
    if directory.exists():
        os.rmdir(directory)
