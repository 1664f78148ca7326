"""SrpAgent: srp's own host agent (like ASR's provider), change tracking and consistent cuts.

The agent keeps, per tracked disk, the chain of cuts since the last
confirmed one. A cut's changes are the blocks written since the cut before
it; a new cut whose ``-Previous`` is any cut of the chain gets the union of
the changes after that cut, so the changes of a cut that was never
confirmed are not lost. The disk's own rules decide when changes cannot be
trusted (tracking lost, an unclean stop, more changes than half the disk):
then the cut is a ``Resync`` and the chain restarts at it.

Modes: ``Full`` (no previous cut given: copy the allocated extents),
``Incremental`` (the extents changed since the previous cut), ``Resync``
(compare block digests over the allocated extents; ``Reason`` says why).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from fakes.disk import DiskSnapshot, Extent
from fakes.hyperv.enums import VMState
from fakes.hyperv.powershell.errors import VirtualizationError

if TYPE_CHECKING:
    from fakes.hyperv.host import HyperVHost, VirtualMachine

#: Largest read one Read-SrpCutExtent call may ask for (the plugin batches to this).
MAX_READ_BYTES = 4 << 20
#: Largest write one Write-SrpDiskExtent call carries: its base64 travels on the
#: ``powershell -EncodedCommand`` line, which Windows caps at 32,767 characters.
MAX_WRITE_BYTES = 8 << 10
SECTOR = 512


@dataclass
class _CutRecord:
    cut_id: str
    #: Blocks changed since the record before it; ``None`` when the chain restarted here.
    delta: list[Extent] | None
    snapshot: DiskSnapshot | None


@dataclass
class _DiskChain:
    vm_id: str
    disk_id: str
    records: list[_CutRecord] = field(default_factory=list)

    def index_of(self, cut_id: str) -> int | None:
        return next((i for i, record in enumerate(self.records) if record.cut_id == cut_id), None)

    def release_all(self) -> None:
        for record in self.records:
            if record.snapshot is not None:
                record.snapshot.release()
                record.snapshot = None


@dataclass(frozen=True)
class DiskCut:
    """One disk's part of a cut, as New-SrpCut reports it."""

    vm_id: str
    disk_id: str
    capacity: int
    mode: str
    extents: tuple[Extent, ...]
    reason: str

    @property
    def extents_text(self) -> str:
        return ",".join(f"{offset}:{length}" for offset, length in self.extents)


@dataclass(frozen=True)
class CutResult:
    """A consistent cut across one or more VMs."""

    cut_id: str
    taken_at: int
    consistency: str
    note: str
    disks: tuple[DiskCut, ...]


def merge_extents(runs: Iterable[Extent]) -> list[Extent]:
    """Sort and merge overlapping or touching ``(offset, length)`` extents."""
    merged: list[list[int]] = []
    for offset, length in sorted(runs):
        if merged and offset <= merged[-1][0] + merged[-1][1]:
            end = max(merged[-1][0] + merged[-1][1], offset + length)
            merged[-1][1] = end - merged[-1][0]
        else:
            merged.append([offset, length])
    return [(offset, length) for offset, length in merged]


def parse_extents(text: str) -> list[Extent]:
    """``"o:l,o:l"`` -> extents; raises ValueError on anything else."""
    extents: list[Extent] = []
    for item in filter(None, text.split(",")):
        offset, _, length = item.partition(":")
        if not offset.strip().isdigit() or not length.strip().isdigit():
            raise ValueError(f"'{item}' is not an extent of the form offset:length")
        extents.append((int(offset), int(length)))
    return extents


def parse_previous(items: Iterable[str]) -> dict[tuple[str, str], str]:
    """``'vmid/diskid=cutid'`` tokens -> ``{(vmid, diskid): cutid}`` (ids lower-cased)."""
    previous: dict[tuple[str, str], str] = {}
    for item in items:
        key, equals, cut_id = item.partition("=")
        vm_id, slash, disk_id = key.partition("/")
        if not equals or not slash:
            raise ValueError(f"'{item}' is not of the form vmid/diskid=cutid")
        previous[(vm_id.strip().lower(), disk_id.strip().lower())] = cut_id
    return previous


def agent_error(message: str, target: str = "") -> VirtualizationError:
    return VirtualizationError(
        message, error_id="SrpAgentError", target=target, exception="SrpAgentException"
    )


