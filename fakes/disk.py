"""Virtual disks with change tracking and copy-on-write consistent cuts.

Every simulated fabric (Hyper-V hosts, vCenter, physical servers, InMage
agents) puts its machines' disks on :class:`VirtualDisk`. A disk has a fixed
capacity made of equal blocks (4 KiB by default; 64 KiB gives a coarser
tracking granularity, like VMware CBT). It lives in memory (small disks) or in
a sparse file (large disks: only written blocks take space).

What a replication source needs, the disk offers the way Hyper-V RCT and
VMware CBT do:

* change tracking, with a tracking id that changes whenever tracking is lost,
  so a consumer holding an old marker learns that it must resynchronize;
* consistent cuts: :meth:`VirtualDisk.snapshot` freezes the content in O(1)
  (later writes copy the old block aside first) and hands over the blocks
  changed since the previous cut;
* the Hyper-V overflow rule: more tracked changes than half the disk means
  the cut is not incremental and the replica must be resynchronized;
* fault switches: silent corruption, lost tracking, failing reads.

Example::

    from fakes.disk import VirtualDisk

    disk = VirtualDisk.in_memory(1 << 20, name="os")
    disk.enable_tracking()
    base = disk.snapshot("cut-0")           # first cut: copy what is allocated
    disk.write(8192, b"hello")
    delta = disk.snapshot("cut-1")
    assert delta.incremental and delta.changed_extents() == [(8192, 4096)]
    disk.write(8192, b"HELLO")              # the cut still sees the old bytes
    assert delta.read(8192, 5) == b"hello"
    base.release()
    delta.release()

Misuse raises a :class:`DiskError` subclass; a failing device (see
:meth:`VirtualDisk.set_read_error`) raises :class:`OSError` with ``EIO``.
Simulated fabrics map both into ``provider.errors`` at their boundary.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Protocol, Self

DEFAULT_BLOCK_SIZE = 4096
SECTOR_SIZE = 512
#: Unit in which digests stream the content, so memory stays bounded.
_CHUNK = 1 << 20
_ZEROS = bytes(_CHUNK)
_NONZERO_BYTES = re.compile(rb"[^\x00]+")
_INVERTED = bytes(255 - value for value in range(256))

Extent = tuple[int, int]
"""A byte range of a disk as ``(offset, length)``."""


class DiskError(Exception):
    """A virtual disk refused an operation (misuse, not a device failure)."""


class DiskRangeError(DiskError, ValueError):
    """An offset or a length falls outside the disk."""


class DiskClosed(DiskError):
    """The disk was closed; its content is gone or no longer reachable."""


class SnapshotReleased(DiskError):
    """The snapshot was released; its frozen content was dropped."""


class DuplicateCut(DiskError):
    """A cut id was used twice on one disk."""


class ChangesUntrusted(DiskError):
    """The cut is not incremental: its changed set must not be used.

    The message says why (tracking lost, overflow, no previous cut, tracking
    disabled). The consumer copies ``allocated_extents()`` or resynchronizes
    by comparing ``block_digests()``.
    """


@functools.lru_cache(maxsize=16)
def zero_digest(length: int) -> bytes:
    """Return the SHA-256 of ``length`` zero bytes (cached: sparse blocks cost nothing)."""
    hasher = hashlib.sha256()
    for chunk in _zero_chunks(length):
        hasher.update(chunk)
    return hasher.digest()


def _zero_chunks(length: int) -> Iterator[memoryview]:
    zeros = memoryview(_ZEROS)
    while length > 0:
        yield zeros[: min(length, _CHUNK)]
        length -= _CHUNK


def _pieces(offset: int, length: int, block_size: int) -> Iterator[tuple[int, int, int, int]]:
    """Split a byte range into ``(block index, start in block, end in block, position)``."""
    position = 0
    while position < length:
        index, start = divmod(offset + position, block_size)
        end = min(block_size, start + length - position)
        yield index, start, end, position
        position += end - start


def _coalesce(runs: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merge sorted half-open ``(start, end)`` runs that touch."""
    merged: list[tuple[int, int]] = []
    for start, end in runs:
        if merged and merged[-1][1] == start:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _runs_in_word(value: int, base: int) -> Iterator[tuple[int, int]]:
    """Yield the runs of set bits of ``value`` as ``(start, end)`` shifted by ``base``."""
    while value:
        low = (value & -value).bit_length() - 1
        shifted = value >> low
        length = (~shifted & (shifted + 1)).bit_length() - 1
        yield base + low, base + low + length
        value = (shifted >> length) << (low + length)


