"""Every cmdlet a fake VMM server knows: PowerShell's utility cmdlets and the VMM module.

The registry is the VMM server's own; the Hyper-V hosts keep theirs
(:data:`fakes.hyperv.powershell.catalog.REGISTRY`) unchanged, so on the VMM
server ``Get-VM`` or ``New-SrpCut`` are "not recognized", as on a real one.
"""

from __future__ import annotations

from fakes.hyperv.powershell import cmdlets_core
from fakes.hyperv.powershell.commands import Registry
from fakes.vmm import cmdlets

VMM_REGISTRY = Registry((*cmdlets_core.SPECS, *cmdlets.SPECS))
