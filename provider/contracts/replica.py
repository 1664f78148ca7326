"""Replica sync values: change tracking, consistent cuts, changed extents."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from provider.errors import ValidationError
from provider.model.checks import require_id, require_non_negative
from provider.model.inventory import Machine
from provider.model.recovery import Consistency


@dataclass(frozen=True)
class TrackingInfo:
    """Change tracking as enabled on one machine: the base cut every disk starts from."""

    machine_id: str
    base_cut: str
    disks: tuple[str, ...]


class ChangeMode(enum.StrEnum):
    """How to read a disk's changes at a cut.

    INCREMENTAL: exactly the extents changed since the previous cut.
    FULL: every allocated extent (the initial copy).
    RESYNC: tracking is not trustworthy; compare block digests and send the difference.
    """

    INCREMENTAL = "incremental"
    FULL = "full"
    RESYNC = "resync"


@dataclass(frozen=True)
class DiskMarker:
    """The last cut a disk was replicated at (empty: never, so a full copy)."""

    machine_id: str
    disk_id: str
    cut_id: str = ""


@dataclass(frozen=True)
class CutRequest:
    """What the engine asks for: one consistent cut across these machines' disks."""

    cut_id: str
    machines: tuple[Machine, ...]
    previous: tuple[DiskMarker, ...]
    consistency: Consistency = Consistency.CRASH

    def __post_init__(self) -> None:
        require_id("CutRequest", "cut_id", self.cut_id)
        if not self.machines:
            raise ValidationError("CutRequest: a cut needs at least one machine")

    def previous_cut(self, machine_id: str, disk_id: str) -> str:
        """The disk's previous cut id, or '' when it was never replicated."""
        for marker in self.previous:
            if (marker.machine_id, marker.disk_id) == (machine_id, disk_id):
                return marker.cut_id
        return ""


@dataclass(frozen=True)
class DiskChanges:
    """One disk's part of a cut: which extents to read and ship."""

    machine_id: str
    disk_id: str
    capacity: int
    mode: ChangeMode
    extents: tuple[tuple[int, int], ...] = ()
    reason: str = ""

    def __post_init__(self) -> None:
        require_non_negative("DiskChanges", "capacity", self.capacity)
        for offset, length in self.extents:
            if offset < 0 or length <= 0 or offset + length > self.capacity:
                raise ValidationError(
                    f"DiskChanges {self.disk_id!r}: extent ({offset}, {length}) is outside "
                    f"the disk's {self.capacity} bytes"
                )

    @property
    def changed_bytes(self) -> int:
        """Bytes this disk will ship at this cut (for resync: an upper bound)."""
        return sum(length for _, length in self.extents)


@dataclass(frozen=True)
class Cut:
    """A consistent cut taken on the source: readable until released.

    ``consistency`` is what was achieved: asking for APP and getting CRASH
    (a quiesce that failed) is reported in ``note`` and surfaces in health.
    """

    cut_id: str
    taken_at: float
    consistency: Consistency
    disks: tuple[DiskChanges, ...]
    note: str = ""

    def disk(self, machine_id: str, disk_id: str) -> DiskChanges:
        """This cut's changes for one disk."""
        for changes in self.disks:
            if (changes.machine_id, changes.disk_id) == (machine_id, disk_id):
                return changes
        raise KeyError(f"cut {self.cut_id!r} has no disk {machine_id}/{disk_id}")


@dataclass(frozen=True)
class ExtentData:
    """Bytes of one extent read from a cut."""

    offset: int
    data: bytes


@dataclass(frozen=True)
class BlockDigest:
    """Digest of one fixed-size block at a cut, for resynchronization."""

    offset: int
    digest: bytes
