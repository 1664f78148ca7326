"""Which CBT change id each cut stands for, per fabric, VM and disk.

The engine names cuts (its markers carry cut ids); vSphere names points in
a disk's change log by change id. The book keeps, for each open cut, the
snapshot per VM and what each disk looked like at it, and for each disk the
change ids of its last confirmed cuts. A cut released unconfirmed leaves
the base where it was, so the next query (from the older change id)
reports its changes again: CBT over-reports, nothing is lost.

The book lives in the service's memory: after a restart no change id is
known and the next cut of each disk is a resynchronization (never a guess).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from plugins.vmware.vim import SnapshotDisk

#: Confirmed cuts remembered per disk (the engine's marker is normally the last one).
KEPT_BASES = 4


@dataclass(frozen=True)
class OpenDisk:
    """One disk of an open cut: where its frozen bytes are and its change id there."""

    machine_id: str
    snapshot_id: str
    disk: SnapshotDisk
    datacenter: str


@dataclass(frozen=True)
class OpenCut:
    """A cut whose snapshots still exist: snapshot per VM, disks by (VM, disk id)."""

    cut_id: str
    snapshots: tuple[tuple[str, str], ...]
    disks: tuple[OpenDisk, ...]

    def disk(self, machine_id: str, disk_id: str) -> OpenDisk | None:
        for entry in self.disks:
            if entry.machine_id == machine_id and str(entry.disk.key) == disk_id:
                return entry
        return None


class ChangeIdBook:
    """Open cuts and confirmed change ids, for every fabric this service talks to."""

    def __init__(self) -> None:
        self._open: dict[tuple[str, str], OpenCut] = {}
        self._bases: dict[tuple[str, str, str], OrderedDict[str, str]] = {}
        self._lock = threading.Lock()

    def opened(self, fabric_id: str, cut: OpenCut) -> None:
        with self._lock:
            self._open[(fabric_id, cut.cut_id)] = cut

    def open_cut(self, fabric_id: str, cut_id: str) -> OpenCut | None:
        with self._lock:
            return self._open.get((fabric_id, cut_id))

    def close(self, fabric_id: str, cut_id: str, confirmed: bool) -> OpenCut | None:
        """Forget an open cut; confirmed, its change ids become the disks' bases."""
        with self._lock:
            cut = self._open.pop((fabric_id, cut_id), None)
            if cut is None or not confirmed:
                return cut
            for entry in cut.disks:
                bases = self._bases.setdefault(
                    (fabric_id, entry.machine_id, str(entry.disk.key)), OrderedDict()
                )
                bases[cut_id] = entry.disk.change_id
                while len(bases) > KEPT_BASES:
                    bases.popitem(last=False)
            return cut

    def change_id(self, fabric_id: str, machine_id: str, disk_id: str, cut_id: str) -> str:
        """The change id a confirmed cut stands for, or ``""`` when unknown."""
        with self._lock:
            return self._bases.get((fabric_id, machine_id, disk_id), OrderedDict()).get(cut_id, "")

    def forget_machine(self, fabric_id: str, machine_id: str) -> None:
        """Drop every base of a VM (tracking disabled): its next cut starts over."""
        with self._lock:
            for key in [k for k in self._bases if k[:2] == (fabric_id, machine_id)]:
                del self._bases[key]
