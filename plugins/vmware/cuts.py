"""Consistent cuts on vCenter: one snapshot per VM, CBT change ids, release.

A cut snapshots every VM of the request back to back (all tasks issued
before any is awaited). Asked for APP, the snapshots are quiesced; when any
VM fails to quiesce, every snapshot of the cut is removed and the whole cut
is taken again crash-consistent, with a note saying why (a group's point is
only as consistent as its weakest member).

Per disk: no previous cut -> FULL with the allocated areas
(``changeId="*"``); a previous cut whose change id is known and still valid
-> INCREMENTAL with the areas changed since; CBT reset, change id refused,
CBT off or the change id unknown -> RESYNC with the reason.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from plugins.vmware import vim
from plugins.vmware.changeids import ChangeIdBook, OpenCut, OpenDisk
from plugins.vmware.client import VSphereClient, VSphereFault
from provider.contracts.replica import ChangeMode, Cut, CutRequest, DiskChanges, TrackingInfo
from provider.errors import FabricUnreachable, MachineNotFound, RemoteCommandFailed, SrpError
from provider.model.inventory import Machine
from provider.model.recovery import Consistency


def enable_tracking(client: VSphereClient, machine: Machine) -> TrackingInfo:
    """Turn CBT on (idempotent); the first cut of each disk is a full copy."""
    if not vim.change_tracking_enabled(client, machine.machine_id):
        vim.set_change_tracking(client, machine.machine_id, True)
    return TrackingInfo(machine.machine_id, "", tuple(disk.disk_id for disk in machine.disks))


def disable_tracking(client: VSphereClient, book: ChangeIdBook, machine: Machine) -> None:
    """Turn CBT off; a VM that is gone needs nothing more."""
    book.forget_machine(client.connection.fabric_id, machine.machine_id)
    with contextlib.suppress(MachineNotFound):
        vim.set_change_tracking(client, machine.machine_id, False)


@dataclass(frozen=True)
class _Snapshots:
    ids: dict[str, str]
    taken_at: float
    consistency: Consistency
    note: str = ""


class _QuiesceFailed(Exception):
    def __init__(self, failures: list[tuple[Machine, SrpError]]) -> None:
        super().__init__("quiesce failed")
        self.failures = failures


def capture_cut(client: VSphereClient, book: ChangeIdBook, request: CutRequest) -> Cut:
    """Snapshot every VM of the request and report each disk's changes."""
    snapshots = _take(
        client, request.machines, request.cut_id, request.consistency is Consistency.APP
    )
    try:
        disks = _describe(client, book, request, snapshots.ids)
    except BaseException:
        _remove_all(client, snapshots.ids.items())
        raise
    book.opened(
        client.connection.fabric_id,
        OpenCut(request.cut_id, tuple(snapshots.ids.items()), tuple(d for _, d in disks)),
    )
    return Cut(
        request.cut_id,
        snapshots.taken_at,
        snapshots.consistency,
        tuple(c for c, _ in disks),
        snapshots.note,
    )


def _take(
    client: VSphereClient, machines: Sequence[Machine], cut_id: str, quiesce: bool
) -> _Snapshots:
    try:
        ids, taken_at = _snapshot_all(client, machines, cut_id, quiesce)
        return _Snapshots(ids, taken_at, Consistency.APP if quiesce else Consistency.CRASH)
    except _QuiesceFailed as failed:
        ids, taken_at = _snapshot_all(client, machines, cut_id, False)
        reasons = "; ".join(f"{m.name}: {e.message}" for m, e in failed.failures)
        note = f"quiesced snapshot failed ({reasons}); the point is crash-consistent"
        return _Snapshots(ids, taken_at, Consistency.CRASH, note)


def _snapshot_all(
    client: VSphereClient, machines: Sequence[Machine], cut_id: str, quiesce: bool
) -> tuple[dict[str, str], float]:
    started: list[tuple[Machine, Any, str]] = []
    start_error: SrpError | None = None
    for machine in machines:
        try:
            started.append((machine, *_start(client, machine.machine_id, cut_id, quiesce)))
        except SrpError as exc:
            start_error = exc
            break
    ids, times, failures = _await_all(client, started)
    if start_error is None and not failures:
        return ids, max(times)
    _remove_all(client, ids.items())
    for machine, error in failures:
        if not isinstance(error, vim.TaskFailed):
            _discard_named(client, machine.machine_id, cut_id)
    if start_error is not None:
        raise start_error
    if quiesce and all(
        isinstance(e, vim.TaskFailed) and e.fault_type in vim.QUIESCE_FAULTS for _, e in failures
    ):
        raise _QuiesceFailed(failures)
    raise failures[0][1]


