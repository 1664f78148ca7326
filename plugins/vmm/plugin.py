"""The ``vmm`` plugin's hook implementations (entry point ``vmm`` in group ``srp``).

The fabric is a VMM server: connect and discover talk to it (clouds are the
protection containers); replica sync and source power run on the Hyper-V
host of each VM, reached with the VMM registration's account
(:mod:`plugins.vmm.hosts`). :func:`vmm_fabric` gives what the inventory
cannot hold: each cloud's VM networks and capacity, for network mapping and
failover validation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from plugins.vmm import discovery, power, sync
from plugins.vmm.kinds import VMM
from plugins.vmm.locator import Locator, server_name, server_port
from plugins.vmm.model import VmmFabric
from provider.contracts.connection import FabricConnection, FabricIdentity
from provider.contracts.declarations import FabricKind
from provider.contracts.failover import PreparedSource
from provider.contracts.replica import BlockDigest, Cut, CutRequest, ExtentData, TrackingInfo
from provider.hookspecs import hookimpl
from provider.model.inventory import Inventory, Machine

LOCATOR = Locator()


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
