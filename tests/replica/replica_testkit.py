"""Shared builders for the replica and target tests (import as tests.replica.replica_testkit).

A :class:`SourceDisk` is an in-memory "source": random extents are written
into a bytearray and its content is snapshotted at every cut, so the tests
can compare the target's replica, byte for byte, with what the source had.
An :class:`HrlChain` turns each cut's extents into the next HRL of the chain.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from pathlib import Path

from provider.blockdigest import digest_of_bytes
from provider.contracts.transfer import DiskRef
from provider.hrl import ZERO_DIGEST, HrlHeader, HrlSummary, HrlWriter

ITEM = "item-1"
MACHINE = "vm-1"
DISK = "disk-0"
#: Not a multiple of 4 KiB nor of 1 MiB, so partial last blocks are exercised.
CAPACITY = 300_000
KEY = bytes(range(32))


def sha(data: bytes | bytearray) -> str:
    """The disk digest of a whole-disk image, as the store computes it."""
    return digest_of_bytes(bytes(data))


def disk_ref(capacity: int = CAPACITY, disk_id: str = DISK, item_id: str = ITEM) -> DiskRef:
    return DiskRef(item_id=item_id, disk_id=disk_id, capacity=capacity)


class SourceDisk:
    """A source disk in memory, with its content after every HRL (cut)."""

    def __init__(self, capacity: int = CAPACITY, seed: int = 7) -> None:
        self.data = bytearray(capacity)
        self.rng = random.Random(seed)
        self.cuts: list[bytes] = [bytes(capacity)]  # cuts[n]: content after HRL n

    def write(self, offset: int, data: bytes) -> tuple[int, bytes]:
        self.data[offset : offset + len(data)] = data
        return offset, data

    def random_extents(self, count: int, max_length: int = 9000) -> list[tuple[int, bytes]]:
        """``count`` random writes (they may overlap each other and earlier ones)."""
        extents = []
        for _ in range(count):
            length = self.rng.randint(1, max_length)
            offset = self.rng.randrange(0, len(self.data) - length + 1)
            extents.append(self.write(offset, self.rng.randbytes(length)))
        return extents

    def cut(self) -> None:
        self.cuts.append(bytes(self.data))


@dataclass
class HrlChain:
    """Writes consecutive HRLs of one disk, each naming its predecessor's digest."""

    directory: Path
    item_id: str = ITEM
    machine_id: str = MACHINE
    disk_id: str = DISK
    key: bytes | None = None
    sequence: int = 0
    last_digest: bytes = ZERO_DIGEST
    paths: dict[int, Path] = field(default_factory=dict)

    def header(
        self,
        sequence: int,
        prev_digest: bytes,
        *,
        machine_id: str | None = None,
        disk_id: str | None = None,
    ) -> HrlHeader:
        return HrlHeader(
            item_id=self.item_id,
            machine_id=machine_id or self.machine_id,
            disk_id=disk_id or self.disk_id,
            sequence=sequence,
            from_cut=f"cut-{sequence - 1}" if sequence > 1 else "",
            to_cut=f"cut-{sequence}",
            block_size=4096,
            consistency="crash",
            created_at=1_700_000_000.0 + sequence,
            prev_digest=prev_digest,
            key_id="key-1" if self.key else "",
        )

    def write(
        self, name: str, header: HrlHeader, extents: list[tuple[int, bytes]]
    ) -> tuple[Path, HrlSummary]:
        path = self.directory / name
        with HrlWriter(path, header, key=self.key, frame_size=64 * 1024) as writer:
            for offset, data in extents:
                writer.add(offset, data)
        return path, writer.close()

    def next(self, extents: list[tuple[int, bytes]]) -> Path:
        """The next HRL of the chain."""
        sequence = self.sequence + 1
        header = self.header(sequence, self.last_digest)
        path, summary = self.write(f"hrl-{sequence}.hrl", header, extents)
        self.sequence, self.last_digest = sequence, summary.digest
        self.paths[sequence] = path
        return path


def build_history(
    source: SourceDisk, chain: HrlChain, cycles: int, extents_per_cycle: int = 6
) -> list[Path]:
    """``cycles`` HRLs of random writes; ``source.cuts[n]`` is the disk after HRL n."""
    paths = []
    for _ in range(cycles):
        paths.append(chain.next(source.random_extents(extents_per_cycle)))
        source.cut()
    return paths


def image_bytes(path: Path) -> bytes:
    return path.read_bytes()


def tree_snapshot(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (except the lock file) with its content."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != "lock"
    }
