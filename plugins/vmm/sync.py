"""Replica sync for VMs of VMM clouds: the SrpAgent on the host where each VM runs.

Each operation is the hyperv plugin's (:mod:`plugins.hyperv.sync`), sent to
the VM's host (:mod:`plugins.vmm.hosts` says why hosts are reached
directly). A VM not found on its host may have moved: VMM is asked where it
is now and the operation is tried once more there (its change tracking
starts over on the new host, so the agent asks for a resynchronization).

A cut across machines on several hosts is taken host by host, back to back,
with one cut id; if one host fails, the cuts already taken are released
unconfirmed (their changes stay pending) before the error is raised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TypeVar

from plugins.hyperv import sync as host_sync
from plugins.hyperv.client import HyperVClient
from plugins.vmm.locator import Locator
from provider.contracts.connection import FabricConnection
from provider.contracts.replica import BlockDigest, Cut, CutRequest, ExtentData, TrackingInfo
from provider.errors import FabricError, MachineNotFound
from provider.model.inventory import Machine
from provider.model.recovery import Consistency

_T = TypeVar("_T")


def on_host(
    locator: Locator,
    connection: FabricConnection,
    machine: Machine,
    operation: Callable[[HyperVClient], _T],
) -> _T:
    """Run ``operation`` on the machine's host; once more on its new host if it moved."""
    host = locator.host_of(connection, machine.machine_id, machine.host)
    try:
        return operation(locator.host_client(connection, host))
    except MachineNotFound:
        moved = locator.relocate(connection).get(machine.machine_id.lower())
        if moved is None or moved.lower() == host.lower():
            raise
        return operation(locator.host_client(connection, moved))


def enable_tracking(
    locator: Locator, connection: FabricConnection, machine: Machine
) -> TrackingInfo:
    return on_host(
        locator, connection, machine, lambda client: host_sync.enable_tracking(client, machine)
    )


def disable_tracking(locator: Locator, connection: FabricConnection, machine: Machine) -> None:
    on_host(
        locator, connection, machine, lambda client: host_sync.disable_tracking(client, machine)
    )


def capture_cut(locator: Locator, connection: FabricConnection, request: CutRequest) -> Cut:
    """One cut across the request's machines, wherever they run."""
    try:
        return _capture(locator, connection, request)
    except MachineNotFound:
        before = _hosts_of(locator, connection, request.machines)
        locator.relocate(connection)
        if _hosts_of(locator, connection, request.machines) == before:
            raise
        return _capture(locator, connection, request)


def _hosts_of(
    locator: Locator, connection: FabricConnection, machines: Sequence[Machine]
) -> dict[str, list[Machine]]:
    """The request's machines grouped by host (in the request's order)."""
    grouped: dict[str, list[Machine]] = {}
    for machine in machines:
        host = locator.host_of(connection, machine.machine_id, machine.host)
        grouped.setdefault(host, []).append(machine)
    return grouped


def _capture(locator: Locator, connection: FabricConnection, request: CutRequest) -> Cut:
    taken: list[tuple[HyperVClient, Cut]] = []
    try:
        for host, machines in _hosts_of(locator, connection, request.machines).items():
            client = locator.host_client(connection, host)
            taken.append((client, host_sync.capture_cut(client, _part(request, machines))))
    except FabricError:
        for client, cut in taken:
            _release_quietly(client, cut)
        raise
    return _merged(request, [cut for _, cut in taken])


def _part(request: CutRequest, machines: list[Machine]) -> CutRequest:
    ids = {machine.machine_id for machine in machines}
    previous = tuple(marker for marker in request.previous if marker.machine_id in ids)
    return replace(request, machines=tuple(machines), previous=previous)


def _release_quietly(client: HyperVClient, cut: Cut) -> None:
    """Best effort: the error being raised matters more than a failed clean-up."""
    try:
        host_sync.release_cut(client, cut, confirmed=False)
    except FabricError:
        return


def _merged(request: CutRequest, cuts: list[Cut]) -> Cut:
    if len(cuts) == 1:
        return cuts[0]
    consistent = all(cut.consistency is Consistency.APP for cut in cuts)
    notes = [cut.note for cut in cuts if cut.note]
    return Cut(
        cut_id=request.cut_id,
        taken_at=max(cut.taken_at for cut in cuts),
        consistency=Consistency.APP if consistent else Consistency.CRASH,
        disks=tuple(disk for cut in cuts for disk in cut.disks),
        note="; ".join(notes),
    )


def read_extents(
    locator: Locator,
    connection: FabricConnection,
    cut: Cut,
    machine_id: str,
    disk_id: str,
    extents: Sequence[tuple[int, int]],
) -> Iterator[ExtentData]:
    client = locator.host_client(connection, locator.host_of(connection, machine_id))
    return host_sync.read_extents(client, cut, machine_id, disk_id, extents)


def block_digests(
    locator: Locator,
    connection: FabricConnection,
    cut: Cut,
    machine_id: str,
    disk_id: str,
    block_size: int,
) -> Iterator[BlockDigest]:
    client = locator.host_client(connection, locator.host_of(connection, machine_id))
    return host_sync.block_digests(client, cut, machine_id, disk_id, block_size)


def release_cut(locator: Locator, connection: FabricConnection, cut: Cut, confirmed: bool) -> None:
    """Release the cut on every host that took part in it."""
    machine_ids = dict.fromkeys(changes.machine_id for changes in cut.disks)
    hosts = dict.fromkeys(locator.host_of(connection, vm_id).lower() for vm_id in machine_ids)
    for host in hosts:
        host_sync.release_cut(locator.host_client(connection, host), cut, confirmed)


def write_extents(
    locator: Locator,
    connection: FabricConnection,
    machine: Machine,
    disk_id: str,
    extents: Sequence[ExtentData],
) -> None:
    """Reverse replication and failback write back on the host where the VM is now."""
    on_host(
        locator,
        connection,
        machine,
        lambda client: host_sync.write_extents(client, machine, disk_id, extents),
    )
