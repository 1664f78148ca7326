"""A third-party fabric plugin that was never pip-installed: serves the ``demo`` kind."""

from __future__ import annotations

from collections.abc import Sequence

from provider.contracts.connection import FabricConnection, FabricIdentity
from provider.contracts.declarations import FabricKind
from provider.hookspecs import hookimpl
from provider.model.inventory import Disk, Inventory, Machine, ProtectionContainer

#: Every call this plugin received, so tests can prove where dispatch went.
CALLS: list[str] = []


@hookimpl
def srp_fabric_kinds() -> Sequence[FabricKind]:
    return [FabricKind(kind="demo", title="Demo fabric", default_port=5985)]


@hookimpl
def srp_connect(connection: FabricConnection) -> FabricIdentity:
    CALLS.append(f"connect {connection.address}")
    return FabricIdentity(name=connection.address, kind="demo", version="1.2.3", server_id="d-1")


@hookimpl
def srp_discover(connection: FabricConnection) -> Inventory:
    CALLS.append(f"discover {connection.address}")
    machine = Machine("vm-1", "web01", "site-1", disks=(Disk("disk-0", "os", 4096),))
    return Inventory(containers=(ProtectionContainer("site-1", "Site one"),), machines=(machine,))
