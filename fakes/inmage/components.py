"""Process servers (primary site) and master targets (secondary site) of a Scout deployment.

A :class:`ProcessServer` takes host batches from the agents, keeps them
compressed (zstd) in its cache, and forwards them in order to the master
target of their pair. A batch leaves the cache only once the master target
has applied it, so a process server that goes away (``ps.go_away()``, or
``ps.faults.fail_after`` batches into a transfer) or a master target out of
retention space loses nothing: the batch is forwarded again later.

A :class:`MasterTarget` holds, per protected host, the replica disks at the
latest applied batch and a retention journal: for every applied batch the
bytes it overwrote (undo data) and the tags it carried. Any retained point
is the latest content with the undo data of later batches put back. Undo
data older than the pair's retention window is dropped; undo data that
would not fit in the master target's retention space is refused, and the
pair waits in state *out of retention space* until space returns.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import zstandard

from fakes.disk import VirtualDisk
from fakes.inmage.agent import HostBatch, Tag


class ComponentDown(Exception):
    """A process server that is not there."""


class OutOfRetentionSpace(Exception):
    """The master target cannot keep the undo data of a batch."""


@dataclass
class ProcessServerFaults:
    """``fail_after``: forward this many more batches, then go away mid-transfer (-1: never)."""

    fail_after: int = -1


@dataclass
class _Cached:
    batch: HostBatch
    packed: tuple[tuple[str, tuple[tuple[int, bytes], ...]], ...]
    size: int


class ProcessServer:
    """Caches, compresses and forwards the agents' batches."""

    def __init__(self, host_id: str, name: str, site: str = "primary") -> None:
        self.host_id, self.name, self.site = host_id, name, site
        self.online = True
        self.faults = ProcessServerFaults()
        self.forwarded = 0
        #: Bytes of every batch taken from the agents (before compression).
        self.received_bytes = 0
        self._cache: dict[str, list[_Cached]] = {}
        self._lock = threading.RLock()

    def go_away(self) -> None:
        """Fault switch: the process server stops answering."""
        self.online = False

    def come_back(self) -> None:
        self.online = True

    def cached_bytes(self, host_id: str | None = None) -> int:
        """Compressed bytes waiting in the cache (of one host, or all)."""
        with self._lock:
            hosts = [host_id] if host_id else list(self._cache)
            return sum(item.size for h in hosts for item in self._cache.get(h, []))

    def receive(self, batches: list[HostBatch]) -> None:
        """Take batches from an agent into the cache; ComponentDown when offline."""
        if not self.online:
            raise ComponentDown(f"process server {self.name} is not responding")
        with self._lock:
            for batch in batches:
                self._cache.setdefault(batch.host_id, []).append(_pack(batch))
                self.received_bytes += batch.size

    def forward(self, host_id: str, apply: Callable[[HostBatch], None]) -> None:
        """Forward one host's cached batches in order; stop at the first refusal."""
        with self._lock:
            queue = self._cache.setdefault(host_id, [])
            while queue:
                self._check_fault()
                apply(_unpack(queue[0]))
                queue.pop(0)
                self.forwarded += 1

    def drop(self, host_id: str) -> None:
        """Forget a host's cache (protection stopped, or a resync supersedes it)."""
        with self._lock:
            self._cache.pop(host_id, None)

    def _check_fault(self) -> None:
        if not self.online:
            raise ComponentDown(f"process server {self.name} is not responding")
        if self.faults.fail_after == 0:
            self.faults.fail_after = -1
            self.online = False
            raise ComponentDown(f"process server {self.name} went away during a transfer")
        if self.faults.fail_after > 0:
            self.faults.fail_after -= 1


def _pack(batch: HostBatch) -> _Cached:
    compressor = zstandard.ZstdCompressor(level=1)
    packed = tuple(
        (change.disk_id, tuple((off, compressor.compress(data)) for off, data in change.extents))
        for change in batch.disks
    )
    size = sum(len(data) for _, extents in packed for _, data in extents)
    return _Cached(batch, packed, size)


def _unpack(item: _Cached) -> HostBatch:
    decompressor = zstandard.ZstdDecompressor()
    for (disk_id, extents), change in zip(item.packed, item.batch.disks, strict=True):
        restored = tuple((off, decompressor.decompress(data)) for off, data in extents)
        if disk_id != change.disk_id or restored != change.extents:
            raise ComponentDown(f"cache of batch {item.batch.sequence} is corrupt")
    return item.batch


