"""The ``vmware`` plugin's hook implementations (entry point ``vmware`` in group ``srp``).

It serves two fabric kinds: ``vmware`` (a vCenter: REST and JSON APIs, CBT,
snapshots; failback data written through an on-premises master target) and
``physical`` (a server running the mobility service; never written back to). The
core dispatches by kind to this plugin; each hook then hands the work to
the module of the kind it was called for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from plugins.vmware import create, cuts, discovery, mastertarget, physical, power, reads
from plugins.vmware.changeids import ChangeIdBook
from plugins.vmware.client import ClientPool
from plugins.vmware.kinds import PHYSICAL, VMWARE
from plugins.vmware.mobility import MobilityPool
from provider.contracts.connection import FabricConnection, FabricIdentity
from provider.contracts.declarations import FabricKind
from provider.contracts.failover import AlternateMachine, PreparedSource
from provider.contracts.replica import BlockDigest, Cut, CutRequest, ExtentData, TrackingInfo
from provider.errors import NotSupported
from provider.hookspecs import hookimpl
from provider.model.inventory import Inventory, Machine

CLIENTS = ClientPool()
AGENTS = MobilityPool()
BOOK = ChangeIdBook()
MASTER_TARGETS = mastertarget.MasterTargetPool()


def _physical(connection: FabricConnection) -> bool:
    return connection.kind == PHYSICAL.kind


@hookimpl
def srp_fabric_kinds() -> Sequence[FabricKind]:
    return (VMWARE, PHYSICAL)


@hookimpl
def srp_connect(connection: FabricConnection) -> FabricIdentity:
    if _physical(connection):
        return physical.identify(AGENTS.get(connection))
    return discovery.identify(CLIENTS.get(connection))


@hookimpl
def srp_discover(connection: FabricConnection) -> Inventory:
    if _physical(connection):
        return physical.discover(AGENTS.get(connection))
    return discovery.discover(CLIENTS.get(connection))


@hookimpl
def srp_disconnect(connection: FabricConnection) -> None:
    if _physical(connection):
        AGENTS.drop(connection)
    else:
        CLIENTS.drop(connection)
        MASTER_TARGETS.drop(connection)


@hookimpl
def srp_enable_tracking(connection: FabricConnection, machine: Machine) -> TrackingInfo:
    if _physical(connection):
        return physical.enable_tracking(AGENTS.get(connection), machine)
    return cuts.enable_tracking(CLIENTS.get(connection), machine)


@hookimpl
def srp_disable_tracking(connection: FabricConnection, machine: Machine) -> None:
    if _physical(connection):
        physical.disable_tracking(AGENTS.get(connection), machine)
    else:
        cuts.disable_tracking(CLIENTS.get(connection), BOOK, machine)


@hookimpl
def srp_capture_cut(connection: FabricConnection, request: CutRequest) -> Cut:
    if _physical(connection):
        return physical.capture_cut(AGENTS.get(connection), request)
    return cuts.capture_cut(CLIENTS.get(connection), BOOK, request)


@hookimpl
def srp_read_extents(
    connection: FabricConnection,
    cut: Cut,
    machine_id: str,
    disk_id: str,
    extents: Sequence[tuple[int, int]],
) -> Iterator[ExtentData]:
    if _physical(connection):
        return physical.read_extents(AGENTS.get(connection), cut, disk_id, extents)
    client = CLIENTS.get(connection)
    return reads.read_extents(
        client, cuts.open_disk(client, BOOK, cut, machine_id, disk_id), extents
    )


@hookimpl
def srp_block_digests(
    connection: FabricConnection, cut: Cut, machine_id: str, disk_id: str, block_size: int
) -> Iterator[BlockDigest]:
    if _physical(connection):
        return physical.block_digests(AGENTS.get(connection), cut, disk_id, block_size)
    client = CLIENTS.get(connection)
    return reads.block_digests(
        client, cuts.open_disk(client, BOOK, cut, machine_id, disk_id), block_size
    )


@hookimpl
def srp_release_cut(connection: FabricConnection, cut: Cut, confirmed: bool) -> None:
    if _physical(connection):
        physical.release_cut(AGENTS.get(connection), cut, confirmed)
    else:
        cuts.release_cut(CLIENTS.get(connection), BOOK, cut, confirmed)


@hookimpl
def srp_prepare_failover(connection: FabricConnection, machine: Machine) -> PreparedSource:
    if _physical(connection):
        raise NotSupported(
            f"physical server {machine.name}: planned failover is not supported for physical "
            "servers; use unplanned failover"
        )
    # Planned failover of a VM to the cloud is refused by the core's rules, so only reverse
    # replication and failback stop a VM here: both need the master target and the cloud's
    # process server, checked before the VM is touched (a vanished VM still says so first).
    client = CLIENTS.get(connection)
    power.power_state(client, machine)
    mastertarget.require_failback_setup(connection, machine)
    return power.shut_down(client, machine)


@hookimpl
def srp_write_extents(
    connection: FabricConnection, machine: Machine, disk_id: str, extents: Sequence[ExtentData]
) -> None:
    if _physical(connection):
        raise NotSupported(
            f"physical server {machine.name}: srp never writes back to a physical server; "
            "failback goes to VMware only (fail back to a VMware VM)"
        )
    power.power_state(CLIENTS.get(connection), machine)  # MachineNotFound when it is gone
    mastertarget.write_extents(MASTER_TARGETS, connection, machine, disk_id, extents)


@hookimpl
def srp_resume_source(connection: FabricConnection, machine: Machine) -> None:
    if _physical(connection):
        raise NotSupported(
            f"physical server {machine.name}: srp cannot power a physical server on; "
            "failback goes to VMware only"
        )
    power.start(CLIENTS.get(connection), machine)


@hookimpl
def srp_create_machine(connection: FabricConnection, spec: AlternateMachine) -> Machine:
    if _physical(connection):
        raise NotSupported(
            f"physical server {connection.address}: srp cannot create a machine on a physical "
            "server; fail back to a new VM on a vmware fabric"
        )
    return create.create_machine(CLIENTS.get(connection), spec)


@hookimpl
def srp_check_failback(connection: FabricConnection, machine: Machine) -> None:
    if _physical(connection):
        raise NotSupported(
            f"physical server {machine.name}: srp never writes back to a physical server; "
            "failback goes to VMware only (fail back to a new VM on a vmware fabric)"
        )
    mastertarget.require_failback_setup(connection, machine)