def _await_all(
    client: VSphereClient, started: list[tuple[Machine, Any, str]]
) -> tuple[dict[str, str], list[float], list[tuple[Machine, SrpError]]]:
    ids: dict[str, str] = {}
    times: list[float] = []
    failures: list[tuple[Machine, SrpError]] = []
    for machine, task, existing in started:
        if existing:
            ids[machine.machine_id] = existing
            continue
        try:
            done = vim.wait_task(client, task, f"snapshot {machine.name} ({machine.machine_id})")
        except SrpError as exc:
            failures.append((machine, exc))
            continue
        ids[machine.machine_id] = done.result
        times.append(done.completed_at)
    return ids, times or [0.0], failures


def _start(client: VSphereClient, vm_id: str, cut_id: str, quiesce: bool) -> tuple[Any, str]:
    """Issue the snapshot; after a dropped connection, look before trying again."""
    for attempt in range(client.retry.attempts):
        try:
            return vim.start_snapshot(client, vm_id, cut_id, quiesce), ""
        except FabricUnreachable:
            if attempt + 1 >= client.retry.attempts:
                raise
            client.sleep(min(client.retry.max_wait, client.retry.initial_wait * 2**attempt))
            existing = vim.snapshot_named(client, vm_id, cut_id)
            if existing:
                return None, existing
    raise RemoteCommandFailed(f"vCenter {client.vcenter}: snapshot of {vm_id}: no attempt made")


def _describe(
    client: VSphereClient, book: ChangeIdBook, request: CutRequest, ids: dict[str, str]
) -> list[tuple[DiskChanges, OpenDisk]]:
    described = []
    for machine in request.machines:
        snapshot_id = ids[machine.machine_id]
        frozen = vim.snapshot_disks(client, snapshot_id)
        datacenter = datacenter_name(client, machine.container_id)
        if any(not disk.change_id for disk in frozen.values()):
            vim.set_change_tracking(client, machine.machine_id, True)  # someone turned CBT off
        for disk in machine.disks:
            snapshot_disk = _frozen_disk(client, machine, frozen, disk.disk_id)
            changes = _changes(client, book, request, machine, snapshot_id, snapshot_disk)
            described.append(
                (changes, OpenDisk(machine.machine_id, snapshot_id, snapshot_disk, datacenter))
            )
    return described


def _frozen_disk(
    client: VSphereClient, machine: Machine, frozen: dict[int, vim.SnapshotDisk], disk_id: str
) -> vim.SnapshotDisk:
    found = frozen.get(int(disk_id)) if disk_id.isdigit() else None
    if found is None:
        raise RemoteCommandFailed(
            f"vCenter {client.vcenter}: VM {machine.name} ({machine.machine_id}) no longer "
            f"has disk {disk_id}",
            hint="refresh the fabric; a disk added or removed needs protection re-enabled",
        )
    return found


def datacenter_name(client: VSphereClient, datacenter_id: str) -> str:
    """The datacenter's name: the ``dcPath`` of datastore file URLs."""
    detail = client.rest_get(
        f"get datacenter {datacenter_id}", f"/api/vcenter/datacenter/{datacenter_id}"
    )
    name = detail.get("name") if isinstance(detail, dict) else None
    if not isinstance(name, str) or not name:
        raise RemoteCommandFailed(
            f"vCenter {client.vcenter}: datacenter {datacenter_id} has no name"
        )
    return name


def _changes(
    client: VSphereClient,
    book: ChangeIdBook,
    request: CutRequest,
    machine: Machine,
    snapshot_id: str,
    disk: vim.SnapshotDisk,
) -> DiskChanges:
    disk_id, vm_id = str(disk.key), machine.machine_id
    previous = request.previous_cut(vm_id, disk_id)
    where = f"VM {machine.name} ({vm_id}) disk {disk_id}"
    if not previous:
        return DiskChanges(
            vm_id,
            disk_id,
            disk.capacity,
            ChangeMode.FULL,
            tuple(_allocated(client, vm_id, snapshot_id, disk)),
        )
    base = book.change_id(client.connection.fabric_id, vm_id, disk_id, previous)
    reason = _untrusted(where, previous, base, disk.change_id)
    if not reason:
        try:
            extents = vim.changed_areas(client, vm_id, snapshot_id, disk, base)
            return DiskChanges(
                vm_id, disk_id, disk.capacity, ChangeMode.INCREMENTAL, tuple(extents)
            )
        except VSphereFault as exc:
            if not vim.is_invalid_change_id(exc):
                raise
            reason = (
                f"{where}: vCenter refused CBT change id {base!r} ({exc.fault_type}); resynchronize"
            )
    return DiskChanges(vm_id, disk_id, disk.capacity, ChangeMode.RESYNC, (), reason)


