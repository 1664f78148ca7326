"""A plugin implementing a hook srp does not have (a typo of ``srp_discover``)."""

from __future__ import annotations

from collections.abc import Sequence

from provider.contracts.declarations import FabricKind
from provider.hookspecs import hookimpl


@hookimpl
def srp_fabric_kinds() -> Sequence[FabricKind]:
    return [FabricKind(kind="unknown", title="Unknown-hook fabric")]


@hookimpl
def srp_discovr(connection: object) -> None:
    return None
