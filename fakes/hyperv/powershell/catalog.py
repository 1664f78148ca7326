"""Every cmdlet a fake Hyper-V host knows (the registry the interpreter looks names up in)."""

from __future__ import annotations

from fakes.hyperv.powershell import (
    cmdlets_agent,
    cmdlets_build,
    cmdlets_core,
    cmdlets_replication,
    cmdlets_vm,
)
from fakes.hyperv.powershell.commands import Registry

REGISTRY = Registry(
    (
        *cmdlets_core.SPECS,
        *cmdlets_vm.SPECS,
        *cmdlets_build.SPECS,
        *cmdlets_replication.SPECS,
        *cmdlets_agent.SPECS,
    )
)
