"""Unified agents: the InMage component on every source machine (VMware VM or physical server).

An agent captures the writes of its machine's disks (the disks are
:class:`fakes.disk.VirtualDisk`\\ s, shared with the fake vCenter's VMDKs or a
physical server) as *host batches*: one consistent cut across every disk of
the machine, with the bytes changed since the previous cut and the
consistency tags issued at that cut. Batches wait in the agent until its
process server takes them, so a process server that goes away loses
nothing. When the process server refuses them and more than
``buffer_limit`` bytes wait, the agent drops the bytes and keeps only which
blocks changed (bitmap mode, like the real agent's): the next batch
re-reads them, so nothing is lost, but write order is, and tags issued
meanwhile are only *approximate*.

A *seeded* start (failback protection, and forward protection resumed after
failback) gives the agent the disks the master target already holds: its
first full copy then carries only the blocks that differ from them, the way
Scout's resync compares checksums before sending.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from fakes.disk import VirtualDisk

AGENT_VERSION = "9.55.0.0"

APPLICATION, SYSTEM = "Application", "System"
EXACT, APPROXIMATE, NOT_GUARANTEED = "Exact", "Approximate", "Not guaranteed"


class _Readable(Protocol):
    capacity: int
    block_size: int

    def read(self, offset: int, length: int) -> bytes: ...


@dataclass(frozen=True)
class Tag:
    """A consistency tag as the source issued it."""

    name: str
    level: str
    issued_at: float
    accuracy: str = EXACT


@dataclass(frozen=True)
class DiskChange:
    """Bytes of one disk changed since the previous cut (or all of it, for a resync)."""

    disk_id: str
    extents: tuple[tuple[int, bytes], ...]

    @property
    def size(self) -> int:
        return sum(len(data) for _, data in self.extents)


@dataclass(frozen=True)
class HostBatch:
    """One cut across every disk of a source machine, in capture order."""

    host_id: str
    sequence: int
    taken_at: float
    disks: tuple[DiskChange, ...]
    tags: tuple[Tag, ...] = ()
    full: bool = False

    @property
    def size(self) -> int:
        return sum(disk.size for disk in self.disks)


@dataclass
class SourceHost:
    """A machine with the unified agent: identity, hardware, disks, NICs."""

    host_id: str
    name: str
    kind: str  # "VMware" or "Physical"
    disks: list[VirtualDisk]
    nics: list[tuple[str, str, str, str]]  # (nic id, mac, ip, network)
    os_type: str = "Windows"
    cpu_count: int = 2
    memory_mib: int = 4096
    vm_id: str = ""
    vcenter: str = ""
    datacenter: str = ""
    site: str = "primary"
    failback_of: str = ""
    test_of: str = ""
    powered_on: bool = True
    agent: UnifiedAgent = field(init=False)

    def __post_init__(self) -> None:
        self.agent = UnifiedAgent(self)


class UnifiedAgent:
    """Captures writes on a host's disks into batches; keeps them until they are taken."""

    def __init__(self, host: SourceHost, buffer_limit: int = 64 << 20) -> None:
        self.host = host
        self.buffer_limit = buffer_limit
        self.tracking = False
        self.bitmap_mode = False
        self._pending: list[HostBatch] = []
        self._dirty: dict[str, set[tuple[int, int]]] = {}
        self._held_tags: list[Tag] = []
        self._needs_full = False
        self._seed: Mapping[str, VirtualDisk] = {}
        self._cuts = itertools.count(1)
        self._sequence = 0
        self._lock = threading.RLock()

    @property
    def pending_bytes(self) -> int:
        with self._lock:
            return sum(batch.size for batch in self._pending)

    def start(self, seed: Mapping[str, VirtualDisk] | None = None) -> None:
        """Start tracking writes; the first batch is a full copy (resync step I).

        ``seed`` (disk id -> disk) is what the replica side already holds: the
        full copy then sends only the blocks that differ from it.
        """
        with self._lock:
            for disk in self.host.disks:
                disk.enable_tracking()
            self.tracking, self._needs_full = True, True
            self._seed = dict(seed or {})

    def stop(self) -> None:
        """Stop tracking and forget everything that waits."""
        with self._lock:
            for disk in self.host.disks:
                disk.disable_tracking()
            self.tracking, self.bitmap_mode = False, False
            self._pending.clear()
            self._dirty.clear()
            self._held_tags.clear()

    def restart_resync(self) -> None:
        """The next batch is a full copy again; what waits is superseded by it."""
        with self._lock:
            self._pending.clear()
            self._dirty.clear()
            self._seed = {}
            self._needs_full, self.bitmap_mode = True, False

    def capture(self, now: float, tags: Sequence[Tag] = ()) -> HostBatch | None:
        """Cut every disk now; the batch waits for the process server. None when idle."""
        with self._lock:
            if not self.tracking:
                return None
            batch = self._cut(now, tuple(tags))
            if batch is not None:
                self._pending.append(batch)
            return batch

    def take(self) -> list[HostBatch]:
        """Hand every waiting batch to the process server (in capture order)."""
        with self._lock:
            if self.bitmap_mode:
                return []
            taken, self._pending = self._pending, []
            return taken

    def give_back(self, batches: Sequence[HostBatch]) -> None:
        """The process server could not take these: they wait again, first in line."""
        with self._lock:
            self._pending[:0] = batches
            self._spill_if_over()

    def _cut(self, now: float, tags: tuple[Tag, ...]) -> HostBatch | None:
        full, self._needs_full = self._needs_full, False
        changes = tuple(self._disk_change(disk, full) for disk in self.host.disks)
        if full:
            self._seed = {}
        carried = tuple(
            replace(t, accuracy=_worse(t.accuracy, APPROXIMATE)) for t in self._held_tags
        )
        if self.bitmap_mode:
            self._held_tags.clear()
            self._dirty.clear()
            self.bitmap_mode = False
            tags = tuple(_approximate(t) for t in tags)
        tags = carried + tags
        if not full and not tags and not any(change.extents for change in changes):
            return None
        self._sequence += 1
        return HostBatch(self.host.host_id, self._sequence, now, changes, tags, full)

    def _disk_change(self, disk: VirtualDisk, full: bool) -> DiskChange:
        with disk.snapshot(f"{self.host.host_id}-cut-{next(self._cuts)}") as snap:
            seed = self._seed.get(disk.disk_id)
            if full and seed is not None:
                extents = set(_differing(snap, seed))
            elif full:
                extents = set(snap.allocated_extents())
            else:
                extents = set(snap.changed_extents()) if snap.incremental else set()
                if not snap.incremental:
                    extents = set(snap.allocated_extents())
            extents |= self._dirty.get(disk.disk_id, set())
            data = tuple((offset, snap.read(offset, length)) for offset, length in sorted(extents))
        return DiskChange(disk.disk_id, data)

    def _spill_if_over(self) -> None:
        # Over the buffer: keep which blocks changed, drop the bytes (bitmap mode).
        if sum(batch.size for batch in self._pending) <= self.buffer_limit:
            return
        for batch in self._pending:
            self._needs_full = self._needs_full or batch.full
            self._held_tags.extend(batch.tags)
            for change in batch.disks:
                dirty = self._dirty.setdefault(change.disk_id, set())
                dirty.update((offset, len(data)) for offset, data in change.extents)
        self._pending.clear()
        self.bitmap_mode = True


def _differing(snap: _Readable, seed: _Readable) -> list[tuple[int, int]]:
    """The blocks (offset, length) whose bytes differ between a cut and a seed disk."""
    size = snap.block_size
    blocks = [
        (offset, min(size, snap.capacity - offset)) for offset in range(0, snap.capacity, size)
    ]
    return [(o, n) for o, n in blocks if snap.read(o, n) != seed.read(o, n)]


def _worse(current: str, floor: str) -> str:
    order = (EXACT, APPROXIMATE, NOT_GUARANTEED)
    return order[max(order.index(current), order.index(floor))]


def _approximate(tag: Tag) -> Tag:
    # Bytes re-read after bitmap mode are newer than the tag: write order is lost.
    return replace(tag, accuracy=_worse(tag.accuracy, APPROXIMATE))
