"""Power of a source VM in a VMM cloud (planned failover), on the VM's host."""

from __future__ import annotations

from plugins.hyperv import power as host_power
from plugins.vmm.locator import Locator
from plugins.vmm.sync import on_host
from provider.contracts.connection import FabricConnection
from provider.contracts.failover import PreparedSource
from provider.model.inventory import Machine


def shut_down(locator: Locator, connection: FabricConnection, machine: Machine) -> PreparedSource:
    """Shut the guest down cleanly before the final cut of a planned failover."""
    return on_host(locator, connection, machine, lambda c: host_power.shut_down(c, machine))


def start(locator: Locator, connection: FabricConnection, machine: Machine) -> None:
    """Start the VM again (a cancelled planned failover)."""
    on_host(locator, connection, machine, lambda c: host_power.start(c, machine))