@dataclass(frozen=True)
class JournalEntry:
    """One applied batch: when, its tags, and the bytes it overwrote (per disk)."""

    sequence: int
    taken_at: float
    tags: tuple[Tag, ...]
    undo: tuple[tuple[str, tuple[tuple[int, bytes], ...]], ...]
    full: bool

    @property
    def size(self) -> int:
        return sum(len(data) for _, extents in self.undo for _, data in extents)


@dataclass
class ReplicaSet:
    """A protected host's replica disks on a master target, and its retention journal."""

    host_id: str
    disks: dict[str, VirtualDisk]
    window_seconds: float
    journal: list[JournalEntry] = field(default_factory=list)
    synced: bool = False

    @property
    def retained_bytes(self) -> int:
        return sum(entry.size for entry in self.journal)

    def materialise(self, sequence: int) -> dict[str, VirtualDisk]:
        """New disks holding the replica as it was right after batch ``sequence``."""
        copies = {disk_id: _copy(disk, disk_id) for disk_id, disk in self.disks.items()}
        for entry in reversed(self.journal):
            if entry.sequence <= sequence:
                break
            for disk_id, extents in entry.undo:
                for offset, data in extents:
                    copies[disk_id].write(offset, data)
        return copies


def _copy(disk: VirtualDisk, disk_id: str) -> VirtualDisk:
    copy = VirtualDisk.in_memory(
        disk.capacity, block_size=disk.block_size, name=disk.name, disk_id=disk_id
    )
    for offset, length in disk.allocated_extents():
        copy.write(offset, disk.read(offset, length))
    return copy


class MasterTarget:
    """Holds replicated data with a retention window, within a retention space limit."""

    def __init__(
        self, host_id: str, name: str, site: str = "secondary", retention_space: int = 1 << 30
    ) -> None:
        self.host_id, self.name, self.site = host_id, name, site
        self.retention_space = retention_space
        self.replicas: dict[str, ReplicaSet] = {}
        self._lock = threading.RLock()

    @property
    def retention_used(self) -> int:
        with self._lock:
            return sum(replica.retained_bytes for replica in self.replicas.values())

    def attach(
        self,
        host_id: str,
        disks: dict[str, int],
        window_seconds: float,
        seed: dict[str, VirtualDisk] | None = None,
    ) -> ReplicaSet:
        """Create replica disks (id -> capacity) for a newly protected host.

        They are zero-filled, or copies of ``seed``'s disks (failback reuses
        the disks the other site already holds).
        """
        seed = seed or {}
        with self._lock:
            made = {
                disk_id: _copy(seed[disk_id], disk_id)
                if disk_id in seed
                else VirtualDisk.in_memory(size, name=f"{self.name}/{host_id}/{disk_id}")
                for disk_id, size in disks.items()
            }
            replica = ReplicaSet(host_id, made, window_seconds)
            self.replicas[host_id] = replica
            return replica

    def detach(self, host_id: str) -> None:
        with self._lock:
            replica = self.replicas.pop(host_id, None)
        if replica is not None:
            for disk in replica.disks.values():
                disk.close()

    def apply(self, batch: HostBatch, now: float) -> None:
        """Apply one batch, keeping its undo data; OutOfRetentionSpace leaves all untouched."""
        with self._lock:
            replica = self.replicas[batch.host_id]
            self._prune(replica, now)
            undo = _undo(replica, batch)
            entry = JournalEntry(batch.sequence, batch.taken_at, batch.tags, undo, batch.full)
            if self.retention_used + entry.size > self.retention_space:
                raise OutOfRetentionSpace(
                    f"master target {self.name}: {entry.size} bytes of retention needed, "
                    f"{self.retention_space - self.retention_used} free"
                )
            for change in batch.disks:
                for offset, data in change.extents:
                    replica.disks[change.disk_id].write(offset, data)
            replica.journal.append(entry)
            replica.synced = replica.synced or batch.full

    def _prune(self, replica: ReplicaSet, now: float) -> None:
        # Keep the newest entry even when old: it holds the latest tags.
        horizon = now - replica.window_seconds
        while len(replica.journal) > 1 and replica.journal[0].taken_at < horizon:
            replica.journal.pop(0)


def _undo(
    replica: ReplicaSet, batch: HostBatch
) -> tuple[tuple[str, tuple[tuple[int, bytes], ...]], ...]:
    # Before the first full copy there is no point to go back to: keep no undo data.
    if not replica.synced:
        return ()
    return tuple(
        (c.disk_id, tuple((o, replica.disks[c.disk_id].read(o, len(d))) for o, d in c.extents))
        for c in batch.disks
    )
