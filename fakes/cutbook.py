"""Per-disk bookkeeping of consistent cuts for simulated replication sources.

A source must never lose changes: a cut's changes become the base only when
the engine confirms it. :class:`CutBook` keeps, per disk, the last confirmed
cut, the cuts still open, and the changes of cuts released unconfirmed (they
travel again with the next cut). Simulated fabrics (and third-party plugin
fakes) use it on top of :class:`fakes.disk.VirtualDisk` snapshots.

Example::

    book = CutBook(disk)
    changes = book.cut("cut-1", previous="")      # first cut: full copy
    book.release("cut-1", confirmed=True)
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fakes.disk import ChangesUntrusted, DiskSnapshot, VirtualDisk
from provider.contracts.replica import ChangeMode


@dataclass(frozen=True)
class CutChanges:
    """What one disk reports at a cut."""

    mode: ChangeMode
    extents: tuple[tuple[int, int], ...]
    reason: str = ""


@dataclass
class CutBook:
    """Open, confirmed and carried-over cuts of one disk."""

    disk: VirtualDisk
    confirmed: str = ""
    carried: set[tuple[int, int]] = field(default_factory=set)
    needs_resync: str = ""
    open_cuts: dict[str, tuple[DiskSnapshot, CutChanges]] = field(default_factory=dict)

    def cut(self, cut_id: str, previous: str) -> CutChanges:
        """Freeze the disk and say what changed since ``previous`` (the engine's marker)."""
        snapshot = self.disk.snapshot(cut_id)
        changes = self._changes(snapshot, previous)
        self.open_cuts[cut_id] = (snapshot, changes)
        return changes

    def snapshot(self, cut_id: str) -> DiskSnapshot:
        """The frozen content of an open cut."""
        return self.open_cuts[cut_id][0]

    def release(self, cut_id: str, confirmed: bool) -> None:
        """Close a cut; confirmed makes it the base, unconfirmed carries its changes."""
        snapshot, changes = self.open_cuts.pop(cut_id)
        snapshot.release()
        if confirmed:
            self.confirmed, self.carried, self.needs_resync = cut_id, set(), ""
        elif changes.mode is ChangeMode.INCREMENTAL:
            self.carried.update(changes.extents)
        elif changes.mode is ChangeMode.RESYNC:
            self.needs_resync = self.needs_resync or changes.reason

    def _changes(self, snapshot: DiskSnapshot, previous: str) -> CutChanges:
        if not previous:
            return CutChanges(ChangeMode.FULL, tuple(snapshot.allocated_extents()))
        reason = self._resync_reason(snapshot, previous)
        if reason:
            self.needs_resync = reason
            return CutChanges(ChangeMode.RESYNC, (), reason)
        merged = _coalesce(set(snapshot.changed_extents()) | self.carried)
        return CutChanges(ChangeMode.INCREMENTAL, merged)

    def _resync_reason(self, snapshot: DiskSnapshot, previous: str) -> str:
        if self.needs_resync:
            return self.needs_resync
        if previous != self.confirmed:
            return f"previous cut {previous!r} is not the last confirmed cut {self.confirmed!r}"
        try:
            snapshot.changed_extents()
        except ChangesUntrusted:
            return snapshot.reason or "change tracking cannot be trusted"
        return ""


def _coalesce(extents: set[tuple[int, int]]) -> tuple[tuple[int, int], ...]:
    merged: list[tuple[int, int]] = []
    for offset, length in sorted(extents):
        if merged and offset <= merged[-1][0] + merged[-1][1]:
            start, size = merged[-1]
            merged[-1] = (start, max(size, offset + length - start))
        else:
            merged.append((offset, length))
    return tuple(merged)
