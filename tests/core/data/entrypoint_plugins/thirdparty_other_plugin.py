"""A second fabric plugin (kind ``other``) implementing the same hooks as the demo one."""

from __future__ import annotations

from collections.abc import Sequence

from provider.contracts.connection import FabricConnection, FabricIdentity
from provider.contracts.declarations import FabricKind
from provider.hookspecs import hookimpl
from provider.model.inventory import Inventory

CALLS: list[str] = []


@hookimpl
def srp_fabric_kinds() -> Sequence[FabricKind]:
    return [FabricKind(kind="other", title="Other fabric")]


@hookimpl
def srp_connect(connection: FabricConnection) -> FabricIdentity:
    CALLS.append(f"connect {connection.address}")
    return FabricIdentity(name=connection.address, kind="other")


@hookimpl
def srp_discover(connection: FabricConnection) -> Inventory:
    CALLS.append(f"discover {connection.address}")
    return Inventory()
