"""Power operations on a source VM through the REST API (planned failover, failback)."""

from __future__ import annotations

from plugins.vmware.client import VSphereClient
from plugins.vmware.discovery import srp_power_state
from provider.contracts.failover import PreparedSource
from provider.errors import HostileResponse, RemoteCommandFailed
from provider.model.inventory import Machine


def power_state(client: VSphereClient, machine: Machine) -> str:
    """``POWERED_ON``, ``POWERED_OFF`` or ``SUSPENDED``; MachineNotFound when the VM is gone."""
    vm_id = machine.machine_id
    answer = client.rest_get(
        f"read the power state of {machine.name} ({vm_id})", f"/api/vcenter/vm/{vm_id}/power"
    )
    state = answer.get("state") if isinstance(answer, dict) else None
    if state not in ("POWERED_ON", "POWERED_OFF", "SUSPENDED"):
        raise HostileResponse(f"vCenter {client.vcenter}: power state of {vm_id} is {state!r}")
    return str(state)


def shut_down(client: VSphereClient, machine: Machine) -> PreparedSource:
    """Power the VM off so nothing written afterwards can be lost; an off VM is left alone."""
    if power_state(client, machine) != "POWERED_OFF":
        _act(client, machine, "stop")
    return PreparedSource(machine.machine_id, srp_power_state(power_state(client, machine)))


def start(client: VSphereClient, machine: Machine) -> None:
    """Power the VM on again; a running VM is left alone."""
    if power_state(client, machine) != "POWERED_ON":
        _act(client, machine, "start")


def _act(client: VSphereClient, machine: Machine, action: str) -> None:
    vm_id = machine.machine_id
    operation = f"power {action} {machine.name} ({vm_id})"
    try:
        client.rest_post(operation, f"/api/vcenter/vm/{vm_id}/power", {"action": action})
    except RemoteCommandFailed as exc:
        # A retry after a lost answer finds the work done: that is success.
        if "ALREADY_IN_DESIRED_STATE" not in exc.message:
            raise
