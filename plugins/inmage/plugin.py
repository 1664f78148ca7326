"""The ``inmage`` plugin's hook implementations (entry point ``inmage`` in group ``srp``).

Fabric kind ``inmage`` (a CX: connect, discover) and target kind
``inmage-site`` (the secondary site behind a CX, replicating natively: the
native replication hooks). Both talk to the CX through one client pool.
"""

from __future__ import annotations

from collections.abc import Sequence

from plugins.inmage import discovery, failback, native
from plugins.inmage.client import ClientPool
from plugins.inmage.kinds import INMAGE, INMAGE_SITE
from provider.contracts.connection import FabricConnection, FabricIdentity, TargetConnection
from provider.contracts.declarations import FabricKind, FailoverMode, TargetKind
from provider.contracts.failover import CleanupResult
from provider.contracts.native import (
    NativeFailover,
    NativeFailoverResult,
    NativeGroupState,
    NativePoint,
    NativeProtection,
)
from provider.hookspecs import hookimpl
from provider.model.inventory import Inventory

CLIENTS = ClientPool()


@hookimpl
def srp_fabric_kinds() -> Sequence[FabricKind]:
    return (INMAGE,)


@hookimpl
def srp_target_kinds() -> Sequence[TargetKind]:
    return (INMAGE_SITE,)


@hookimpl
def srp_connect(connection: FabricConnection) -> FabricIdentity:
    return discovery.identify(CLIENTS.get(connection))


@hookimpl
def srp_discover(connection: FabricConnection) -> Inventory:
    return discovery.discover(CLIENTS.get(connection))


@hookimpl
def srp_disconnect(connection: FabricConnection) -> None:
    CLIENTS.drop(connection.fabric_id)


@hookimpl
def srp_native_protect(target: TargetConnection, request: NativeProtection) -> NativeGroupState:
    return native.protect(CLIENTS.get(target), target, request)


@hookimpl
def srp_native_state(target: TargetConnection, group_id: str) -> NativeGroupState:
    return native.state(CLIENTS.get(target), group_id)


@hookimpl
def srp_native_points(target: TargetConnection, group_id: str) -> Sequence[NativePoint]:
    return native.points(CLIENTS.get(target), group_id)


@hookimpl
def srp_native_failover(target: TargetConnection, request: NativeFailover) -> NativeFailoverResult:
    if request.mode is FailoverMode.FAILBACK:
        return failback.failback(CLIENTS.get(target), target, request)
    return native.failover(CLIENTS.get(target), request)


@hookimpl
def srp_native_test_failover(
    target: TargetConnection, request: NativeFailover
) -> NativeFailoverResult:
    return native.test_failover(CLIENTS.get(target), request)


@hookimpl
def srp_native_cleanup_test(
    target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> CleanupResult:
    return native.cleanup_test(CLIENTS.get(target), machine_ids)


@hookimpl
def srp_native_reverse(
    target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> NativeGroupState:
    return failback.reverse(CLIENTS.get(target), target, group_id, machine_ids)


@hookimpl
def srp_native_resync(
    target: TargetConnection, group_id: str, machine_ids: Sequence[str]
) -> NativeGroupState:
    return native.resync(CLIENTS.get(target), group_id, machine_ids)


@hookimpl
def srp_native_stop(target: TargetConnection, group_id: str) -> None:
    native.stop(CLIENTS.get(target), group_id)