def _untrusted(where: str, previous: str, base: str, current: str) -> str:
    """Why the changes since ``previous`` cannot be asked of CBT, or ``""``."""
    if not current:
        return f"{where}: CBT was off at this snapshot; resynchronize"
    if not base:
        return (
            f"{where}: no CBT change id is known for cut {previous!r} (the service "
            "restarted?); resynchronize"
        )
    if base.rpartition("/")[0] != current.rpartition("/")[0]:
        return f"{where}: CBT was reset; change id {base!r} is no longer valid; resynchronize"
    return ""


def _allocated(
    client: VSphereClient, vm_id: str, snapshot_id: str, disk: vim.SnapshotDisk
) -> list[tuple[int, int]]:
    """Allocated areas; without CBT at this snapshot, the whole disk."""
    if not disk.change_id:
        return [(0, disk.capacity)]
    return vim.changed_areas(client, vm_id, snapshot_id, disk, "*")


def release_cut(client: VSphereClient, book: ChangeIdBook, cut: Cut, confirmed: bool) -> None:
    """Remove the cut's snapshots; confirmed, its change ids become the next bases."""
    opened = book.close(client.connection.fabric_id, cut.cut_id, confirmed)
    if opened is not None:
        _remove_all(client, opened.snapshots, strict=True)
        return
    for vm_id in dict.fromkeys(changes.machine_id for changes in cut.disks):
        _discard_named(client, vm_id, cut.cut_id, strict=True)


def _remove_all(client: VSphereClient, snapshots: Any, strict: bool = False) -> None:
    """Remove snapshots; a VM or snapshot already gone is fine; others fail when strict."""
    for _, snapshot_id in snapshots:
        try:
            vim.remove_snapshot(client, snapshot_id)
        except MachineNotFound:
            continue
        except VSphereFault as exc:
            if exc.fault_type != "ManagedObjectNotFound" and strict:
                raise
        except SrpError:
            if strict:
                raise


def _discard_named(client: VSphereClient, vm_id: str, cut_id: str, strict: bool = False) -> None:
    try:
        snapshot_id = vim.snapshot_named(client, vm_id, cut_id)
    except MachineNotFound:
        return
    except SrpError:
        if strict:
            raise
        return
    if snapshot_id:
        _remove_all(client, [(vm_id, snapshot_id)], strict)


def open_disk(
    client: VSphereClient, book: ChangeIdBook, cut: Cut, vm_id: str, disk_id: str
) -> OpenDisk:
    """Where a cut's disk is frozen: from the book, else found again on vCenter by name."""
    opened = book.open_cut(client.connection.fabric_id, cut.cut_id)
    found = opened.disk(vm_id, disk_id) if opened is not None else None
    return found if found is not None else _locate(client, cut.cut_id, vm_id, disk_id)


def _locate(client: VSphereClient, cut_id: str, vm_id: str, disk_id: str) -> OpenDisk:
    where = f"vCenter {client.vcenter}: cut {cut_id!r} of {vm_id}"
    snapshot_id = vim.snapshot_named(client, vm_id, cut_id)
    if not snapshot_id:
        raise RemoteCommandFailed(f"{where}: its snapshot no longer exists (released?)")
    disk = vim.snapshot_disks(client, snapshot_id).get(int(disk_id)) if disk_id.isdigit() else None
    if disk is None:
        raise RemoteCommandFailed(f"{where}: the snapshot has no disk {disk_id}")
    return OpenDisk(vm_id, snapshot_id, disk, _datacenter_of_vm(client, vm_id))


def _datacenter_of_vm(client: VSphereClient, vm_id: str) -> str:
    for row in client.rest_get("list datacenters", "/api/vcenter/datacenter") or []:
        scope = {"datacenters": row.get("datacenter"), "vms": vm_id}
        if client.rest_get(f"find the datacenter of {vm_id}", "/api/vcenter/vm", scope):
            return str(row.get("name"))
    raise MachineNotFound(f"vCenter {client.vcenter}: {vm_id} is in no datacenter (deleted?)")