class SrpAgent:
    """The agent installed on one fake host."""

    def __init__(self, host: HyperVHost) -> None:
        self._host = host
        self._chains: dict[tuple[str, str], _DiskChain] = {}
        self._tracked: set[str] = set()
        self._counter = 0

    # -- tracking ----------------------------------------------------------------------

    def is_tracking(self, vm: VirtualMachine) -> bool:
        return vm.vm_id in self._tracked

    def enable_tracking(self, vm: VirtualMachine) -> str:
        """Turn tracking on for every disk of ``vm``; return the base cut id (idempotent)."""
        if vm.replication is not None:
            raise agent_error(
                f"Virtual machine '{vm.name}' is protected by Hyper-V Replica; srp change "
                "tracking cannot be enabled on it.",
                vm.name,
            )
        if self.is_tracking(vm):
            return self._chain(vm, 0).records[0].cut_id
        self._counter += 1
        base_id = f"base-{vm.vm_id}-{self._counter}"
        for drive in vm.drives:
            disk = drive.vhd.disk
            disk.enable_tracking()
            disk.snapshot(f"{base_id}#{self._counter}").release()
            chain = _DiskChain(vm.vm_id, disk.disk_id, [_CutRecord(base_id, [], None)])
            self._chains[(vm.vm_id, disk.disk_id.lower())] = chain
        self._tracked.add(vm.vm_id)
        return base_id

    def disable_tracking(self, vm: VirtualMachine) -> None:
        """Turn tracking off and drop every cut of ``vm`` (no-op if not tracked)."""
        for drive in vm.drives:
            drive.vhd.disk.disable_tracking()
        self.forget(vm)

    def forget(self, vm: VirtualMachine) -> None:
        """Drop the records of a VM (disabled, or removed from the host)."""
        for key in [key for key, chain in self._chains.items() if chain.vm_id == vm.vm_id]:
            self._chains.pop(key).release_all()
        self._tracked.discard(vm.vm_id)

    def disk_ids(self, vm: VirtualMachine) -> list[str]:
        return [drive.vhd.disk.disk_id for drive in vm.drives]

    def _chain(self, vm: VirtualMachine, index: int) -> _DiskChain:
        disk_id = vm.drives[index].vhd.disk.disk_id
        return self._chains[(vm.vm_id, disk_id.lower())]

    # -- cuts --------------------------------------------------------------------------

    def new_cut(
        self,
        vms: list[VirtualMachine],
        cut_id: str,
        consistency: str,
        previous: dict[tuple[str, str], str],
    ) -> CutResult:
        """Take one consistent cut across the disks of ``vms``."""
        self._check_new_cut(vms, cut_id)
        achieved, note = self._quiesce(vms, consistency)
        self._counter += 1
        # The disk keeps every snapshot id forever; a private suffix keeps ours unique even
        # when a consumer reuses a cut id after Disable/Enable.
        snapshot_id = f"{cut_id}#{self._counter}"
        disks: list[DiskCut] = []
        for vm in vms:
            for index, drive in enumerate(vm.drives):
                chain = self._chain(vm, index)
                snapshot = drive.vhd.disk.snapshot(snapshot_id)
                wanted = previous.get((vm.vm_id, drive.vhd.disk.disk_id.lower()), "")
                disks.append(self._disk_cut(chain, cut_id, snapshot, wanted))
        taken_at = int(self._host.now())
        return CutResult(cut_id, taken_at, achieved, note, tuple(disks))

    def _check_new_cut(self, vms: list[VirtualMachine], cut_id: str) -> None:
        if not cut_id:
            raise agent_error("The cut id must not be empty.")
        for vm in vms:
            if not self.is_tracking(vm):
                raise agent_error(
                    f"Change tracking is not enabled for virtual machine '{vm.name}'. Run "
                    "Enable-SrpChangeTracking first.",
                    vm.name,
                )
        if any(chain.index_of(cut_id) is not None for chain in self._chains.values()):
            raise agent_error(f"A cut with id '{cut_id}' already exists.", cut_id)

    def _quiesce(self, vms: list[VirtualMachine], consistency: str) -> tuple[str, str]:
        """Simulated VSS: application consistency unless the quiesce fault is set."""
        if consistency != "Application":
            return "Crash", ""
        running = [vm for vm in vms if vm.state is VMState.Running]
        failure = self._host.faults.vss_failure
        if running and failure:
            return "Crash", f"VSS quiesce failed: {failure}"
        return "Application", ""

    def _disk_cut(
        self, chain: _DiskChain, cut_id: str, snapshot: DiskSnapshot, wanted: str
    ) -> DiskCut:
        delta = snapshot.changed_extents() if snapshot.incremental else None
        start = chain.index_of(wanted) if wanted else None
        record = _CutRecord(cut_id, delta, snapshot)
        if delta is None:
            chain.release_all()
            chain.records = [record]
        else:
            chain.records.append(record)

        def cut(mode: str, extents: list[Extent], reason: str) -> DiskCut:
            return DiskCut(
                chain.vm_id, chain.disk_id, snapshot.capacity, mode, tuple(extents), reason
            )

        allocated = snapshot.allocated_extents()
        if not wanted:
            return cut("Full", allocated, "no previous cut was given")
        if delta is None:
            return cut("Resync", allocated, snapshot.reason)
        if start is None:
            reason = f"previous cut '{wanted}' is not known to the agent for this disk"
            return cut("Resync", allocated, reason)
        changes = merge_extents(
            extent for later in chain.records[start + 1 :] for extent in later.delta or []
        )
        if sum(length for _, length in changes) > snapshot.capacity // 2:
            reason = "tracked changes exceed half the disk size; resynchronize"
            return cut("Resync", allocated, reason)
        return cut("Incremental", changes, "")

    def confirm(self, cut_id: str) -> None:
        """The cut's content is now the consumer's base: drop what came before it."""
        chains = self._chains_with(cut_id)
        for chain in chains:
            index = chain.index_of(cut_id)
            assert index is not None
            for record in chain.records[: index + 1]:
                if record.snapshot is not None:
                    record.snapshot.release()
                    record.snapshot = None
            chain.records = chain.records[index:]

    def remove(self, cut_id: str) -> None:
        """Release the cut's snapshot; its changes stay in the chain for the next cut."""
        for chain in self._chains_with(cut_id):
            index = chain.index_of(cut_id)
            assert index is not None
            record = chain.records[index]
            if record.snapshot is not None:
                record.snapshot.release()
                record.snapshot = None

    def _chains_with(self, cut_id: str) -> list[_DiskChain]:
        chains = [chain for chain in self._chains.values() if chain.index_of(cut_id) is not None]
        if not chains:
            raise agent_error(f"Cut '{cut_id}' was not found.", cut_id)
        return chains

    # -- reading a cut -----------------------------------------------------------------

    def _open_snapshot(self, cut_id: str, vm_id: str, disk_id: str) -> DiskSnapshot:
        chain = self._chains.get((vm_id.strip("{}").lower(), disk_id.lower()))
        if chain is None:
            raise agent_error(
                f"Disk '{disk_id}' of virtual machine '{vm_id}' is not tracked by the agent.",
                disk_id,
            )
        index = chain.index_of(cut_id)
        snapshot = chain.records[index].snapshot if index is not None else None
        if snapshot is None:
            raise agent_error(
                f"Cut '{cut_id}' is not available on disk '{disk_id}': it does not exist, or "
                "it was confirmed or removed.",
                cut_id,
            )
        return snapshot

    def read(self, cut_id: str, vm_id: str, disk_id: str, extents: list[Extent]) -> bytes:
        """The bytes of ``extents`` at the cut, concatenated."""
        snapshot = self._open_snapshot(cut_id, vm_id, disk_id)
        total = sum(length for _, length in extents)
        if total > MAX_READ_BYTES:
            raise agent_error(
                f"Read-SrpCutExtent reads at most {MAX_READ_BYTES} bytes per call; "
                f"{total} were asked.",
                cut_id,
            )
        for offset, length in extents:
            if offset + length > snapshot.capacity:
                raise agent_error(
                    f"The extent {offset}:{length} ends past the end of disk '{disk_id}' "
                    f"({snapshot.capacity} bytes).",
                    disk_id,
                )
        return b"".join(snapshot.read(offset, length) for offset, length in extents)

    def digests(
        self, cut_id: str, vm_id: str, disk_id: str, block_size: int, offset: int, count: int
    ) -> bytes:
        """``count`` SHA-256 digests of ``block_size`` blocks from ``offset``, concatenated."""
        snapshot = self._open_snapshot(cut_id, vm_id, disk_id)
        if block_size <= 0 or block_size % SECTOR or offset % SECTOR or count < 0:
            raise agent_error(
                f"The block size ({block_size}) and offset ({offset}) must be multiples of "
                f"{SECTOR} bytes and the count ({count}) must not be negative.",
                disk_id,
            )
        if offset + block_size * count > snapshot.capacity:
            raise agent_error(
                f"{count} blocks of {block_size} bytes from offset {offset} end past the end "
                f"of disk '{disk_id}' ({snapshot.capacity} bytes).",
                disk_id,
            )
        return b"".join(
            hashlib.sha256(snapshot.read(offset + i * block_size, block_size)).digest()
            for i in range(count)
        )

    # -- writing a disk (reverse replication, failback) --------------------------------

    def write(self, vm: VirtualMachine, disk_id: str, offset: int, data: bytes) -> str:
        """Write ``data`` at ``offset`` of a disk of a stopped VM; the SHA-256 hex read back.

        The write goes through the disk like a guest's, so change tracking
        sees it and the next cut carries it forward.
        """
        if vm.state is not VMState.Off:
            raise agent_error(
                f"Virtual machine '{vm.name}' is {vm.state.name}; Write-SrpDiskExtent writes "
                "only to the disks of a virtual machine that is off.",
                vm.name,
            )
        disk = next((d for d in vm.disks if d.disk_id.lower() == disk_id.lower()), None)
        if disk is None:
            raise agent_error(f"Virtual machine '{vm.name}' has no disk '{disk_id}'.", disk_id)
        _check_write(disk_id, disk.capacity, offset, len(data))
        disk.write(offset, data)
        return hashlib.sha256(disk.read(offset, len(data))).hexdigest()


def _check_write(disk_id: str, capacity: int, offset: int, length: int) -> None:
    if not 0 < length <= MAX_WRITE_BYTES:
        raise agent_error(
            f"Write-SrpDiskExtent writes 1 to {MAX_WRITE_BYTES} bytes per call; {length} were "
            "given.",
            disk_id,
        )
    if offset + length > capacity:
        raise agent_error(
            f"The extent {offset}:{length} ends past the end of disk '{disk_id}' "
            f"({capacity} bytes).",
            disk_id,
        )
