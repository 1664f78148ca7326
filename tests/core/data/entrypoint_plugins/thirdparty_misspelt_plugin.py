"""A plugin whose hookimpl misspells the hook's argument name."""

from __future__ import annotations

from collections.abc import Sequence

from provider.contracts.declarations import FabricKind
from provider.hookspecs import hookimpl


@hookimpl
def srp_fabric_kinds() -> Sequence[FabricKind]:
    return [FabricKind(kind="misspelt", title="Misspelt fabric")]


@hookimpl
def srp_connect(conection):  # type: ignore[no-untyped-def]
    return None
