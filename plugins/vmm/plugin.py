"""The ``vmm`` plugin's hook implementations (entry point ``vmm`` in group ``srp``).

The fabric is a VMM server: connect and discover talk to it (clouds are the
protection containers); replica sync and source power run on the Hyper-V
host of each VM, reached with the VMM registration's account
(:mod:`plugins.vmm.hosts`). :func:`vmm_fabric` gives what the inventory
cannot hold: each cloud's VM networks and capacity, for network mapping and
failover validation. The ``vmm-replica`` target's native hooks and its
network listing go to :mod:`plugins.vmm.native` (Hyper-V Replica between
two VMM clouds).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from plugins.hyperv import native as hyperv_native
from plugins.hyperv.client import ClientPool
from plugins.vmm import discovery, native, power, sync
from plugins.vmm.kinds import VMM, VMM_REPLICA
from plugins.vmm.locator import Locator, server_name, server_port
from plugins.vmm.model import VmmFabric
from provider.contracts.connection import FabricConnection, FabricIdentity, TargetConnection
from provider.contracts.declarations import FabricKind, TargetKind
from provider.contracts.failover import CleanupResult, PreparedSource
from provider.contracts.native import (
    NativeFailover,
    NativeFailoverResult,
    NativeGroupState,
    NativePoint,
    NativeProtection,
)
from provider.contracts.replica import BlockDigest, Cut, CutRequest, ExtentData, TrackingInfo
from provider.hookspecs import hookimpl
from provider.model.inventory import Inventory, Machine, Network

LOCATOR = Locator()
#: The vmm-replica targets: their secondary VMM servers, their hosts and one group book.
REPLICA = native.VmmReplica(
    Locator(), hyperv_native.NativeSides(ClientPool(), hyperv_native.GroupBook())
)


def vmm_fabric(connection: FabricConnection) -> VmmFabric:
    """The VMM server's fabric now (one round trip): clouds with networks and capacity."""
    client = LOCATOR.server(connection)
    fabric = discovery.read_fabric(client, server_name(connection), server_port(connection))
    LOCATOR.remember(connection, fabric)
    return fabric


@hookimpl
def srp_fabric_kinds() -> Sequence[FabricKind]:
    return (VMM,)


@hookimpl
def srp_target_kinds() -> Sequence[TargetKind]:
    return (VMM_REPLICA,)


@hookimpl
def srp_connect(connection: FabricConnection) -> FabricIdentity:
    client = LOCATOR.server(connection)
    return discovery.identify(client, server_name(connection), server_port(connection))


@hookimpl
def srp_discover(connection: FabricConnection) -> Inventory:
    fabric = vmm_fabric(connection)
    return discovery.discover(fabric, lambda host: LOCATOR.host_client(connection, host))


@hookimpl
def srp_disconnect(connection: FabricConnection) -> None:
    LOCATOR.drop(connection)


@hookimpl
def srp_enable_tracking(connection: FabricConnection, machine: Machine) -> TrackingInfo:
    return sync.enable_tracking(LOCATOR, connection, machine)


@hookimpl
def srp_disable_tracking(connection: FabricConnection, machine: Machine) -> None:
    sync.disable_tracking(LOCATOR, connection, machine)


@hookimpl
def srp_capture_cut(connection: FabricConnection, request: CutRequest) -> Cut:
    return sync.capture_cut(LOCATOR, connection, request)


@hookimpl
def srp_read_extents(
    connection: FabricConnection,
    cut: Cut,
    machine_id: str,
    disk_id: str,
    extents: Sequence[tuple[int, int]],
) -> Iterator[ExtentData]:
    return sync.read_extents(LOCATOR, connection, cut, machine_id, disk_id, extents)


@hookimpl
def srp_block_digests(
    connection: FabricConnection, cut: Cut, machine_id: str, disk_id: str, block_size: int
) -> Iterator[BlockDigest]:
    return sync.block_digests(LOCATOR, connection, cut, machine_id, disk_id, block_size)


@hookimpl
def srp_release_cut(connection: FabricConnection, cut: Cut, confirmed: bool) -> None:
    sync.release_cut(LOCATOR, connection, cut, confirmed)


@hookimpl
def srp_prepare_failover(connection: FabricConnection, machine: Machine) -> PreparedSource:
    return power.shut_down(LOCATOR, connection, machine)


@hookimpl
def srp_resume_source(connection: FabricConnection, machine: Machine) -> None:
    power.start(LOCATOR, connection, machine)


@hookimpl
def srp_write_extents(
    connection: FabricConnection, machine: Machine, disk_id: str, extents: Sequence[ExtentData]
) -> None:
    sync.write_extents(LOCATOR, connection, machine, disk_id, extents)


@hookimpl
def srp_target_networks(target: TargetConnection) -> Sequence[Network]:
    return native.target_networks(REPLICA, target)


@hookimpl
def srp_native_protect(target: TargetConnection, request: NativeProtection) -> NativeGroupState:
    return native.protect(REPLICA, target, request)


@hookimpl
def srp_native_state(target: TargetConnection, group_id: str) -> NativeGroupState:
    return native.state(REPLICA, target, group_id)


@hookimpl
def srp_native_points(target: TargetConnection, group_id: str) -> Sequence[NativePoint]:
    return native.points(REPLICA, target, group_id)


@hookimpl
def srp_native_failover(target: TargetConnection, request: NativeFailover) -> NativeFailoverResult:
    return native.failover(REPLICA, target, request)


@hookimpl
def srp_native_test_failover(
    target: TargetConnection, request: NativeFailover
) -> NativeFailoverResult:
    return native.test_failover(REPLICA, target, request)


@hookimpl
def srp_native_cleanup_test(
    target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> CleanupResult:
    return native.cleanup_test(REPLICA, target, group_id, machine_ids)


@hookimpl
def srp_native_reverse(
    target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> NativeGroupState:
    return native.reverse(REPLICA, target, group_id, machine_ids)


@hookimpl
def srp_native_resync(
    target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> NativeGroupState:
    return native.resync(REPLICA, target, group_id, machine_ids)


@hookimpl
def srp_native_stop(target: TargetConnection, group_id: str) -> None:
    native.stop(REPLICA, target, group_id)
