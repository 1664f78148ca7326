"""Changed Block Tracking (CBT) of one VMDK, with vSphere's change ids.

A change id reads ``"52 1c ... 8f/7"``: a tracking epoch (changes whenever
CBT is reset) and a sequence number bumped by every snapshot. Asking for the
areas changed since a change id (``QueryChangedDiskAreas``) returns the
union of what changed in every snapshot step after it, so a consumer that
gave up a snapshot (never confirmed) and asks again from its older change id
gets those changes again: CBT over-reports, it never under-reports.

The first snapshot of an epoch, and a step where the disk's tracker
overflowed, report every allocated block (an over-report, allowed). A change
id from another epoch (CBT was reset) or older than what is retained is
refused with ``InvalidArgument`` on ``changeId``: the consumer must
resynchronize.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from fakes.disk import DiskSnapshot, Extent, VirtualDisk
from fakes.vcenter.faults import VimFault, invalid_argument

#: Snapshot steps whose changes are kept; an older change id is refused.
RETAINED_STEPS = 256


@dataclass(frozen=True)
class FrozenDisk:
    """One disk frozen by a snapshot, with the change id it had at that instant."""

    snapshot: DiskSnapshot
    epoch: str
    sequence: int

    @property
    def change_id(self) -> str:
        return f"{self.epoch}/{self.sequence}"


@dataclass(frozen=True)
class ChangedAreas:
    """One ``QueryChangedDiskAreas`` answer: the range covered and the areas in it."""

    start_offset: int
    length: int
    areas: tuple[Extent, ...]


def epoch_text(disk_id: str, generation: int) -> str:
    """A change-id epoch in vSphere's spaced-hex UUID form, stable for a disk and generation."""
    raw = hashlib.sha256(f"{disk_id}:{generation}".encode()).digest()[:16]
    pairs = ["52", *(f"{byte:02x}" for byte in raw[1:])]
    return " ".join(pairs[:8]) + "-" + " ".join(pairs[8:])


class ChangeTracker:
    """CBT on one disk: enable, freeze at snapshots, answer change queries."""

    def __init__(self, disk: VirtualDisk) -> None:
        self.disk = disk
        self.enabled = False
        self._generation = 0
        self._disk_epoch = -1
        self._sequence = 0
        self._steps: dict[int, tuple[Extent, ...]] = {}

    @property
    def epoch(self) -> str:
        return epoch_text(self.disk.disk_id, self._generation)

    @property
    def change_id(self) -> str:
        """The disk's current change id (``""`` while CBT is off)."""
        return f"{self.epoch}/{self._sequence}" if self.enabled else ""

    def enable(self) -> None:
        """Turn CBT on (a new epoch); no-op when it is on."""
        if not self.enabled:
            self.disk.enable_tracking()
            self.enabled = True

    def disable(self) -> None:
        """Turn CBT off; every change id given so far becomes invalid."""
        self.disk.disable_tracking()
        self.enabled = False
        self._steps.clear()

    def reset(self, reason: str = "CBT was reset") -> None:
        """Fault switch: lose the change log (storage vMotion, a crash, a reset by an admin)."""
        self.disk.lose_tracking(reason)

    def freeze(self, snapshot_id: str) -> FrozenDisk:
        """Freeze the disk for a snapshot and record this step's changed blocks."""
        snapshot = self.disk.snapshot(snapshot_id)
        if not self.enabled:
            return FrozenDisk(snapshot, "", 0)
        if snapshot.tracking_lost or self.disk.tracking_epoch != self._disk_epoch:
            self._restart()
        self._sequence += 1
        self._steps[self._sequence] = _step_changes(snapshot)
        self._steps.pop(self._sequence - RETAINED_STEPS, None)
        return FrozenDisk(snapshot, self.epoch, self._sequence)

    def _restart(self) -> None:
        self._generation += 1
        self._disk_epoch = self.disk.tracking_epoch
        self._steps.clear()

    def query(self, frozen: FrozenDisk, change_id: str, start: int, window: int) -> ChangedAreas:
        """Areas changed since ``change_id`` up to the frozen disk, in ``[start, start+window)``."""
        if not self.enabled or not frozen.epoch:
            raise VimFault(
                "FileFault",
                f"Change tracking is not enabled on disk '{self.disk.name}'.",
                file=self.disk.name,
            )
        if not 0 <= start < self.disk.capacity:
            raise invalid_argument("startOffset", f"{start} is outside the disk")
        length = min(window, self.disk.capacity - start)
        if change_id == "*":
            extents = frozen.snapshot.allocated_extents()
        else:
            extents = self._since(frozen, change_id)
        return ChangedAreas(start, length, _clip(extents, start, start + length))

    def _since(self, frozen: FrozenDisk, change_id: str) -> list[Extent]:
        epoch, _, sequence_text = change_id.rpartition("/")
        if epoch != frozen.epoch or not sequence_text.isdigit():
            raise invalid_argument("changeId", f"'{change_id}' is not valid for this disk")
        since = int(sequence_text)
        wanted = range(since + 1, frozen.sequence + 1)
        if since > frozen.sequence or any(step not in self._steps for step in wanted):
            raise invalid_argument("changeId", f"'{change_id}' is not valid for this disk")
        return _merge(extent for step in wanted for extent in self._steps[step])


def _step_changes(snapshot: DiskSnapshot) -> tuple[Extent, ...]:
    # The first step of an epoch, or an overflowed tracker, over-reports:
    # everything allocated counts as changed.
    if snapshot.incremental:
        return tuple(snapshot.changed_extents())
    return tuple(snapshot.allocated_extents())


def _merge(extents: Iterable[Extent]) -> list[Extent]:
    merged: list[Extent] = []
    for offset, length in sorted(extents):
        if merged and offset <= merged[-1][0] + merged[-1][1]:
            end = max(merged[-1][0] + merged[-1][1], offset + length)
            merged[-1] = (merged[-1][0], end - merged[-1][0])
        else:
            merged.append((offset, length))
    return merged


def _clip(extents: list[Extent], start: int, end: int) -> tuple[Extent, ...]:
    clipped = []
    for offset, length in extents:
        low, high = max(offset, start), min(offset + length, end)
        if low < high:
            clipped.append((low, high - low))
    return tuple(clipped)
