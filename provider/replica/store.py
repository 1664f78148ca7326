"""The replica store of one disk: stored HRLs, the replica image, recovery points.

Files under the disk's directory (see :class:`~provider.replica.layout.DiskLayout`)::

    replica.img       sparse file of the disk's capacity: the disk at the latest applied HRL
    replica.digests   its 64 KiB block digests, kept up to date by every apply
    replica.digests.json  the sequence and image (size, mtime) those digests vouch for
    state.json        latest applied sequence and HRL digest (the chain head; the commit point)
    journal.json      present only while an apply is writing the image
    incoming/<n>.hrl  stored, not yet applied HRLs
    undo/<n>.undo     what HRL n overwrote: makes points older than n materialisable
    leases/<id>.json  views in use: retention keeps what they need
    views/<id>/       a writable view's private overlay
    lock              flock'ed by every change: one writer per disk

Every change takes the disk lock and first runs crash recovery, so a store
used after another process was killed mid-apply always starts from a
committed state. OS failures are mapped at this boundary: ``ENOSPC`` to
:class:`TargetFull`, anything else to :class:`TargetUnavailable`.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from provider.blockdigest import (
    DIGEST_BLOCK_SIZE,
    DIGEST_SIZE,
    BlockDigestTable,
    block_count,
    data_extents,
)
from provider.contracts.replica import BlockDigest
from provider.contracts.transfer import AppliedHrl, DiskRef, Holdings, RetentionResult
from provider.errors import AlreadyExists, RecoveryPointUnavailable, ValidationError
from provider.hrl import ZERO_DIGEST
from provider.replica.apply import apply_stored, recover
from provider.replica.durable import open_read, opened, pread_exact, read_small, write_atomic
from provider.replica.incoming import store_file, stored_sequences
from provider.replica.layout import DiskLayout, safe_component
from provider.replica.leases import Lease, read_leases, remove_lease, write_lease
from provider.replica.lock import disk_lock
from provider.replica.overlay import remove_overlay_dir
from provider.replica.retention import prune, retained_points
from provider.replica.space import SpaceGuard, Unlimited, mapped_os_errors
from provider.replica.state import DiskState, load_state
from provider.replica.undo import UndoLog
from provider.replica.view import PointView


class ReplicaStore:
    """One replicated disk on a target, rooted at its own directory."""

    def __init__(
        self, root: Path, disk: DiskRef, *, space: SpaceGuard | None = None, label: str = ""
    ) -> None:
        safe_component("item id", disk.item_id)
        safe_component("disk id", disk.disk_id)
        self.layout = DiskLayout(Path(root))
        self.disk = disk
        self.label = label or f"replica store {root}"
        self._space: SpaceGuard = space if space is not None else Unlimited()
        self._latest = LatestDigest(self.layout)
        with mapped_os_errors(self.label, "creating the disk's directories"):
            for directory in self.layout.directories():
                directory.mkdir(parents=True, exist_ok=True)

    @property
    def image_path(self) -> Path:
        """The image at the latest point: a failover to it uses this file in place."""
        return self.layout.image

    def state(self) -> DiskState | None:
        with self._changing("reading the replica state"):
            return load_state(self.layout.state)

    def holdings(self) -> Holdings:
        with self._changing("listing what the target holds"):
            state = load_state(self.layout.state)
            applied = state.sequence if state is not None else 0
            stored = tuple(s for s in stored_sequences(self.layout) if s > applied)
        digest = state.digest if state is not None else ZERO_DIGEST
        return Holdings(self.disk, applied, digest, stored)

    def store_hrl(self, sequence: int, source: Path) -> None:
        """Store an HRL file; a sequence already stored or applied is a no-op."""
        _require_sequence(sequence)
        with self._changing(f"storing HRL {sequence}"):
            state = load_state(self.layout.state)
            applied = state is not None and sequence <= state.sequence
            if not applied and not self.layout.incoming(sequence).exists():
                store_file(self.layout, sequence, Path(source), self._space)

    def apply(self, sequence: int, key: bytes | None = None) -> AppliedHrl:
        """Verify and apply stored HRL ``sequence`` (see :mod:`provider.replica.apply`)."""
        _require_sequence(sequence)
        with self._changing(f"applying HRL {sequence}"):
            before = load_state(self.layout.state)
            incremental = self._latest.vouched(before) is not None  # the image is not yet touched
            applied = apply_stored(self.layout, self.disk, self._space, sequence, key)
            if before is None or before.sequence < sequence:
                self._latest.advance(sequence, incremental)
            return applied

    def points(self) -> range:
        """The sequences this disk can be materialised at, oldest first."""
        with self._changing("listing recovery points"):
            state = load_state(self.layout.state)
            return retained_points(self.layout, state.sequence if state else None)

    def open_view(
        self, sequence: int, *, writable: bool = False, view_id: str | None = None
    ) -> PointView:
        """Lease point ``sequence`` and open a copy-on-write view of it.

        A named view keeps its lease until released, even across a crash (a
        test failover); an unnamed one's lease dies with this process.
        """
        if view_id is None:
            lease = Lease(uuid.uuid4().hex, sequence, writable, pid=os.getpid())
        else:
            lease = Lease(safe_component("view id", view_id), sequence, writable)
        chosen = lease.view_id
        capacity = self._lease(lease)
        try:
            return PointView(
                self.layout,
                sequence,
                capacity,
                view_id=chosen,
                writable=writable,
                release=self.release_view,
            )
        except BaseException:
            self.release_view(chosen)
            raise

    def release_view(self, view_id: str) -> None:
        """Forget a view: its lease and its overlay (also for a view a crash left)."""
        with self._changing(f"releasing view {view_id}"):
            remove_lease(self.layout, view_id)
            remove_overlay_dir(self.layout.view_dir(view_id))

    def point_digest(self, sequence: int) -> str:
        """The disk digest (:mod:`provider.blockdigest`, hex) at ``sequence``.

        The latest point's comes from the block digest table kept by every
        apply, so it does not read the disk; older points are read through a view.
        """
        with self._changing(f"reading the digest at sequence {sequence}"):
            state = load_state(self.layout.state)
            if state is not None and state.sequence == sequence:
                return self._latest.digest(state)
        with self.open_view(sequence) as view:
            return view.digest()

    def block_digests(self, block_size: int) -> Iterator[BlockDigest]:
        """SHA-256 per block at the latest applied sequence, stable under later applies."""
        if block_size <= 0:
            raise ValidationError(f"block size must be positive, got {block_size}")
        latest = self.points()
        if not latest:
            raise self._unavailable(0, latest)
        return _closing(self.open_view(latest[-1]), block_size)

    def apply_retention(self, oldest_kept_sequence: int) -> RetentionResult:
        """Delete undo logs only needed for points older than ``oldest_kept_sequence``."""
        with self._changing("applying retention"):
            state = load_state(self.layout.state)
            if state is None:
                return RetentionResult((), 0)
            leased = [lease.sequence for lease in read_leases(self.layout)]
            return prune(self.layout, self.disk, oldest_kept_sequence, state.sequence, leased)

    def _lease(self, lease: Lease) -> int:
        with self._changing(f"opening a view at sequence {lease.sequence}"):
            state = load_state(self.layout.state)
            points = retained_points(self.layout, state.sequence if state else None)
            if state is None or lease.sequence not in points:
                raise self._unavailable(lease.sequence, points)
            if self.layout.lease(lease.view_id).exists():
                raise AlreadyExists(f"a view named {lease.view_id!r} is already open")
            write_lease(self.layout, lease)
            return state.capacity

    def _unavailable(self, sequence: int, points: range) -> RecoveryPointUnavailable:
        held = f"sequences {points[0]}..{points[-1]}" if points else "no point yet"
        return RecoveryPointUnavailable(
            f"disk {self.disk.disk_id!r} of item {self.disk.item_id!r} has no point at "
            f"sequence {sequence}: the target holds {held}",
            hint="choose a retained recovery point",
        )

    @contextmanager
    def _changing(self, what: str) -> Iterator[None]:
        with mapped_os_errors(self.label, what), disk_lock(self.layout.lock):
            recover(self.layout)
            self._drop_orphaned_leases()
            yield

    def _drop_orphaned_leases(self) -> None:
        for lease in read_leases(self.layout):
            if lease.orphaned:
                remove_lease(self.layout, lease.view_id)
                remove_overlay_dir(self.layout.view_dir(lease.view_id))


@dataclass(frozen=True)
class DigestStamp:
    """The table holds the image at ``sequence`` as it stood then; ``root`` is its digest."""

    sequence: int
    image_size: int
    image_mtime_ns: int
    root: str


class LatestDigest:
    """The replica's disk digest at its latest applied sequence, without reading the disk.

    ``replica.digests`` holds the image's block digests. Each apply rehashes
    only the blocks its HRL touched (the extents of its undo log) and then
    restamps. The stamp names the sequence and the image's size and mtime it
    vouches for, so a table a crash left half-updated, or an image changed by
    anything but an apply, is never trusted: the table is then rebuilt from
    the image, reading only its allocated extents. Callers hold the disk lock.
    """

    def __init__(self, layout: DiskLayout) -> None:
        self.layout = layout
        self.table_path = layout.root / "replica.digests"
        self.stamp_path = layout.root / "replica.digests.json"

    def vouched(self, state: DiskState | None) -> DigestStamp | None:
        """The stamp if the table holds the image exactly as at ``state``, else None."""
        stamp = self._load()
        if stamp is None or state is None or stamp.sequence != state.sequence:
            return None
        try:
            image = os.stat(self.layout.image)
            table_size = os.stat(self.table_path).st_size
        except FileNotFoundError:
            return None
        if (image.st_size, image.st_mtime_ns) != (stamp.image_size, stamp.image_mtime_ns):
            return None
        expected = block_count(state.capacity, DIGEST_BLOCK_SIZE) * DIGEST_SIZE
        return stamp if table_size == expected else None

    def digest(self, state: DiskState) -> str:
        """The digest at ``state``: from the stamp, or after rebuilding the table."""
        stamp = self.vouched(state)
        return stamp.root if stamp is not None else self.advance(state.sequence, False)

    def advance(self, sequence: int, incremental: bool) -> str:
        """Bring the table to the applied ``sequence`` and restamp it; returns the root.

        ``incremental`` says the table vouched for the image just before HRL
        ``sequence`` was applied, so only the blocks it touched change.
        """
        state = load_state(self.layout.state)
        if state is None or state.sequence != sequence:
            raise ValidationError(f"{self.layout.root}: HRL {sequence} is not the latest applied")
        self.stamp_path.unlink(missing_ok=True)  # the table changes in place from here on
        table = BlockDigestTable(self.table_path, state.capacity)
        with opened(open_read(self.layout.image)) as image:
            touched = self._touched(sequence) if incremental else None
            if touched is None:
                table.reset()
                touched = data_extents(image, state.capacity)
            name = str(self.layout.image)
            table.rehash(touched, lambda offset, length: pread_exact(image, length, offset, name))
            info = os.fstat(image)
        root = table.root()
        stamp = DigestStamp(sequence, info.st_size, info.st_mtime_ns, root)
        write_atomic(self.stamp_path, json.dumps(asdict(stamp), sort_keys=True).encode())
        return root

    def _touched(self, sequence: int) -> list[tuple[int, int]] | None:
        """The extents HRL ``sequence`` wrote, from its undo log (None if unreadable)."""
        try:
            with UndoLog(self.layout.undo(sequence), sequence) as log:
                return [(offset, len(data)) for offset, data in log.records()]
        except (FileNotFoundError, RecoveryPointUnavailable):
            return None

    def _load(self) -> DigestStamp | None:
        raw = read_small(self.stamp_path)
        if raw is None:
            return None
        try:
            return DigestStamp(**json.loads(raw))
        except (ValueError, TypeError):
            return None  # a damaged stamp vouches for nothing: the table is rebuilt


def _require_sequence(sequence: int) -> None:
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise ValidationError(f"an HRL sequence is a positive integer, got {sequence!r}")


def _closing(view: PointView, block_size: int) -> Iterator[BlockDigest]:
    with view:
        yield from view.block_digests(block_size)