class _Bitmap:
    """One bit per block: 256 KiB for an 8 GiB disk of 4 KiB blocks."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.count = 0
        self._bytes = bytearray((size + 7) // 8)

    def copy(self) -> _Bitmap:
        twin = _Bitmap(self.size)
        twin._bytes[:] = self._bytes
        twin.count = self.count
        return twin

    def test(self, index: int) -> bool:
        return bool(self._bytes[index >> 3] >> (index & 7) & 1)

    def clear(self, index: int) -> None:
        if self.test(index):
            self._bytes[index >> 3] &= ~(1 << (index & 7)) & 0xFF
            self.count -= 1

    def any_in(self, start: int, end: int) -> bool:
        value, mask, _ = self._span(start, end)
        return bool(value & mask)

    def set_range(self, start: int, end: int) -> None:
        if start >= end:
            return
        value, mask, first = self._span(start, end)
        updated = value | mask
        span = ((end - 1) >> 3) - first + 1
        self._bytes[first : first + span] = updated.to_bytes(span, "little")
        self.count += updated.bit_count() - value.bit_count()

    def _span(self, start: int, end: int) -> tuple[int, int, int]:
        """Return the bytes covering ``[start, end)`` as an int, the run's mask, the first byte."""
        first, last = start >> 3, (end - 1) >> 3
        value = int.from_bytes(self._bytes[first : last + 1], "little")
        mask = ((1 << (end - start)) - 1) << (start - first * 8)
        return value, mask, first

    def runs(self) -> list[tuple[int, int]]:
        """Return the coalesced runs of set bits as half-open ``(start, end)`` indices."""
        return _coalesce(self._raw_runs(bytes(self._bytes)))

    @staticmethod
    def _raw_runs(data: bytes) -> Iterator[tuple[int, int]]:
        # The regex skips zero bytes in C; words of 64 bytes keep the int tricks cheap.
        for match in _NONZERO_BYTES.finditer(data):
            segment = match.group()
            for at in range(0, len(segment), 64):
                word = int.from_bytes(segment[at : at + 64], "little")
                yield from _runs_in_word(word, (match.start() + at) * 8)


class _BlockStore(Protocol):
    """Where a disk's bytes live; unwritten areas read as zeros."""

    def read(self, offset: int, length: int) -> bytes: ...

    def write(self, offset: int, data: bytes) -> None: ...

    def close(self) -> None: ...


class _MemoryStore:
    """Written blocks in a dict; never-written blocks take no memory."""

    def __init__(self, block_size: int) -> None:
        self._block_size = block_size
        self._blocks: dict[int, bytearray] = {}

    def read(self, offset: int, length: int) -> bytes:
        out = bytearray(length)
        for index, start, end, position in _pieces(offset, length, self._block_size):
            block = self._blocks.get(index)
            if block is not None:
                out[position : position + end - start] = block[start:end]
        return bytes(out)

    def write(self, offset: int, data: bytes) -> None:
        for index, start, end, position in _pieces(offset, len(data), self._block_size):
            block = self._blocks.get(index)
            if block is None:
                block = self._blocks[index] = bytearray(self._block_size)
            block[start:end] = data[position : position + end - start]

    def close(self) -> None:
        self._blocks.clear()


