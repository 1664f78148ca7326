"""The process server's local HRL cache: bounded, ordered, survives restarts.

Every HRL is written here first and leaves only once the target has applied
it. When the target is slow or down, HRLs pile up here (bounded by
``bound_bytes``) and are forwarded in sequence order when it returns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from provider.contracts.transfer import DiskRef
from provider.errors import CacheFull
from provider.model.checks import require_id

_HRL_NAME = re.compile(r"^(\d{20})\.hrl$")


@dataclass(frozen=True)
class CacheUsage:
    """How full the cache is."""

    used_bytes: int
    bound_bytes: int

    @property
    def fraction(self) -> float:
        """Used share of the bound (may exceed 1.0 by the last HRL written)."""
        return self.used_bytes / self.bound_bytes


class HrlCache:
    """HRL files per disk under ``root/<item>/<disk>/<sequence>.hrl``."""

    def __init__(self, root: Path, bound_bytes: int, warn_fraction: float = 0.8) -> None:
        self.root, self.bound_bytes, self.warn_fraction = root, bound_bytes, warn_fraction
        root.mkdir(parents=True, exist_ok=True)

    def directory(self, disk: DiskRef) -> Path:
        """The disk's folder; ids are checked so none can escape the cache."""
        require_id("cache", "item_id", disk.item_id)
        require_id("cache", "disk_id", disk.disk_id)
        return self.root / disk.item_id / disk.disk_id

    def path_for(self, disk: DiskRef, sequence: int) -> Path:
        """Where the HRL of this sequence lives (or will)."""
        return self.directory(disk) / f"{sequence:020d}.hrl"

    def reserve(self, disk: DiskRef, sequence: int) -> Path:
        """A path to write the next HRL to, refusing when the cache is full."""
        usage = self.usage()
        if usage.used_bytes >= self.bound_bytes:
            raise CacheFull(
                f"process server cache {self.root} holds {usage.used_bytes} bytes, at its "
                f"bound of {self.bound_bytes}; the target has not taken HRLs for a while",
                hint="bring the target back or raise the cache bound; nothing is lost meanwhile",
            )
        path = self.path_for(disk, sequence)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path

    def pending(self, disk: DiskRef) -> list[int]:
        """Sequences cached for the disk, oldest first."""
        folder = self.directory(disk)
        if not folder.is_dir():
            return []
        found = (_HRL_NAME.match(entry.name) for entry in folder.iterdir())
        return sorted(int(match.group(1)) for match in found if match)

    def discard(self, disk: DiskRef, sequence: int) -> None:
        """Drop an HRL the target has applied (missing is fine: idempotent)."""
        self.path_for(disk, sequence).unlink(missing_ok=True)

    def discard_disk(self, disk: DiskRef) -> None:
        """Drop everything cached for a disk (protection removed or resync)."""
        folder = self.directory(disk)
        for sequence in self.pending(disk):
            self.discard(disk, sequence)
        for leftover in folder.glob("*.tmp*") if folder.is_dir() else ():
            leftover.unlink(missing_ok=True)

    def usage(self) -> CacheUsage:
        """Bytes held by every cached HRL."""
        used = sum(path.stat().st_size for path in self.root.rglob("*.hrl"))
        return CacheUsage(used, self.bound_bytes)

    def over_threshold(self) -> bool:
        """True when the cache is fuller than the warning fraction."""
        return self.usage().fraction >= self.warn_fraction
