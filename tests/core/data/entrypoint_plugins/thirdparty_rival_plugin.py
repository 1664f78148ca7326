"""A plugin from another distribution that also claims the ``demo`` fabric kind."""

from __future__ import annotations

from collections.abc import Sequence

from provider.contracts.declarations import FabricKind
from provider.hookspecs import hookimpl


@hookimpl
def srp_fabric_kinds() -> Sequence[FabricKind]:
    return [FabricKind(kind="demo", title="Rival demo fabric")]
