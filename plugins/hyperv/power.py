"""Power operations on a source VM, making sure the name still means the same VM."""

from __future__ import annotations

from plugins.hyperv import scripts
from plugins.hyperv.client import EffectCheck, HyperVClient
from plugins.hyperv.vms import current
from provider.contracts.failover import PreparedSource
from provider.model.inventory import Machine


def _state_is(machine: Machine, state: str) -> EffectCheck:
    return EffectCheck.field_is(scripts.get_vm(machine.name), "State", state)


def shut_down(client: HyperVClient, machine: Machine) -> PreparedSource:
    """Shut the guest down cleanly (planned failover), then report the VM's state."""
    if current(client, machine, "Stop-VM").text("State") != "Off":
        client.act(scripts.stop_vm(machine.name), _state_is(machine, "Off"))
    state = current(client, machine, "Stop-VM").text("State")
    return PreparedSource(machine.machine_id, state.lower())


def start(client: HyperVClient, machine: Machine) -> None:
    """Start the VM again (a cancelled planned failover); a running VM is left alone."""
    if current(client, machine, "Start-VM").text("State") != "Running":
        client.act(scripts.start_vm(machine.name), _state_is(machine, "Running"))