class _SparseFileStore:
    """A file created with truncate: the filesystem allocates only written blocks."""

    def __init__(self, path: Path, capacity: int) -> None:
        # O_EXCL: never silently adopt (or clobber) a file this disk did not create.
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        os.ftruncate(self._fd, capacity)

    def read(self, offset: int, length: int) -> bytes:
        parts: list[bytes] = []
        done = 0
        while done < length:
            part = os.pread(self._fd, length - done, offset + done)
            if not part:
                raise OSError(errno.EIO, f"sparse file ended at offset {offset + done}")
            parts.append(part)
            done += len(part)
        return b"".join(parts)

    def write(self, offset: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.pwrite(self._fd, view, offset)
            view, offset = view[written:], offset + written

    def close(self) -> None:
        os.close(self._fd)


class _FrozenView:
    """The old content of blocks written since a cut: ``None`` means never written."""

    def __init__(self) -> None:
        self.preserved: dict[int, bytes | None] = {}
        self.released = False


class VirtualDisk:
    """A fixed-size virtual disk with change tracking and copy-on-write cuts.

    Build one with :meth:`in_memory` or :meth:`sparse_file`. All methods are
    thread-safe: a workload thread may write while a replication thread reads
    a snapshot. ``disk_id`` defaults to a random UUID; simulated fabrics pass
    their own ids so that runs are deterministic.
    """

    def __init__(
        self,
        store: _BlockStore,
        capacity: int,
        *,
        block_size: int = DEFAULT_BLOCK_SIZE,
        name: str = "disk",
        disk_id: str | None = None,
        path: Path | None = None,
    ) -> None:
        """Wrap a block store; prefer the :meth:`in_memory` and :meth:`sparse_file` factories."""
        _check_geometry(capacity, block_size)
        self.capacity = capacity
        self.block_size = block_size
        self.block_count = capacity // block_size
        self.name = name
        self.disk_id = disk_id if disk_id is not None else str(uuid.uuid4())
        self.path = path
        self._store = store
        self._lock = threading.Lock()
        self._allocated = _Bitmap(self.block_count)
        self._views: list[_FrozenView] = []
        self._tracking = _TrackingState(self.block_count)
        self._cut_ids: set[str] = set()
        self._read_error = False
        self._closed = False

    @classmethod
    def in_memory(
        cls,
        capacity: int,
        *,
        block_size: int = DEFAULT_BLOCK_SIZE,
        name: str = "disk",
        disk_id: str | None = None,
    ) -> VirtualDisk:
        """Create a zero-filled disk held in memory (only written blocks use memory)."""
        _check_geometry(capacity, block_size)
        store = _MemoryStore(block_size)
        return cls(store, capacity, block_size=block_size, name=name, disk_id=disk_id)

    @classmethod
    def sparse_file(
        cls,
        path: str | os.PathLike[str],
        capacity: int,
        *,
        block_size: int = DEFAULT_BLOCK_SIZE,
        name: str = "disk",
        disk_id: str | None = None,
    ) -> VirtualDisk:
        """Create a zero-filled disk backed by a new sparse file at ``path``.

        The file must not exist yet (:class:`FileExistsError` otherwise). It
        is left in place by :meth:`close`; the caller owns its directory.
        """
        _check_geometry(capacity, block_size)
        file_path = Path(path)
        store = _SparseFileStore(file_path, capacity)
        return cls(
            store, capacity, block_size=block_size, name=name, disk_id=disk_id, path=file_path
        )

    def __repr__(self) -> str:
        return (
            f"VirtualDisk(name={self.name!r}, disk_id={self.disk_id!r}, capacity={self.capacity})"
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release every snapshot and close the backing store; later calls raise DiskClosed."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for view in self._views:
                view.released = True
                view.preserved.clear()
            self._views.clear()
            self._store.close()

    # -- data ------------------------------------------------------------

    def write(self, offset: int, data: bytes | bytearray | memoryview) -> None:
        """Write ``data`` at ``offset`` (any alignment), recording the blocks as changed."""
        payload = bytes(data)
        with self._lock:
            self._check_open()
            self._check_range("write", offset, len(payload))
            self._write_locked(offset, payload, track=True)

    def read(self, offset: int, length: int) -> bytes:
        """Read ``length`` bytes at ``offset``; never-written areas read as zeros."""
        with self._lock:
            self._check_open()
            self._check_range("read", offset, length)
            self._check_readable(offset)
            return self._store.read(offset, length)

    def allocated_extents(self) -> list[Extent]:
        """Return the coalesced byte extents of every block ever written (or corrupted)."""
        with self._lock:
            self._check_open()
            runs = self._allocated.runs()
        return self._to_extents(runs)

    def digest(self) -> bytes:
        """Return the SHA-256 of the whole current content (see :meth:`DiskSnapshot.digest`)."""
        view = self._open_view()
        try:
            return _digest(self.capacity, self._view_allocated(view), self._view_reader(view))
        finally:
            self._close_view(view)

    # -- change tracking ---------------------------------------------------

    @property
    def tracking_enabled(self) -> bool:
        """Whether writes are being recorded as changed blocks."""
        return self._tracking.enabled

    @property
    def tracking_epoch(self) -> int:
        """How many times tracking has (re)started; 0 if it never was enabled."""
        return self._tracking.epoch

    @property
    def tracking_id(self) -> str | None:
        """The current tracking id (like an RCT id or a CBT change id), ``None`` if disabled.

        It changes whenever tracking restarts, so a consumer that stored the
        id of its last cut can tell that the changes since then are unknown.
        """
        return self._tracking.tracking_id(self.disk_id)

    @property
    def changed_bytes(self) -> int:
        """Bytes in blocks changed since the last cut (0 when tracking is disabled)."""
        return self._tracking.changed.count * self.block_size

    def enable_tracking(self) -> None:
        """Start recording changed blocks in a new epoch; no-op if already enabled."""
        with self._lock:
            self._check_open()
            self._tracking.enable()

    def disable_tracking(self) -> None:
        """Stop recording changes and forget the ones recorded."""
        with self._lock:
            self._tracking.disable()

    def lose_tracking(self, reason: str = "change tracking was lost") -> None:
        """Fault switch: drop the recorded changes and restart tracking in a new epoch.

        The next cut reports ``tracking_lost`` and is not incremental. No-op
        when tracking is disabled (there is nothing to lose).
        """
        with self._lock:
            self._tracking.lose(reason)

    def unclean_stop(self) -> None:
        """Fault switch: the host crashed under the disk, so its change log is unusable."""
        self.lose_tracking("the disk was stopped uncleanly; change tracking restarted")

    # -- cuts --------------------------------------------------------------

    def snapshot(self, cut_id: str) -> DiskSnapshot:
        """Freeze the content now (O(1), copy-on-write) and hand over the changed blocks.

        The changed set restarts empty for the next cut. Release the snapshot
        when done, or use it as a context manager: every open snapshot makes
        later writes copy the old blocks aside.
        """
        with self._lock:
            self._check_open()
            if cut_id in self._cut_ids:
                raise DuplicateCut(f"cut {cut_id!r} was already taken on disk {self.name!r}")
            self._cut_ids.add(cut_id)
            handover = self._tracking.cut(cut_id, self)
            view = _FrozenView()
            self._views.append(view)
        return DiskSnapshot(self, view, cut_id, handover)

    @property
    def open_snapshots(self) -> int:
        """How many snapshots (and internal digest views) still hold preserved blocks."""
        with self._lock:
            return len(self._views)

    # -- fault switches ------------------------------------------------------

    def corrupt(self, offset: int, length: int) -> None:
        """Fault switch: flip every bit of a byte range WITHOUT recording it as changed.

        Simulates silent corruption, so only a digest comparison finds it.
        Open snapshots keep their frozen content.
        """
        with self._lock:
            self._check_open()
            self._check_range("corrupt", offset, length)
            flipped = self._store.read(offset, length).translate(_INVERTED)
            self._write_locked(offset, flipped, track=False)

    def set_read_error(self, failing: bool) -> None:
        """Fault switch: while ``failing``, every read of the disk or its snapshots raises EIO."""
        with self._lock:
            self._read_error = failing

    # -- internals -----------------------------------------------------------

    def _write_locked(self, offset: int, data: bytes, *, track: bool) -> None:
        if not data:
            return
        first, end = offset // self.block_size, -(-(offset + len(data)) // self.block_size)
        self._preserve(first, end)
        self._store.write(offset, data)
        self._allocated.set_range(first, end)
        if track:
            self._tracking.record(first, end)

    def _preserve(self, first: int, end: int) -> None:
        """Copy the old content of blocks aside for every view that lacks it."""
        if not self._views:
            return
        for index in range(first, end):
            lacking = [view for view in self._views if index not in view.preserved]
            if not lacking:
                continue
            old = self._read_block(index) if self._allocated.test(index) else None
            for view in lacking:
                view.preserved[index] = old

    def _read_block(self, index: int) -> bytes:
        return self._store.read(index * self.block_size, self.block_size)

    def _check_open(self) -> None:
        if self._closed:
            raise DiskClosed(f"disk {self.name!r} is closed")

    def _check_range(self, operation: str, offset: int, length: int) -> None:
        if offset < 0 or length < 0:
            raise DiskRangeError(
                f"{operation} on disk {self.name!r}: offset {offset} and length {length} "
                "must not be negative"
            )
        if offset + length > self.capacity:
            raise DiskRangeError(
                f"{operation} of {length} bytes at offset {offset} ends at {offset + length}, "
                f"past the end of disk {self.name!r} ({self.capacity} bytes)"
            )

    def _check_readable(self, offset: int) -> None:
        if self._read_error:
            raise OSError(errno.EIO, f"I/O error reading disk {self.name!r} at offset {offset}")

    def _to_extents(self, runs: list[tuple[int, int]]) -> list[Extent]:
        size = self.block_size
        return [(start * size, (end - start) * size) for start, end in runs]

    def _open_view(self) -> _FrozenView:
        with self._lock:
            self._check_open()
            view = _FrozenView()
            self._views.append(view)
            return view

    def _close_view(self, view: _FrozenView) -> None:
        with self._lock:
            if view in self._views:
                self._views.remove(view)
            view.released = True
            view.preserved.clear()

    def _view_read(self, view: _FrozenView, offset: int, length: int) -> bytes:
        with self._lock:
            self._check_view(view)
            self._check_range("read", offset, length)
            self._check_readable(offset)
            data = self._store.read(offset, length)
            if not view.preserved:
                return data
            return self._patch_preserved(view, offset, bytearray(data))

    def _patch_preserved(self, view: _FrozenView, offset: int, data: bytearray) -> bytes:
        for index, start, end, position in _pieces(offset, len(data), self.block_size):
            if index in view.preserved:
                old = view.preserved[index]
                span = end - start
                data[position : position + span] = (
                    old[start:end] if old is not None else bytes(span)
                )
        return bytes(data)

    def _view_reader(self, view: _FrozenView) -> Callable[[int, int], bytes]:
        return functools.partial(self._view_read, view)

    def _view_allocated(self, view: _FrozenView) -> list[Extent]:
        """Blocks allocated at the cut: allocated now, minus those first written since."""
        with self._lock:
            self._check_view(view)
            bitmap = self._allocated.copy()
            fresh = [index for index, old in view.preserved.items() if old is None]
        for index in fresh:
            bitmap.clear(index)
        return self._to_extents(bitmap.runs())

    def _check_view(self, view: _FrozenView) -> None:
        self._check_open()
        if view.released:
            raise SnapshotReleased(f"a snapshot of disk {self.name!r} was released")


@dataclass(frozen=True)
class _Handover:
    """What a cut learns from the tracker: its place in the chain and its changes."""

    previous_cut_id: str | None
    tracking_id: str | None
    changed: _Bitmap | None
    tracking_lost: bool
    reason: str


class _TrackingState:
    """Change tracking of one disk: epoch, changed blocks, the last cut. Caller holds the lock."""

    def __init__(self, block_count: int) -> None:
        self.block_count = block_count
        self.enabled = False
        self.epoch = 0
        self.changed = _Bitmap(block_count)
        self.lost_reason: str | None = None
        self.last_cut: tuple[str, int] | None = None

    def tracking_id(self, disk_id: str) -> str | None:
        return f"{disk_id}:rct-{self.epoch}" if self.enabled else None

    def enable(self) -> None:
        if not self.enabled:
            self._restart()
            self.enabled = True

    def disable(self) -> None:
        self.enabled = False
        self.lost_reason = None
        self.changed = _Bitmap(self.block_count)

    def lose(self, reason: str) -> None:
        if self.enabled:
            self._restart()
            self.lost_reason = reason

    def record(self, first: int, end: int) -> None:
        if self.enabled:
            self.changed.set_range(first, end)

    def _restart(self) -> None:
        self.epoch += 1
        self.lost_reason = None
        self.changed = _Bitmap(self.block_count)

    def cut(self, cut_id: str, disk: VirtualDisk) -> _Handover:
        """Classify the cut, hand over the changed set and start a fresh one."""
        reason = self._untrusted_reason(disk.name, disk.capacity, disk.block_size)
        handover = _Handover(
            previous_cut_id=self.last_cut[0] if self.last_cut else None,
            tracking_id=self.tracking_id(disk.disk_id),
            changed=None if reason else self.changed,
            tracking_lost=self.lost_reason is not None,
            reason=reason,
        )
        self.changed = _Bitmap(self.block_count)
        self.lost_reason = None
        self.last_cut = (cut_id, self.epoch)
        return handover

    def _untrusted_reason(self, name: str, capacity: int, block_size: int) -> str:
        """Why this cut's changes cannot be trusted, or ``""`` if they can."""
        if not self.enabled:
            return f"change tracking is not enabled on disk {name!r}"
        if self.lost_reason is not None:
            return self.lost_reason
        if self.last_cut is None or self.last_cut[1] != self.epoch:
            return (
                f"no previous cut in tracking epoch {self.epoch} of disk {name!r}; "
                "copy allocated_extents() instead"
            )
        changed = self.changed.count * block_size
        if changed > capacity // 2:
            return (
                f"tracked changes ({changed} bytes) exceed half the size of disk {name!r} "
                f"({capacity // 2} bytes); resynchronize"
            )
        return ""


class DiskSnapshot:
    """A consistent cut of one disk: frozen content plus the changes since the previous cut.

    Reading it is safe while the disk keeps being written. ``incremental``
    says whether :meth:`changed_extents` is exactly what was written between
    ``previous_cut_id`` and this cut; when it is not, ``reason`` says why and
    ``resync_required`` says whether a consumer that replicated the previous
    cut must now resynchronize (compare :meth:`block_digests`).
    """

    def __init__(
        self, disk: VirtualDisk, view: _FrozenView, cut_id: str, handover: _Handover
    ) -> None:
        self._disk = disk
        self._view = view
        self._changed = handover.changed
        self.cut_id = cut_id
        self.disk_id = disk.disk_id
        self.capacity = disk.capacity
        self.block_size = disk.block_size
        self.previous_cut_id = handover.previous_cut_id
        self.tracking_id = handover.tracking_id
        self.tracking_lost = handover.tracking_lost
        self.reason = handover.reason
        self.incremental = not handover.reason
        self.resync_required = not self.incremental and self.previous_cut_id is not None

    def __repr__(self) -> str:
        return (
            f"DiskSnapshot(disk_id={self.disk_id!r}, cut_id={self.cut_id!r}, "
            f"incremental={self.incremental})"
        )

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()

    @property
    def released(self) -> bool:
        """Whether :meth:`release` was called (or the disk closed)."""
        return self._view.released

    @property
    def changed_bytes(self) -> int:
        """Bytes in the changed blocks; raises :class:`ChangesUntrusted` if not incremental."""
        return self._trusted_changes().count * self.block_size

    def changed_extents(self) -> list[Extent]:
        """Return the coalesced ``(offset, length)`` runs of blocks changed since the previous cut.

        Raises :class:`ChangesUntrusted` (with the reason) when the cut is not
        incremental, so a stale or partial changed set is never used by mistake.
        """
        return self._disk._to_extents(self._trusted_changes().runs())

    def allocated_extents(self) -> list[Extent]:
        """Return the coalesced extents of every block written before the cut (initial copy)."""
        return self._disk._view_allocated(self._view)

    def read(self, offset: int, length: int) -> bytes:
        """Read the content as it was at the cut; raises OSError(EIO) if the disk is failing."""
        return self._disk._view_read(self._view, offset, length)

    def digest(self) -> bytes:
        """Return the SHA-256 of the full logical content at the cut, ``capacity`` bytes long.

        It equals ``hashlib.sha256(whole_disk_bytes).digest()``, so a target
        can verify a replica with hashlib alone. Never-written areas are fed
        from a shared zero buffer without reading; the cost is the hashing of
        ``capacity`` bytes (about 1.3 GB/s).
        """
        return _digest(self.capacity, self.allocated_extents(), self.read)

    def block_digests(self, block_size: int | None = None) -> Iterator[tuple[int, bytes]]:
        """Yield ``(offset, SHA-256)`` for every block of ``block_size`` bytes, in order.

        ``block_size`` defaults to the disk's; when it does not divide the
        capacity the last block is short (as in ``provider.blockdigest``).
        Blocks never written yield :func:`zero_digest` without any read, so
        comparing with a replica costs reads only where data exists.
        """
        size = self.block_size if block_size is None else block_size
        if size <= 0:
            raise ValueError(f"digest block size must be positive, got {size}")
        return _block_digests(self.capacity, size, self.allocated_extents(), self.read)

    def release(self) -> None:
        """Drop the preserved blocks; later reads raise :class:`SnapshotReleased`. Idempotent."""
        self._disk._close_view(self._view)
        self._changed = None

    def _trusted_changes(self) -> _Bitmap:
        if not self.incremental:
            raise ChangesUntrusted(f"cut {self.cut_id!r} is not incremental: {self.reason}")
        if self._changed is None:
            raise SnapshotReleased(
                f"snapshot {self.cut_id!r} of disk {self._disk.name!r} was released"
            )
        return self._changed


def _check_geometry(capacity: int, block_size: int) -> None:
    if block_size <= 0 or block_size % SECTOR_SIZE:
        raise ValueError(
            f"block size must be a positive multiple of {SECTOR_SIZE}, got {block_size}"
        )
    if capacity <= 0 or capacity % block_size:
        raise ValueError(
            f"capacity must be a positive multiple of the block size {block_size}, got {capacity}"
        )


def _content_chunks(
    capacity: int, allocated: list[Extent], read: Callable[[int, int], bytes]
) -> Iterator[bytes | memoryview]:
    """Stream the whole content: zeros from a shared buffer, data in bounded reads."""
    position = 0
    for offset, length in allocated:
        yield from _zero_chunks(offset - position)
        for at in range(offset, offset + length, _CHUNK):
            yield read(at, min(_CHUNK, offset + length - at))
        position = offset + length
    yield from _zero_chunks(capacity - position)


def _digest(capacity: int, allocated: list[Extent], read: Callable[[int, int], bytes]) -> bytes:
    hasher = hashlib.sha256()
    for chunk in _content_chunks(capacity, allocated, read):
        hasher.update(chunk)
    return hasher.digest()


def _block_digests(
    capacity: int, size: int, allocated: list[Extent], read: Callable[[int, int], bytes]
) -> Iterator[tuple[int, bytes]]:
    runs = iter(allocated)
    current = next(runs, None)
    for offset in range(0, capacity, size):
        length = min(size, capacity - offset)
        while current is not None and current[0] + current[1] <= offset:
            current = next(runs, None)
        if current is not None and current[0] < offset + length:
            yield offset, hashlib.sha256(read(offset, length)).digest()
        else:
            yield offset, zero_digest(length)
