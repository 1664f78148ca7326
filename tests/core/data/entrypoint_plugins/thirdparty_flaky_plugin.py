"""A plugin whose hooks fail: one with a bare RuntimeError, one with an srp error."""

from __future__ import annotations

from collections.abc import Sequence

from provider.contracts.connection import FabricConnection, FabricIdentity
from provider.contracts.declarations import FabricKind
from provider.errors import AuthenticationFailed
from provider.hookspecs import hookimpl
from provider.model.inventory import Inventory


@hookimpl
def srp_fabric_kinds() -> Sequence[FabricKind]:
    return [FabricKind(kind="flaky", title="Flaky fabric")]


@hookimpl
def srp_connect(connection: FabricConnection) -> FabricIdentity:
    raise RuntimeError("socket closed by peer")


@hookimpl
def srp_discover(connection: FabricConnection) -> Inventory:
    raise AuthenticationFailed(f"{connection.address} refused user {connection.username!r}")
