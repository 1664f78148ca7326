"""Point-in-time views: a disk as it was at a retained sequence m.

For each byte, the value at m comes from the undo log of the *lowest*
sequence s > m that touched it (undo(s) holds the bytes as of s-1, which
equal those at m since nothing in (m, s) touched them), else from the
replica image. A view overlays the undo logs of every s > m found on disk in
*descending* order, so the lowest s is applied last and wins.

Views re-resolve at every read instead of pinning a copy, so a view opened
at m keeps returning m's bytes while replication applies new HRLs: the
image is read *first* and the undo directory listed *after*. Any HRL that
changed a byte before the image was read had its undo log published before
its first image write, so the listing sees it and the byte is restored. An
undo log for a sequence the state has not reached (an apply in progress, or
one rolled back) holds exactly what the image held before that apply, so
overlaying it is harmless. Retention never removes a log a leased view needs.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType

from provider.blockdigest import DIGEST_BLOCK_SIZE, disk_digest
from provider.contracts.replica import BlockDigest
from provider.errors import RecoveryPointUnavailable, ValidationError
from provider.replica.durable import open_read, pread_exact
from provider.replica.layout import DiskLayout, parse_sequence
from provider.replica.overlay import Overlay
from provider.replica.undo import UndoLog

#: Most bytes one digest read asks of the view.
_CHUNK = 4 << 20


class PointView:
    """Read (and, if writable, privately write) a disk as it was at ``sequence``.

    Obtain one from :meth:`provider.replica.store.ReplicaStore.open_view`,
    which leases the point; :meth:`close` releases it.
    """

    def __init__(
        self,
        layout: DiskLayout,
        sequence: int,
        capacity: int,
        *,
        view_id: str,
        writable: bool,
        release: Callable[[str], None],
    ) -> None:
        self.layout, self.sequence, self.capacity = layout, sequence, capacity
        self.view_id = view_id
        self._release = release
        self._image = open_read(layout.image)
        self._logs: dict[int, tuple[int, UndoLog]] = {}  # sequence -> (inode, log)
        self._overlay = Overlay(layout.view_dir(view_id), capacity) if writable else None

    def __enter__(self) -> PointView:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def writable(self) -> bool:
        return self._overlay is not None

    @property
    def overlay_path(self) -> Path | None:
        return self._overlay.path if self._overlay is not None else None

    def close(self) -> None:
        """Release the lease and discard the overlay; a second call does nothing."""
        if self._image < 0:
            return
        os.close(self._image)
        self._image = -1
        for _inode, log in self._logs.values():
            log.close()
        if self._overlay is not None:
            self._overlay.close()
        self._release(self.view_id)

    def read(self, offset: int, length: int) -> bytes:
        self._check_range(offset, length)
        buffer = self._resolved(offset, length)
        if self._overlay is not None:
            self._overlay.apply_to(offset, buffer)
        return bytes(buffer)

    def write(self, offset: int, data: bytes) -> None:
        """Write into the view's private overlay; the replica image never changes."""
        if self._overlay is None:
            raise ValidationError(
                f"view {self.view_id!r} of {self.layout.root} is read-only",
                hint="open the view with writable=True to write to it",
            )
        self._check_range(offset, len(data))
        self._overlay.write(offset, data, self._resolved)

    def digest(self) -> str:
        """The disk digest (:mod:`provider.blockdigest`) of the view, streamed."""
        return disk_digest(d.digest for d in self.block_digests(DIGEST_BLOCK_SIZE))

    def block_digests(self, block_size: int) -> Iterator[BlockDigest]:
        """SHA-256 of every ``block_size`` block in offset order (the last may be short)."""
        if block_size <= 0:
            raise ValidationError(f"block size must be positive, got {block_size}")
        # Whole blocks per read: every read re-resolves the undo logs, so fewer,
        # larger reads cost far less than one read per 64 KiB block.
        step = max(1, _CHUNK // block_size) * block_size
        for start in range(0, self.capacity, step):
            data = memoryview(self.read(start, min(step, self.capacity - start)))
            for at in range(0, len(data), block_size):
                digest = hashlib.sha256(data[at : at + block_size]).digest()
                yield BlockDigest(start + at, digest)

    def _check_range(self, offset: int, length: int) -> None:
        if self._image < 0:
            raise ValidationError(f"view {self.view_id!r} is closed")
        if offset < 0 or length < 0 or offset + length > self.capacity:
            raise ValidationError(
                f"view {self.view_id!r}: range [{offset}, {offset + length}) is outside "
                f"the disk's {self.capacity} bytes"
            )

    def _resolved(self, offset: int, length: int) -> bytearray:
        buffer = bytearray(pread_exact(self._image, length, offset, str(self.layout.image)))
        for log in self._logs_after():
            log.overlay(offset, buffer)
        return buffer

    def _logs_after(self) -> list[UndoLog]:
        """Open undo logs newer than the view's point, highest sequence first."""
        listed: dict[int, int] = {}
        for entry in os.scandir(self.layout.undo_dir):
            sequence = parse_sequence(entry.name, ".undo")
            if sequence is not None and sequence > self.sequence:
                listed[sequence] = entry.inode()
        for sequence in set(self._logs) - set(listed):
            self._logs.pop(sequence)[1].close()
        for sequence, inode in listed.items():
            if self._logs.get(sequence, (None,))[0] != inode:
                self._replace_log(sequence, inode)
        return [self._logs[sequence][1] for sequence in sorted(listed, reverse=True)]

    def _replace_log(self, sequence: int, inode: int) -> None:
        old = self._logs.pop(sequence, None)
        if old is not None:
            old[1].close()
        try:
            self._logs[sequence] = (inode, UndoLog(self.layout.undo(sequence), sequence))
        except FileNotFoundError as exc:
            raise RecoveryPointUnavailable(
                f"view {self.view_id!r} at sequence {self.sequence} lost the undo log of "
                f"HRL {sequence}",
                hint="its lease was released while it was in use; open the view again",
            ) from exc
