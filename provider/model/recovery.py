"""Recovery points: one consistent cut across all disks of a machine (or a group)."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from provider.errors import ValidationError
from provider.model.checks import require_id, require_non_negative, require_unique


class Consistency(enum.StrEnum):
    """Crash-consistent (a cut of the disks) or app-consistent (quiesced first)."""

    CRASH = "crash"
    APP = "app"


@dataclass(frozen=True)
class DiskPoint:
    """A disk at a recovery point: the HRL sequence that ends at it and its digest."""

    disk_id: str
    sequence: int
    digest: str

    def __post_init__(self) -> None:
        require_id("DiskPoint", "disk_id", self.disk_id)
        require_non_negative("DiskPoint", "sequence", self.sequence)
        if len(self.digest) != 64:
            raise ValidationError(f"DiskPoint {self.disk_id!r}: digest must be 64 hex digits")


@dataclass(frozen=True)
class RecoveryPoint:
    """A point a protected item can fail over to.

    ``digests`` holds the SHA-256 of every disk as the source had it at the
    cut, so a failover can prove the materialised disk is what the source had.
    ``group_cut`` is shared by every machine of a replication group cut together.
    """

    point_id: str
    item_id: str
    cut_id: str
    created_at: float
    consistency: Consistency
    disks: tuple[DiskPoint, ...]
    group_cut: str = ""

    def __post_init__(self) -> None:
        require_id("RecoveryPoint", "point_id", self.point_id)
        require_id("RecoveryPoint", "item_id", self.item_id)
        require_non_negative("RecoveryPoint", "created_at", self.created_at)
        require_unique(f"RecoveryPoint {self.point_id!r}", "disks", (d.disk_id for d in self.disks))

    def disk(self, disk_id: str) -> DiskPoint:
        """The point's record for one disk."""
        for disk in self.disks:
            if disk.disk_id == disk_id:
                return disk
        raise KeyError(f"recovery point {self.point_id!r} has no disk {disk_id!r}")
