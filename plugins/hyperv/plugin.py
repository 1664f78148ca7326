"""The ``hyperv`` plugin's hook implementations (entry point ``hyperv`` in group ``srp``).

Each hook takes the cached client for the connection and hands the work to
the module that owns the concept: :mod:`discovery`, :mod:`sync`,
:mod:`power`, and :mod:`native` for the ``hyperv-replica`` target (Hyper-V
Replica toward a secondary site). Clients are cached per fabric id (or
target id) and address and dropped by ``srp_disconnect``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from plugins.hyperv import create, discovery, native, power, sync
from plugins.hyperv.client import ClientPool
from plugins.hyperv.kinds import HYPERV, HYPERV_REPLICA
from provider.contracts.connection import FabricConnection, FabricIdentity, TargetConnection
from provider.contracts.declarations import FabricKind, TargetKind
from provider.contracts.failover import AlternateMachine, CleanupResult, PreparedSource
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

CLIENTS = ClientPool()
#: The hyperv-replica targets' hosts share the pool (keyed by target id) and their groups.
NATIVE = native.NativeSides(CLIENTS, native.GroupBook())


@hookimpl
def srp_fabric_kinds() -> Sequence[FabricKind]:
    return (HYPERV,)


@hookimpl
def srp_target_kinds() -> Sequence[TargetKind]:
    return (HYPERV_REPLICA,)


@hookimpl
def srp_connect(connection: FabricConnection) -> FabricIdentity:
    return discovery.identify(CLIENTS.get(connection))


@hookimpl
def srp_discover(connection: FabricConnection) -> Inventory:
    return discovery.discover(CLIENTS.get(connection), connection.option("site"))


@hookimpl
def srp_disconnect(connection: FabricConnection) -> None:
    CLIENTS.drop(connection)


@hookimpl
def srp_enable_tracking(connection: FabricConnection, machine: Machine) -> TrackingInfo:
    return sync.enable_tracking(CLIENTS.get(connection), machine)


@hookimpl
def srp_disable_tracking(connection: FabricConnection, machine: Machine) -> None:
    sync.disable_tracking(CLIENTS.get(connection), machine)


@hookimpl
def srp_capture_cut(connection: FabricConnection, request: CutRequest) -> Cut:
    return sync.capture_cut(CLIENTS.get(connection), request)


@hookimpl
def srp_read_extents(
    connection: FabricConnection,
    cut: Cut,
    machine_id: str,
    disk_id: str,
    extents: Sequence[tuple[int, int]],
) -> Iterator[ExtentData]:
    return sync.read_extents(CLIENTS.get(connection), cut, machine_id, disk_id, extents)


@hookimpl
def srp_block_digests(
    connection: FabricConnection, cut: Cut, machine_id: str, disk_id: str, block_size: int
) -> Iterator[BlockDigest]:
    return sync.block_digests(CLIENTS.get(connection), cut, machine_id, disk_id, block_size)


@hookimpl
def srp_release_cut(connection: FabricConnection, cut: Cut, confirmed: bool) -> None:
    sync.release_cut(CLIENTS.get(connection), cut, confirmed)


@hookimpl
def srp_prepare_failover(connection: FabricConnection, machine: Machine) -> PreparedSource:
    return power.shut_down(CLIENTS.get(connection), machine)


@hookimpl
def srp_resume_source(connection: FabricConnection, machine: Machine) -> None:
    power.start(CLIENTS.get(connection), machine)


@hookimpl
def srp_write_extents(
    connection: FabricConnection, machine: Machine, disk_id: str, extents: Sequence[ExtentData]
) -> None:
    sync.write_extents(CLIENTS.get(connection), machine, disk_id, extents)


@hookimpl
def srp_create_machine(connection: FabricConnection, spec: AlternateMachine) -> Machine:
    return create.create_machine(CLIENTS.get(connection), spec, connection.option("site"))


@hookimpl
def srp_target_networks(target: TargetConnection) -> Sequence[Network]:
    return native.target_networks(NATIVE, target)


@hookimpl
def srp_native_protect(target: TargetConnection, request: NativeProtection) -> NativeGroupState:
    return native.protect(NATIVE, target, request)


@hookimpl
def srp_native_state(target: TargetConnection, group_id: str) -> NativeGroupState:
    return native.state(NATIVE, target, group_id)


@hookimpl
def srp_native_points(target: TargetConnection, group_id: str) -> Sequence[NativePoint]:
    return native.points(NATIVE, target, group_id)


@hookimpl
def srp_native_failover(target: TargetConnection, request: NativeFailover) -> NativeFailoverResult:
    return native.failover(NATIVE, target, request)


@hookimpl
def srp_native_test_failover(
    target: TargetConnection, request: NativeFailover
) -> NativeFailoverResult:
    return native.test_failover(NATIVE, target, request)


@hookimpl
def srp_native_cleanup_test(
    target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> CleanupResult:
    return native.cleanup_test(NATIVE, target, group_id, machine_ids)


@hookimpl
def srp_native_reverse(
    target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> NativeGroupState:
    return native.reverse(NATIVE, target, group_id, machine_ids)


@hookimpl
def srp_native_resync(
    target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> NativeGroupState:
    return native.resync(NATIVE, target, group_id, machine_ids)


@hookimpl
def srp_native_stop(target: TargetConnection, group_id: str) -> None:
    native.stop(NATIVE, target, group_id)
